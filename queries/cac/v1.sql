-- CAC: spend of the month over new customers; also per acquisition channel.
-- Spend has no segment, so there is no segment or region breakdown.
with total_spend as (
    select month, sum(amount) as spend from spend_month group by all
),
total as (
    select
        b.month,
        'all' as dimension,
        'all' as segment,
        cast(coalesce(total_spend.spend, 0) as double) / nullif(b.new_customers, 0) as value
    from mrr_month as b
    left join total_spend using (month)
    where b.dimension = 'all'
),
new_by_channel as (
    select mv.month, c.acquisition_channel as channel, count(*) as new_customers
    from mrr_movements as mv
    join customers as c using (customer_id)
    where mv.movement = 'new'
    group by all
),
channels as (
    select distinct channel from spend_month
),
by_channel as (
    select
        m.month,
        'channel' as dimension,
        channels.channel as segment,
        cast(coalesce(sp.amount, 0) as double) / nullif(coalesce(n.new_customers, 0), 0) as value
    from months as m
    cross join channels
    left join spend_month as sp on sp.month = m.month and sp.channel = channels.channel
    left join new_by_channel as n on n.month = m.month and n.channel = channels.channel
),
final as (
    select * from total
    union all
    select * from by_channel
)
select * from final
