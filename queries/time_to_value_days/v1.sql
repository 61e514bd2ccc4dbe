-- Median of first_value - first_paid (days) over customers whose first value
-- event falls in the period and who were active in its month.
with reached as (
    select s.dimension, s.segment, p.month,
        median(cast(f.first_value - f.first_paid as double)) as days
    from customer_first_value as f
    join periods as p on f.first_value between p.month and p.month_end
    join customer_month as cm on cm.customer_id = f.customer_id and cm.month = cast(date_trunc('month', f.first_value) as date)
    join customer_slices as s on s.customer_id = f.customer_id
    group by all
),
final as (
    select m.month, m.dimension, m.segment, reached.days as value
    from mrr_period as m
    left join reached using (month, dimension, segment)
)
select * from final
