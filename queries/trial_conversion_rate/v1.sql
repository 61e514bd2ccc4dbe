-- Trials ending in the month, converted by its last day. A trial may have
-- no customer, so there is no segment breakdown.
with ended as (
    select
        m.month,
        count(*) as trials,
        count(*) filter (where t.converted_at is not null and t.converted_at <= m.month_end) as converted
    from months as m
    join trials as t on t.ended_at between m.month and m.month_end
    group by all
),
final as (
    select m.month, 'all' as dimension, 'all' as segment, 100.0 * ended.converted / nullif(ended.trials, 0) as value
    from months as m
    left join ended using (month)
)
select * from final
