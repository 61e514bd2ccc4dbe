-- Monthly exchange rates into the reporting currency, kept as exact
-- decimals (a rate read as a double turned 846187.3056 into
-- 846187.3056000001 once summed).
create or replace table fx_month as
with final as (
    select
        currency,
        cast(date_trunc('month', month) as date) as month,
        max(rate) as rate
    from fx_rates
    group by all
)
select * from final;

-- An amount in the reporting currency, per month of its billing period:
-- amount × rate is exact; dividing by 3 or 12 rounds once, half up, to 12
-- decimals in integer arithmetic (DuckDB divides decimals as doubles).
-- `rate` is 1 for the reporting currency; amounts are never negative.
create or replace macro money_per_month(amount, rate, months) as (
    cast(
        (cast(cast(cast(amount as decimal(38, 6)) * rate as decimal(38, 12)) * 1000000000000 as hugeint) * 2 + months)
        // (2 * months)
        as decimal(38, 0)
    ) * cast(0.000000000001 as decimal(38, 12))
);
