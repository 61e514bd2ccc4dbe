-- Share of the period's new customers whose acquisition_channel is referral
-- (new customers per slice come from the MRR bridge).
with referred as (
    select c.cell, n.month, count(*) as referred
    from new_customer_period as n
    join customers as cu using (customer_id)
    join customer_cells as c using (customer_id)
    where cu.acquisition_channel = 'referral'
    group by all
),
final as (
    select m.month, m.dimension, m.segment, 100.0 * coalesce(r.referred, 0) / nullif(m.new_customers, 0) as value
    from mrr_period as m
    left join slice_rollup(referred) as r using (month, dimension, segment)
)
select * from final
