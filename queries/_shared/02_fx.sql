-- Monthly exchange rates into the reporting currency, and a one-row helper
-- giving the rate of any (currency, month): 1 for the reporting currency.
create or replace table fx_month as
with final as (
    select
        currency,
        cast(date_trunc('month', month) as date) as month,
        max(cast(rate as double)) as rate
    from fx_rates
    group by all
)
select * from final;
