-- Share of the month's new customers who reached a value event by its end.
with new_customers as (
    select s.dimension, s.segment, mv.month, count(*) as n,
        count(*) filter (where f.first_value is not null and f.first_value <= m.month_end) as activated
    from mrr_movements as mv
    join months as m using (month)
    join customer_slices as s using (customer_id)
    left join customer_first_value as f using (customer_id)
    where mv.movement = 'new'
    group by all
),
final as (
    select m.month, m.dimension, m.segment, 100.0 * new_customers.activated / nullif(new_customers.n, 0) as value
    from mrr_month as m
    left join new_customers using (month, dimension, segment)
)
select * from final
