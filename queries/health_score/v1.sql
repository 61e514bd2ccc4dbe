-- Mean health over active customers with a score.
with per_slice as (
    select s.dimension, s.segment, x.month, avg(x.health) as health
    from customer_health as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, per_slice.health as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
