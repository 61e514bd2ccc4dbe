-- The usage building blocks. The events themselves are never stored: the
-- loader rolls each events file up (queries/_rollup/, src/load/events.rs)
-- into
--   usage_events_month (customer_id, month_key, n, users, day_mask,
--                       seconds, first_at, last_at, the rule counts,
--                       feature_days): per customer and month, the events,
--                       the distinct users, the days with events (a 31-bit
--                       mask), the seconds spent and, per feature used, the
--                       days it was used (a list of {feature, day_mask} in
--                       feature order); month_key is 12 × year + month - 1 of
--                       the UTC date.
-- The features of the events kept: a feature seen only in events that were
-- left out (their customer is unknown, `on_unmatched: warn`) is none.
create or replace table usage_features as
with used as (
    select unnest(feature_days) as fd
    from usage_events_month
),
final as (
    select distinct fd.feature as feature
    from used
)
select * from final
order by feature;

-- Per customer and month (every month with events, active or not): the
-- number of features used, and the value-event days (the days of the
-- features named in `value_events`).
create or replace table usage_activity as
with value_features as (
    select list(feature) as features from value_events
),
final as (
    select
        e.customer_id,
        -- Floor arithmetic, so even a year before 0 gives a valid date.
        make_date((e.month_key - (e.month_key % 12 + 12) % 12) // 12, (e.month_key % 12 + 12) % 12 + 1, 1) as month,
        e.users,
        bit_count(e.day_mask) as active_days,
        e.day_mask,
        cast(len(e.feature_days) as bigint) as features,
        e.seconds as duration_seconds,
        coalesce(
            list_aggregate(
                list_transform(list_filter(e.feature_days, x -> list_contains(v.features, x.feature)), x -> x.day_mask),
                'bit_or'
            ),
            0
        ) as value_day_mask
    from usage_events_month as e
    cross join value_features as v
)
select * from final;

-- usage_events_month stays for the adoption per feature (09_usage.sql),
-- which drops it: its feature lists are not copied.
-- Only an empty one when the export is missing.
drop table if exists usage_events;
