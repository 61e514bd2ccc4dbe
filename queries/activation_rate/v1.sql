-- Share of the period's new customers who reached a value event by its end
-- (new customers per slice come from the MRR bridge).
with activated as (
    select c.cell, n.month, count(*) as activated
    from new_customer_period as n
    join customer_cells as c using (customer_id)
    join customer_first_value as f using (customer_id)
    where f.first_value <= n.month_end
    group by all
),
final as (
    select m.month, m.dimension, m.segment, 100.0 * coalesce(a.activated, 0) / nullif(m.new_customers, 0) as value
    from mrr_period as m
    left join slice_rollup(activated) as a using (month, dimension, segment)
)
select * from final
