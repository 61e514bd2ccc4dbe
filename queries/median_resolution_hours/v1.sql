-- Median hours to resolve, tickets created in the month (unresolved ones left out).
with ticket_month as (
    select customer_id, cast(date_trunc('month', created_at) as date) as month, resolved_at, created_at, contacts
    from tickets
),
per_slice as (
    select s.dimension, s.segment, x.month, median(epoch(x.resolved_at - x.created_at) / 3600.0) as hours
    from (select * from ticket_month where resolved_at is not null) as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, per_slice.hours as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
