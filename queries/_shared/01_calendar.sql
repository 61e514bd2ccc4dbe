-- The calendar: `months` are the months every metric is computed for (the
-- trend window plus the year the trends look back on); `periods` are the
-- report periods over them (METRICS.md, "Quarters and years"): months for a
-- monthly report, else quarters or years, each with its first and last
-- month (m1, mk) and the month before it (m0); `history_months`
-- reach back to the first subscription, because "new" and "reactivated" need
-- the whole history. Bounds come from the `params` row, never from SQL text.
-- Every month from `first_month` to `last_month`, with its last day.
create or replace macro month_range(first_month, last_month) as table
select
    cast(m as date) as month,
    cast(m + interval 1 month - interval 1 day as date) as month_end
from generate_series(first_month, last_month, interval 1 month) as t(m);

create or replace table months as
with final as (
    select * from month_range((select first_month from params), (select report_month from params))
)
select * from final;

create or replace table periods as
with bounds as (
    select first_month, report_month, period_months from params
),
final as (
    select
        cast(p as date) as month,
        cast(p + to_months(bounds.period_months) - interval 1 day as date) as month_end,
        cast(p as date) as first_month,
        cast(p + to_months(bounds.period_months - 1) as date) as last_month,
        cast(p - interval 1 month as date) as m0,
        bounds.period_months as n_months
    from bounds, generate_series(bounds.first_month, bounds.report_month, to_months(bounds.period_months)) as t(p)
)
select * from final;

create or replace table history_months as
with bounds as (
    select
        least(
            (select first_month from params),
            coalesce((select cast(date_trunc('month', min(start_date)) as date) from subscriptions),
                     (select first_month from params))
        ) as history_start,
        (select report_month from params) as report_month
),
final as (
    select * from month_range((select history_start from bounds), (select report_month from bounds))
)
select * from final;
