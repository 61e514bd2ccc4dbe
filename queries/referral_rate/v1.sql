-- Share of the month's new customers whose acquisition_channel is referral.
with new_customers as (
    select s.dimension, s.segment, mv.month, count(*) as n,
        count(*) filter (where c.acquisition_channel = 'referral') as referred
    from mrr_movements as mv
    join customers as c using (customer_id)
    join customer_slices as s using (customer_id)
    where mv.movement = 'new'
    group by all
),
final as (
    select m.month, m.dimension, m.segment, 100.0 * new_customers.referred / nullif(new_customers.n, 0) as value
    from mrr_month as m
    left join new_customers using (month, dimension, segment)
)
select * from final
