-- The 12-month cohort behind nrr_12m and grr_12m: A = customers active in
-- m-12, with their MRR then and now (0 if churned since). `*_cc` values
-- m-12's amounts at m's rates (constant currency, the default versions;
-- see `mrr_at_year_later` in 03_customer_month.sql).
create or replace table retention_12m as
with cohort as (
    select
        customer_id,
        cast(month + interval 12 month as date) as month,
        mrr as mrr_then,
        mrr_at_year_later as mrr_then_cc
    from customer_month
),
per_customer as (
    select
        cohort.customer_id,
        cohort.month,
        cohort.mrr_then,
        cohort.mrr_then_cc,
        coalesce(now.mrr, 0) as mrr_now
    from cohort
    join months using (month)
    left join customer_month as now on now.customer_id = cohort.customer_id and now.month = cohort.month
),
per_cell as (
    select
        c.cell,
        p.month,
        sum(p.mrr_then) as mrr_then,
        sum(p.mrr_now) as mrr_now,
        sum(least(p.mrr_now, p.mrr_then)) as mrr_kept,
        sum(p.mrr_then_cc) as mrr_then_cc,
        sum(least(p.mrr_now, p.mrr_then_cc)) as mrr_kept_cc
    from per_customer as p
    join customer_cells as c using (customer_id)
    group by all
),
grid as (
    select m.month, sl.dimension, sl.segment
    from months as m
    cross join slices as sl
),
final as (
    select * from slice_grid(grid, per_cell)
)
select * from final;
