-- Each currency's rate of a month, of the month after and of a year later
-- (a few rows: one join per subscription-month instead of three).
create or replace table fx_ahead as
select
    f.currency,
    f.month,
    f.rate,
    coalesce(n.rate, f.rate) as rate_next,
    coalesce(y.rate, f.rate) as rate_year_later
from fx_month as f
left join fx_month as n on n.currency = f.currency and n.month = cast(f.month + interval 1 month as date)
left join fx_month as y on y.currency = f.currency and y.month = cast(f.month + interval 12 month as date);

-- Every priced subscription with its price per month in its own currency
-- and the months it is active at the end of (capped at the report month).
create or replace view priced_subscriptions as
select
    s.customer_id,
    s.amount,
    coalesce(s.currency, p.currency) as currency,
    case s.billing_period when 'month' then 1 when 'quarter' then 3 when 'year' then 12 end as period_months,
    -- The price per month in the subscription's currency, once per
    -- subscription; converted per month where it is read.
    price_per_month(s.amount, case s.billing_period when 'month' then 1 when 'quarter' then 3 when 'year' then 12 end)
        as local_mrr,
    cast(date_trunc('month', s.start_date) as date) as first_month,
    case
        when s.end_date is null then p.report_month
        else least(p.report_month, cast(date_trunc('month', s.end_date) - interval 1 month as date))
    end as last_month
from subscriptions as s, params as p
where s.amount > 0;

-- mrr(c, m) for every customer and month in which the customer is active:
-- the sum over its subscriptions active at the end of m of
-- amount / months in the billing period, converted with the rate of m.
-- The same amounts are also valued at the rates of m+1 (`mrr_at_next`, the
-- a' of the contract's exchange-rate impact: a price that did not change is
-- not expansion or contraction because a rate moved) and of m+12
-- (`mrr_at_year_later`, for nrr_12m and grr_12m at constant currency).
-- Where that month has no rate for a currency, m's rate is used: no rate,
-- no FX movement.
-- A subscription is active at the end of m when start_date <= m_end and
-- end_date (exclusive) > m_end, i.e. for the months from the month of
-- start_date up to the month before the month of end_date. Free rows never
-- make a customer active.
create or replace table customer_month as
with active as (
    select subs.customer_id, h.month, subs.currency, subs.local_mrr
    from priced_subscriptions as subs
    join history_months as h on h.month between subs.first_month and subs.last_month
),
converted as (
    -- The other two valuations differ from mrr only by the rate moves of
    -- other currencies, summed over those rows alone (exact: decimal
    -- differences of rates).
    select
        a.customer_id,
        a.month,
        -- Exact, at scale 22, so that price × rate needs no rounding and
        -- every sum after this is exact (reruns give the same digits).
        sum(case
            when a.currency = p.currency then cast(a.local_mrr as decimal(38, 22))
            else a.local_mrr * fx.rate
        end) as mrr,
        sum(a.local_mrr * (fx.rate_next - fx.rate)) filter (where a.currency <> p.currency) as next_move,
        sum(a.local_mrr * (fx.rate_year_later - fx.rate)) filter (where a.currency <> p.currency) as year_move
    from active as a
    cross join params as p
    left join fx_ahead as fx on fx.currency = a.currency and fx.month = a.month
    group by all
),
final as (
    select
        customer_id,
        month,
        mrr,
        mrr + coalesce(next_move, 0) as mrr_at_next,
        mrr + coalesce(year_move, 0) as mrr_at_year_later
    from converted
    where mrr > 0
)
select * from final;
