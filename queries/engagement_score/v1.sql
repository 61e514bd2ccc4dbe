-- Mean engagement over active customers (those without events count as 0).
with per_slice as (
    select s.dimension, s.segment, x.month, avg(x.engagement) as engagement
    from usage_customer_month as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, per_slice.engagement as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
