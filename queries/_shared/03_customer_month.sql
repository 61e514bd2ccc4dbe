-- mrr(c, m) for every customer and month in which the customer is active:
-- the sum over its subscriptions active at the end of m of
-- amount / months in the billing period, converted with the rate of m.
-- A subscription is active at the end of m when start_date <= m_end and
-- end_date (exclusive) > m_end, i.e. for the months from the month of
-- start_date up to the month before the month of end_date. Free rows never
-- make a customer active.
create or replace table customer_month as
with subs as (
    select
        s.customer_id,
        s.amount,
        coalesce(s.currency, p.currency) as currency,
        case s.billing_period when 'month' then 1 when 'quarter' then 3 when 'year' then 12 end as period_months,
        -- The price per month in the subscription's currency, once per
        -- subscription; converted per month below.
        price_per_month(s.amount, case s.billing_period when 'month' then 1 when 'quarter' then 3 when 'year' then 12 end)
            as local_mrr,
        cast(date_trunc('month', s.start_date) as date) as first_month,
        case
            when s.end_date is null then p.report_month
            else least(p.report_month, cast(date_trunc('month', s.end_date) - interval 1 month as date))
        end as last_month
    from subscriptions as s, params as p
    where s.amount > 0
),
active as (
    select subs.customer_id, h.month, subs.amount, subs.currency, subs.period_months, subs.local_mrr
    from subs
    join history_months as h on h.month between subs.first_month and subs.last_month
),
converted as (
    -- Each subscription's MRR is exact (quarterly and yearly prices rounded
    -- once to 12 decimals before conversion), kept at scale 22 so that
    -- price × rate needs no rounding; every sum after this is exact, so
    -- reruns give the same digits.
    select
        a.customer_id,
        a.month,
        case
            when a.currency = p.currency then cast(a.local_mrr as decimal(38, 22))
            else a.local_mrr * fx.rate
        end as mrr
    from active as a
    cross join params as p
    left join fx_month as fx on fx.currency = a.currency and fx.month = a.month
),
final as (
    select customer_id, month, sum(mrr) as mrr
    from converted
    group by all
    having sum(mrr) > 0
)
select * from final;
