-- Paid invoice revenue of the period, per slice (0 when nothing was paid).
with final as (
    select m.month, m.dimension, m.segment, cast(coalesce(p.revenue, 0) as double) as value
    from mrr_period as m
    left join paid_slice_period as p using (month, dimension, segment)
)
select * from final
