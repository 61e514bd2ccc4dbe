-- Cohorts (METRICS.md, "Cohorts"): a customer's cohort is the month it was
-- first active (its `new` month). For every cohort month k of the trend
-- window, every age a from 0 up to the period and every slice: the cohort's
-- customers, those active in k+a and their MRR then (at k+a's rates), and
-- the logo and revenue retention against age 0 (net: expansion counts).
create or replace table cohorts as
with bounds as (
    select window_start, report_month from params
),
firsts as (
    select customer_id, min(month) as cohort
    from customer_month
    group by all
),
per_cell as (
    select c.cell, f.cohort, cm.month, count(*) as active, sum(cm.mrr) as mrr
    from firsts as f
    join bounds on f.cohort >= bounds.window_start
    join customer_month as cm on cm.customer_id = f.customer_id and cm.month between f.cohort and bounds.report_month
    join customer_cells as c on c.customer_id = f.customer_id
    group by all
),
per_slice as (
    select s.dimension, s.segment, p.cohort, p.month, sum(p.active) as active, sum(p.mrr) as mrr
    from per_cell as p
    join cell_slices as s using (cell)
    group by all
),
grid as (
    select sl.dimension, sl.segment, k.month as cohort, m.month
    from slices as sl
    cross join bounds
    join months as k on k.month >= bounds.window_start
    join months as m on m.month >= k.month
),
filled as (
    select g.dimension, g.segment, g.cohort, g.month, coalesce(p.active, 0) as active, coalesce(p.mrr, 0) as mrr
    from grid as g
    left join per_slice as p using (dimension, segment, cohort, month)
),
final as (
    select
        f.dimension,
        f.segment,
        f.cohort,
        datediff('month', f.cohort, f.month) as age,
        first_value(f.active) over w as customers,
        f.active,
        100.0 * f.active / nullif(first_value(f.active) over w, 0) as logo_retention,
        f.mrr,
        100.0 * cast(f.mrr as double) / nullif(cast(first_value(f.mrr) over w as double), 0) as revenue_retention
    from filled as f
    window w as (partition by f.dimension, f.segment, f.cohort order by f.month)
)
select * from final;
