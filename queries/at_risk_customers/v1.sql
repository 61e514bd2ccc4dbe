-- Active customers in band at_risk.
with per_slice as (
    select s.dimension, s.segment, x.month, count(*) filter (where x.band = 'at_risk') as n
    from customer_health as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, coalesce(per_slice.n, 0) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
