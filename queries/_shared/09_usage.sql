-- Product usage of active customers per month, by the UTC date of each
-- event: active days, features, users, seconds, and the engagement score
-- 100 × (w_days × min(1, d / target_days) + w_features × min(1, f / target_features)),
-- 0 for an active customer with no events.
-- Events of the computed months, by UTC day (a view: each aggregate below
-- reads usage_events once; the events are never copied).
create or replace view usage_events_in_window as
with bounds as (
    select cast(first_month as timestamp) as from_ts, cast(report_month + interval 1 month as timestamp) as to_ts
    from params
)
select
    e.customer_id,
    cast(e.occurred_at as date) as day,
    e.user_id,
    e.feature,
    e.duration_seconds
from usage_events as e, bounds
where e.occurred_at >= bounds.from_ts and e.occurred_at < bounds.to_ts;

-- Two narrow aggregates instead of one with three count(distinct): per
-- feature (with a bit mask of the days of the month it was used on, so
-- distinct days need no pass of their own) and, below, per user.
create or replace table usage_feature_month as
select
    u.customer_id,
    cast(date_trunc('month', u.day) as date) as month,
    u.feature,
    bit_or(cast(1 as bigint) << (dayofmonth(u.day) - 1)) as day_mask
from usage_events_in_window as u
group by all;

create or replace table usage_customer_month as
with features as (
    select customer_id, month, count(*) as features, bit_count(bit_or(day_mask)) as active_days
    from usage_feature_month
    group by all
),
per_user as (
    select u.customer_id, cast(date_trunc('month', u.day) as date) as month, u.user_id, sum(u.duration_seconds) as seconds
    from usage_events_in_window as u
    group by all
),
users as (
    select customer_id, month, count(*) as users, sum(seconds) as duration_seconds from per_user group by all
),
final as (
    select
        cm.customer_id,
        cm.month,
        coalesce(f.active_days, 0) as active_days,
        coalesce(f.features, 0) as features,
        coalesce(u.users, 0) as users,
        coalesce(u.duration_seconds, 0) as duration_seconds,
        100 * (
            p.weight_days * least(1, coalesce(f.active_days, 0) / p.target_active_days)
            + p.weight_features * least(1, coalesce(f.features, 0) / p.target_features)
        ) as engagement
    from customer_month as cm
    join months using (month)
    cross join params as p
    left join features as f using (customer_id, month)
    left join users as u using (customer_id, month)
)
select * from final;

-- Only active customers' usage counts: keep the feature rows of active months.
delete from usage_feature_month as f
where not exists (select 1 from customer_month as cm where cm.customer_id = f.customer_id and cm.month = f.month);

-- first_paid(c): earliest start of a priced subscription; first_value(c):
-- earliest event date on or after it whose feature is a value event.
create or replace table customer_first_value as
with first_paid as (
    select customer_id, min(start_date) as first_paid
    from subscriptions
    where amount > 0
    group by all
),
value_days as (
    select e.customer_id, min(cast(e.occurred_at as date)) as first_value
    from usage_events as e
    join first_paid as f using (customer_id)
    where e.feature in (select feature from value_events)
      and cast(e.occurred_at as date) >= f.first_paid
    group by all
),
final as (
    select f.customer_id, f.first_paid, v.first_value
    from first_paid as f
    left join value_days as v using (customer_id)
)
select * from final;

-- Usage per slice and month, the source of the usage metrics.
create or replace table usage_slice_month as
with agg as (
    select
        s.dimension,
        s.segment,
        u.month,
        count(*) filter (where u.active_days > 0) as adopters,
        sum(u.users) as users,
        sum(u.duration_seconds) as duration_seconds,
        sum(u.engagement) as engagement_sum
    from usage_customer_month as u
    join customer_slices as s using (customer_id)
    group by all
),
final as (
    select
        m.month,
        m.dimension,
        m.segment,
        m.active_customers,
        coalesce(agg.adopters, 0) as adopters,
        coalesce(agg.users, 0) as users,
        coalesce(agg.duration_seconds, 0) as duration_seconds,
        coalesce(agg.engagement_sum, 0) as engagement_sum
    from mrr_month as m
    left join agg using (month, dimension, segment)
)
select * from final;
