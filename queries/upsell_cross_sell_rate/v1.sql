-- Share of paid revenue from upsell and cross-sell invoices.
with final as (
    select
        m.month,
        m.dimension,
        m.segment,
        100.0 * cast(coalesce(p.expansion_revenue, 0) as double) / nullif(cast(p.revenue as double), 0) as value
    from mrr_period as m
    left join paid_slice_period as p using (month, dimension, segment)
)
select * from final
