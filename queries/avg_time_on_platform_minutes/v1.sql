-- Minutes of recorded use per active user; null with no active user.
with per_slice as (
    select s.dimension, s.segment, x.month, sum(x.duration_seconds) as seconds, sum(x.users) as users
    from usage_customer_month as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, cast(per_slice.seconds as double) / 60 / nullif(per_slice.users, 0) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
