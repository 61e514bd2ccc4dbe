-- Paid invoice revenue of the month, per slice (0 when nothing was paid).
with per_slice as (
    select s.dimension, s.segment, i.month, sum(i.amount) as revenue
    from paid_invoices as i
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, cast(coalesce(per_slice.revenue, 0) as double) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
