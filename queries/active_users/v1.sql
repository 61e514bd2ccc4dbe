-- Users are unique within their customer, so the sum of distinct users per customer.
with per_slice as (
    select s.dimension, s.segment, x.month, sum(x.users) as users
    from usage_customer_month as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, coalesce(per_slice.users, 0) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
