-- Promoters: NPS answers of 9-10.
with surveys as (
    select customer_id, cast(date_trunc('month', responded_at) as date) as month, survey, score
    from survey_responses
),
per_slice as (
    select s.dimension, s.segment, x.month, count(*) filter (where x.score >= 9) as n
    from (select * from surveys where survey = 'nps') as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, coalesce(per_slice.n, 0) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
