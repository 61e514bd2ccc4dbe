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

-- A price per month of its billing period, in its own currency: exact for
-- a monthly price; a quarterly or yearly one is divided in integer
-- arithmetic and rounded once, half up, to 12 decimals (DuckDB divides
-- decimals as doubles). Prices are never negative and below 10^12; the
-- amount is widened before it is scaled (a yearly price of a million, in
-- DECIMAL(18,6), overflowed when multiplied by 10^6 in its own type).
--
-- Converted amounts are then `amount × rate`, exact (scale 16 for amounts,
-- 22 for monthly prices) and summed at that scale: rounding every product
-- down to 12 decimals cost a second on the benchmark, and a double would
-- show its error (846187.3056 as 846187.3056000001).
create or replace macro price_per_month(amount, months) as (
    case
        when months = 1 then cast(amount as decimal(38, 12))
        else cast(
            (cast(cast(amount as decimal(38, 6)) * 1000000 as hugeint) * 2000000 + months) // (2 * months)
            as decimal(38, 0)
        ) * cast(0.000000000001 as decimal(38, 12))
    end
);
