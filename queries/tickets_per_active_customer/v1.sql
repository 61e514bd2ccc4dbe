-- Ticket volume over active customers.
with volume as (
    select month, dimension, segment, value as tickets from metric_values where metric = 'ticket_volume'
),
final as (
    select m.month, m.dimension, m.segment, volume.tickets / nullif(m.active_customers, 0) as value
    from mrr_month as m
    join volume using (month, dimension, segment)
)
select * from final
