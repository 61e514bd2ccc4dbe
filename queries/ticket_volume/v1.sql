-- Tickets created in the month.
with ticket_month as (
    select customer_id, cast(date_trunc('month', created_at) as date) as month, resolved_at, created_at, contacts
    from tickets
),
per_slice as (
    select s.dimension, s.segment, x.month, count(*) as n
    from ticket_month as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, coalesce(per_slice.n, 0) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
