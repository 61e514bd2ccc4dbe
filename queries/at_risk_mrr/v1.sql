-- mrr(c, m) summed over the at-risk customers.
with per_slice as (
    select s.dimension, s.segment, x.month, sum(x.mrr) filter (where x.band = 'at_risk') as mrr
    from customer_health as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, cast(coalesce(per_slice.mrr, 0) as double) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
