-- CES: mean score of the month's answers.
with surveys as (
    select customer_id, cast(date_trunc('month', responded_at) as date) as month, survey, score
    from survey_responses
),
per_slice as (
    select s.dimension, s.segment, x.month, avg(x.score) as mean_score
    from (select * from surveys where survey = 'ces') as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, per_slice.mean_score as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
