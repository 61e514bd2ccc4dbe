-- 95 % margin of error of the NPS (in NPS points); null with no answers.
with surveys as (
    select customer_id, cast(date_trunc('month', responded_at) as date) as month, survey, score
    from survey_responses
),
per_slice as (
    select s.dimension, s.segment, x.month, count(*) as n, avg(case when x.score >= 9 then 1.0 else 0.0 end) as p, avg(case when x.score <= 6 then 1.0 else 0.0 end) as d
    from (select * from surveys where survey = 'nps') as x
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select m.month, m.dimension, m.segment, 196.0 * sqrt(((per_slice.p + per_slice.d) - (per_slice.p - per_slice.d) ^ 2) / nullif(per_slice.n, 0)) as value
    from mrr_month as m
    left join per_slice using (month, dimension, segment)
)
select * from final
