-- Share of paid revenue from upsell and cross-sell invoices.
with per_slice as (
    select
        s.dimension,
        s.segment,
        i.month,
        sum(i.amount) as revenue,
        sum(i.amount) filter (where i.kind in ('upsell', 'cross_sell')) as expansion_revenue
    from paid_invoices as i
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select
        m.month,
        m.dimension,
        m.segment,
        100.0 * cast(coalesce(per_slice.expansion_revenue, 0) as double) / nullif(cast(per_slice.revenue as double), 0) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
