-- What a customer-success manager needs of each account active at the end
-- of the report period (the book of business): its MRR at the end of the
-- period before, the last day with any usage, tickets still open at the
-- period's end, detractor answers (NPS 0-6) in the period, and the day its
-- current subscription term ends: end_date (exclusive) where one is set,
-- else the next renewal after the period (start_date plus whole billing
-- periods), the earliest over its active priced subscriptions; and, for a
-- customer scheduled to cancel (every priced subscription that runs past
-- the period has an end date: a cancellation at period end, or on a date),
-- the day its last one ends.
create or replace table customer_book as
with bounds as (
    select
        (select max(month) from periods) as period_start,
        (select max(month_end) from periods) as period_end,
        (select max(last_month) from periods) as last_month,
        cast((select max(month) from periods) - interval 1 month as date) as prev_month
),
active as (
    select cm.customer_id, cm.mrr
    from customer_month as cm, bounds as b
    where cm.month = b.last_month
),
prev as (
    select cm.customer_id, cm.mrr as prev_mrr
    from customer_month as cm, bounds as b
    where cm.month = b.prev_month
),
last_usage as (
    -- The highest day bit of the latest month with usage.
    select u.customer_id, max(cast(u.month + to_days(cast(floor(log2(u.day_mask)) as integer)) as date)) as last_usage
    from usage_activity as u, bounds as b
    where u.day_mask > 0 and u.month <= b.last_month
    group by all
),
open_tickets as (
    select t.customer_id, count(*) as open_tickets
    from tickets as t, bounds as b
    where cast(t.created_at as date) <= b.period_end
        and (t.resolved_at is null or cast(t.resolved_at as date) > b.period_end)
    group by all
),
detractors as (
    select r.customer_id, count(*) as detractor_answers
    from survey_responses as r, bounds as b
    where r.survey = 'nps' and r.score <= 6 and cast(r.responded_at as date) between b.period_start and b.period_end
    group by all
),
terms as (
    select
        s.customer_id,
        min(case
            when s.end_date is not null then s.end_date
            else cast(s.start_date + to_months(
                s.period_months * (datediff('month', s.start_date, b.period_end) // s.period_months + 1)) as date)
        end) as term_end
    from (
        select
            customer_id,
            start_date,
            end_date,
            case billing_period when 'month' then 1 when 'quarter' then 3 when 'year' then 12 end as period_months
        from subscriptions
        where amount > 0
    ) as s, bounds as b
    where s.start_date <= b.period_end and (s.end_date is null or s.end_date > b.period_end)
    group by all
),
cancels as (
    select s.customer_id, max(s.end_date) as cancels_on
    from subscriptions as s, bounds as b
    where s.amount > 0 and (s.end_date is null or s.end_date > b.period_end)
    group by all
    having count(*) = count(s.end_date)
),
final as (
    select
        a.customer_id,
        coalesce(p.prev_mrr, 0) as prev_mrr,
        u.last_usage,
        coalesce(o.open_tickets, 0) as open_tickets,
        coalesce(d.detractor_answers, 0) as detractor_answers,
        t.term_end,
        c.cancels_on
    from active as a
    left join prev as p using (customer_id)
    left join last_usage as u using (customer_id)
    left join open_tickets as o using (customer_id)
    left join detractors as d using (customer_id)
    left join terms as t using (customer_id)
    left join cancels as c using (customer_id)
)
select * from final;
