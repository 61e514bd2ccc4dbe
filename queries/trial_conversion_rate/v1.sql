-- Trials ending in the period, converted by its last day. A trial may have
-- no customer, so there is no segment breakdown.
with ended as (
    select
        p.month,
        count(*) as trials,
        count(*) filter (where t.converted_at is not null and t.converted_at <= p.month_end) as converted
    from periods as p
    join trials as t on t.ended_at between p.month and p.month_end
    group by all
),
final as (
    select p.month, 'all' as dimension, 'all' as segment, 100.0 * ended.converted / nullif(ended.trials, 0) as value
    from periods as p
    left join ended using (month)
)
select * from final
