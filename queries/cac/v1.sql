-- CAC: spend of the period over its new customers; also per acquisition
-- channel. Spend has no segment, so there is no segment or region breakdown.
with total_spend as (
    select month, sum(amount) as spend from spend_period group by all
),
total as (
    select
        b.month,
        'all' as dimension,
        'all' as segment,
        cast(coalesce(total_spend.spend, 0) as double) / nullif(b.new_customers, 0) as value
    from mrr_period as b
    left join total_spend using (month)
    where b.dimension = 'all'
),
new_by_channel as (
    select n.month, c.acquisition_channel as channel, count(*) as new_customers
    from new_customer_period as n
    join customers as c using (customer_id)
    group by all
),
channels as (
    select distinct channel from spend_month
),
by_channel as (
    select
        p.month,
        'channel' as dimension,
        channels.channel as segment,
        cast(coalesce(sp.amount, 0) as double) / nullif(coalesce(n.new_customers, 0), 0) as value
    from periods as p
    cross join channels
    left join spend_period as sp on sp.month = p.month and sp.channel = channels.channel
    left join new_by_channel as n on n.month = p.month and n.channel = channels.channel
),
final as (
    select * from total
    union all
    select * from by_channel
)
select * from final
