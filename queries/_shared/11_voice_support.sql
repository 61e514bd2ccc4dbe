-- Survey answers and tickets per slice and month (UTC dates), the sources
-- of the voice and support metrics. Answers count from every customer.
create or replace table survey_slice_month as
with answers as (
    select customer_id, cast(date_trunc('month', responded_at) as date) as month, survey, score
    from survey_responses
    where responded_at >= (select cast(first_month as timestamp) from params)
),
per_cell as (
    select
        c.cell,
        a.month,
        count(*) filter (where a.survey = 'nps') as nps_responses,
        count(*) filter (where a.survey = 'nps' and a.score >= 9) as promoters,
        count(*) filter (where a.survey = 'nps' and a.score between 7 and 8) as passives,
        count(*) filter (where a.survey = 'nps' and a.score <= 6) as detractors,
        count(*) filter (where a.survey = 'csat') as csat_responses,
        count(*) filter (where a.survey = 'csat' and a.score >= p.csat_satisfied_min) as csat_satisfied,
        count(*) filter (where a.survey = 'ces') as ces_responses,
        sum(a.score) filter (where a.survey = 'ces') as ces_score_sum
    from answers as a
    join customer_cells as c using (customer_id)
    cross join params as p
    group by all
),
grid as (
    select month, dimension, segment from mrr_month
),
final as (
    select * from slice_grid(grid, per_cell)
)
select * from final;

create or replace table ticket_slice_month as
with created as (
    select customer_id, cast(date_trunc('month', created_at) as date) as month, created_at, resolved_at, contacts
    from tickets
    where created_at >= (select cast(first_month as timestamp) from params)
),
agg as (
    select
        s.dimension,
        s.segment,
        t.month,
        count(*) as tickets,
        count(*) filter (where t.resolved_at is not null and t.contacts = 1) as first_contact,
        median(epoch(t.resolved_at - t.created_at) / 3600.0) filter (where t.resolved_at is not null) as median_hours
    from created as t
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select
        m.month,
        m.dimension,
        m.segment,
        m.active_customers,
        coalesce(agg.tickets, 0) as tickets,
        coalesce(agg.first_contact, 0) as first_contact,
        agg.median_hours
    from mrr_month as m
    left join agg using (month, dimension, segment)
)
select * from final;
