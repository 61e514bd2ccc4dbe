-- CLV (the configured version) over CAC, totals only.
with clv as (
    select month, value as clv from metric_values where metric = 'clv' and dimension = 'all'
),
cac as (
    select month, value as cac from metric_values where metric = 'cac' and dimension = 'all'
),
final as (
    select month, 'all' as dimension, 'all' as segment, clv.clv / nullif(cac.cac, 0) as value
    from clv
    join cac using (month)
)
select * from final
