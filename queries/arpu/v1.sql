-- Seed ARPU: paid revenue of the month per active (paying) account.
with revenue as (
    select month, dimension, segment, value as revenue from metric_values where metric = 'revenue'
),
final as (
    select m.month, m.dimension, m.segment, revenue.revenue / nullif(m.active_customers, 0) as value
    from mrr_month as m
    join revenue using (month, dimension, segment)
)
select * from final
