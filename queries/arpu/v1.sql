-- Seed ARPU: paid revenue per active (paying) account and month: for a
-- month revenue / E(m), for a quarter or year revenue / Σ E(m).
with revenue as (
    select month, dimension, segment, value as revenue from metric_values where metric = 'revenue'
),
final as (
    select m.month, m.dimension, m.segment, revenue.revenue / nullif(m.account_months, 0) as value
    from mrr_period as m
    join revenue using (month, dimension, segment)
)
select * from final
