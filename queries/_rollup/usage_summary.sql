-- From the rollup rows of usage_events.sql (relation usage_rollup, both
-- grains) to one row per customer and month, the grain every usage metric
-- starts from and the one the rollup store keeps per events file
-- (src/load/rollups.rs):
-- events (n), distinct users (a missing user_id counts as one user, as a
-- group of its own), the days with events, seconds, first and last event,
-- the rule counts, and per feature the days it was used (feature_days, a
-- list of {feature, day_mask} in feature order; null features left out).
with per_feature as (
    select customer_id, month_key, feature, bit_or(day_mask) as day_mask
    from usage_rollup
    where grain = 'feature' and feature is not null
    group by all
),
features as (
    select
        customer_id,
        month_key,
        list({'feature': feature, 'day_mask': day_mask} order by feature) as feature_days
    from per_feature
    group by all
),
totals as (
    select
        customer_id,
        month_key,
        cast(sum(events) as bigint) as n,
        cast(count(distinct user_id) + max(case when user_id is null then 1 else 0 end) as bigint) as users,
        bit_or(day_mask) as day_mask,
        cast(sum(seconds) as decimal(38, 6)) as seconds,
        cast(min(first_at) as timestamp) as first_at,
        cast(max(last_at) as timestamp) as last_at,
        cast(sum(rows_bad_occurred_at) as bigint) as rows_bad_occurred_at,
        cast(sum(rows_no_occurred_at) as bigint) as rows_no_occurred_at,
        cast(sum(rows_no_user_id) as bigint) as rows_no_user_id,
        cast(sum(rows_no_feature) as bigint) as rows_no_feature,
        cast(sum(rows_bad_duration_seconds) as bigint) as rows_bad_duration_seconds,
        cast(sum(rows_negative_duration_seconds) as bigint) as rows_negative_duration_seconds
    from usage_rollup
    where grain = 'user'
    group by all
),
final as (
    select t.*, f.feature_days
    from totals as t
    left join features as f
        on f.customer_id is not distinct from t.customer_id
        and f.month_key is not distinct from t.month_key
)
select * from final
