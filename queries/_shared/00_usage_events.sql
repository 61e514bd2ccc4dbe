-- The one pass over the raw usage events; it runs first, while memory holds
-- only the loaded exports, and drops the events when done (every usage
-- metric reads the aggregates below, never the events).
--
-- Features are numbered by an ENUM over the features seen, so a set of
-- features fits in a 64-bit mask (one mask per `bucket` of 64 features);
-- days of a month fit in a 31-bit mask. Events are dated by their UTC date.
create or replace type usage_feature as enum (
    select distinct feature from usage_events where feature is not null order by feature
);

create or replace table usage_features as
with features as (
    select cast(unnest(enum_range(null::usage_feature)) as varchar) as feature
),
final as (
    select
        f.feature,
        enum_code(cast(f.feature as usage_feature)) as idx,
        f.feature in (select feature from value_events) as is_value
    from features as f
)
select * from final;

-- Per customer, month, user and bucket: the days with events, the features
-- used, the days with a value event, the seconds spent.
create or replace temp table usage_user_month as
with events as (
    select
        e.customer_id,
        cast(date_trunc('month', e.occurred_at) as date) as month,
        e.user_id,
        enum_code(cast(e.feature as usage_feature)) as idx,
        cast(1 as bigint) << (dayofmonth(e.occurred_at) - 1) as day_bit,
        list_contains(v.features, e.feature) as is_value,
        e.duration_seconds
    from usage_events as e
    cross join (select list(feature) as features from value_events) as v
),
final as (
    select
        customer_id,
        month,
        user_id,
        idx // 64 as bucket,
        bit_or(day_bit) as day_mask,
        bit_or(cast(1 as ubigint) << (idx % 64)) as feature_mask,
        bit_or(case when is_value then day_bit else 0 end) as value_day_mask,
        sum(duration_seconds) as seconds
    from events
    group by all
)
select * from final;

-- Which features each customer used in each month, as masks per bucket.
create or replace table usage_feature_masks as
select customer_id, month, bucket, bit_or(feature_mask) as feature_mask
from usage_user_month
group by all;

-- Per customer and month (every month with events, active or not).
create or replace table usage_activity as
with users as (
    select
        customer_id,
        month,
        count(distinct user_id) as users,
        bit_count(bit_or(day_mask)) as active_days,
        sum(seconds) as duration_seconds,
        bit_or(value_day_mask) as value_day_mask
    from usage_user_month
    group by all
),
features as (
    select customer_id, month, sum(bit_count(feature_mask)) as features
    from usage_feature_masks
    group by all
),
final as (
    select u.*, f.features
    from users as u
    join features as f using (customer_id, month)
)
select * from final;

drop table usage_user_month;
drop table usage_events;
