-- The MRR bridge per slice and month over the whole history: MRR(m),
-- MRR(m-1), E(m), S(m) and the sums and counts of each movement, the
-- exchange-rate impact `mrr_fx`, and expansion and contraction as they were
-- before it (`*_v1`: m against m-1 each at its own rates). Most
-- revenue and retention metrics are one line over `mrr_month`, its
-- restriction to the computed months.
create or replace table mrr_slice_month as
with moves as (
    select c.cell, m.month, m.mrr_prev, m.mrr_prev_cc, m.mrr_cur, m.movement
    from mrr_movements as m
    join customer_cells as c using (customer_id)
),
per_cell as (
    select
        cell,
        month,
        sum(mrr_cur) as mrr,
        sum(mrr_prev) as mrr_prev,
        count(*) filter (where mrr_cur > 0) as active_customers,
        count(*) filter (where mrr_prev > 0) as start_customers,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers,
        count(*) filter (where movement = 'churn') as churned_customers,
        sum(mrr_cur) filter (where movement = 'new') as mrr_new,
        sum(mrr_cur) filter (where movement = 'reactivation') as mrr_reactivation,
        sum(mrr_cur - mrr_prev_cc) filter (where movement = 'expansion') as mrr_expansion,
        sum(mrr_prev_cc - mrr_cur) filter (where movement = 'contraction') as mrr_contraction,
        sum(mrr_prev) filter (where movement = 'churn') as mrr_churn,
        sum(mrr_prev_cc - mrr_prev) filter (where mrr_prev > 0 and mrr_cur > 0) as mrr_fx,
        sum(mrr_cur - mrr_prev) filter (where mrr_prev > 0 and mrr_cur > mrr_prev) as mrr_expansion_v1,
        sum(mrr_prev - mrr_cur) filter (where mrr_prev > 0 and mrr_cur > 0 and mrr_cur < mrr_prev) as mrr_contraction_v1
    from moves
    group by all
),
grid as (
    select h.month, sl.dimension, sl.segment
    from history_months as h
    cross join slices as sl
),
final as (
    select * from slice_grid(grid, per_cell)
)
select * from final;

create or replace view mrr_month as
select b.* from mrr_slice_month as b join months using (month);
