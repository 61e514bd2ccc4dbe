-- Health of every customer active in a computed month: four components,
-- each 0-100 or null, and their weighted mean over the non-null ones.
--   usage     = engagement score (null for all when usage_events is missing)
--   sentiment = 10 × the latest NPS score dated in [m_end - 179 days, m_end]
--   support   = 100 × max(0, 1 - tickets created in m / 5)
--   revenue   = null if mrr(c, m-3) = 0; 100 / 50 / 0 if mrr(c, m) is above / equal / below it
create or replace table customer_health as
with base as (
    -- usage_customer_month has one row per active customer and computed
    -- month, with its MRR and engagement.
    select u.customer_id, u.month, m.month_end, u.mrr, u.engagement
    from usage_customer_month as u
    join months as m using (month)
),
nps_answers as (
    -- One answer per customer and instant (the highest id on a tie), so the
    -- as-of join below is deterministic.
    select customer_id, responded_at, arg_max(score, response_id) as score
    from survey_responses
    where survey = 'nps'
    group by all
),
latest_nps as (
    -- The latest answer up to the end of m, kept if dated m_end - 179 or later.
    select b.customer_id, b.month, a.score
    from base as b
    asof join nps_answers as a
        on a.customer_id = b.customer_id and a.responded_at < cast(b.month_end + 1 as timestamp)
    where cast(a.responded_at as date) >= b.month_end - 179
),
ticket_counts as (
    select customer_id, cast(date_trunc('month', created_at) as date) as month, count(*) as tickets
    from tickets
    group by all
),
components as (
    select
        b.customer_id,
        b.month,
        b.mrr,
        case when p.has_usage_events then b.engagement end as usage,
        case when p.has_survey_responses then 10.0 * n.score end as sentiment,
        case when p.has_tickets then 100.0 * greatest(0, 1 - coalesce(t.tickets, 0) / 5) end as support,
        case
            when back.mrr is null then null
            when b.mrr > back.mrr then 100.0
            when b.mrr = back.mrr then 50.0
            else 0.0
        end as revenue
    from base as b
    cross join params as p
    left join latest_nps as n using (customer_id, month)
    left join ticket_counts as t using (customer_id, month)
    left join customer_month as back
        on back.customer_id = b.customer_id and back.month = cast(b.month - interval 3 month as date)
),
scored as (
    select
        c.*,
        (
            coalesce(p.w_usage * c.usage, 0) + coalesce(p.w_sentiment * c.sentiment, 0)
            + coalesce(p.w_support * c.support, 0) + coalesce(p.w_revenue * c.revenue, 0)
        ) / nullif(
            (case when c.usage is null then 0 else p.w_usage end)
            + (case when c.sentiment is null then 0 else p.w_sentiment end)
            + (case when c.support is null then 0 else p.w_support end)
            + (case when c.revenue is null then 0 else p.w_revenue end),
            0
        ) as health
    from components as c
    cross join params as p
),
final as (
    select
        s.*,
        case
            when s.health is null then null
            when s.health >= p.healthy_min then 'healthy'
            when s.health < p.at_risk_below then 'at_risk'
            else 'neutral'
        end as band
    from scored as s
    cross join params as p
)
select * from final;

-- Health per slice and month, the source of the health metrics.
create or replace table health_slice_month as
with per_cell as (
    select
        c.cell,
        h.month,
        sum(cast(h.health as decimal(38, 12))) as health_sum,
        count(h.health) as scored,
        count(*) filter (where h.band = 'at_risk') as at_risk_customers,
        sum(h.mrr) filter (where h.band = 'at_risk') as at_risk_mrr
    from customer_health as h
    join customer_cells as c using (customer_id)
    group by all
),
grid as (
    select month, dimension, segment from mrr_month
),
totals as (
    select * from slice_grid(grid, per_cell)
),
final as (
    select
        month,
        dimension,
        segment,
        cast(health_sum as double) / nullif(scored, 0) as health_score,
        at_risk_customers,
        at_risk_mrr
    from totals
)
select * from final;
