-- Product usage of active customers per month, by the UTC date of each
-- event: active days, features, users, seconds, and the engagement score
-- 100 × (w_days × min(1, d / target_days) + w_features × min(1, f / target_features)),
-- 0 for an active customer with no events.
create or replace table usage_events_in_window as
with bounds as (
    select cast(first_month as timestamp) as from_ts, cast(report_month + interval 1 month as timestamp) as to_ts
    from params
),
final as (
    select
        e.customer_id,
        cast(date_trunc('month', e.occurred_at) as date) as month,
        cast(e.occurred_at as date) as day,
        e.user_id,
        e.feature,
        e.duration_seconds
    from usage_events as e, bounds
    where e.occurred_at >= bounds.from_ts and e.occurred_at < bounds.to_ts
)
select final.* from final
join customer_month using (customer_id, month);

create or replace table usage_customer_month as
with agg as (
    select
        customer_id,
        month,
        count(distinct day) as active_days,
        count(distinct feature) as features,
        count(distinct user_id) as users,
        sum(duration_seconds) as duration_seconds
    from usage_events_in_window
    group by all
),
final as (
    select
        cm.customer_id,
        cm.month,
        coalesce(agg.active_days, 0) as active_days,
        coalesce(agg.features, 0) as features,
        coalesce(agg.users, 0) as users,
        coalesce(agg.duration_seconds, 0) as duration_seconds,
        100 * (
            p.weight_days * least(1, coalesce(agg.active_days, 0) / p.target_active_days)
            + p.weight_features * least(1, coalesce(agg.features, 0) / p.target_features)
        ) as engagement
    from customer_month as cm
    join months using (month)
    cross join params as p
    left join agg using (customer_id, month)
)
select * from final;

create or replace table usage_feature_month as
select distinct customer_id, month, feature from usage_events_in_window;

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
