-- The one pass over the raw usage events; it runs first, while memory holds
-- only the loaded exports, and drops the events when done (every usage
-- metric reads the aggregates below, never the events).
--
-- Features are numbered by an ENUM over the features seen, so a set of
-- features is a bit string with one bit per feature; the days of a month fit
-- in a 31-bit mask. Events are dated by their UTC date.
--
-- Bit strings are fast while features are few, but each event carries one
-- of n bits: with 20,000 features that is 2.5 KB an event and memory runs
-- out. Past 256 features (`usage_bits`) the sets are not built; the
-- features each customer used in a month are then grouped as rows instead
-- (usage_feature_rows), which costs a second grouping but stays bounded.
create or replace type usage_feature as enum (
    select distinct feature from usage_events where feature is not null order by feature
);

create or replace table usage_features as
with features as (
    select cast(unnest(enum_range(null::usage_feature)) as varchar) as feature
),
final as (
    select feature, enum_code(cast(feature as usage_feature)) as idx
    from features
)
select * from final;

-- Per customer, month and user: the days with events, the set of features
-- used (a bit string, one bit per feature), the days with a value event and
-- the seconds spent.
create or replace temp table usage_bits as
select cast(count(*) as integer) as n, count(*) <= 256 as as_bits from usage_features;

create or replace table usage_feature_rows as
with final as (
    select distinct
        e.customer_id,
        year(e.occurred_at) * 12 + month(e.occurred_at) - 1 as month_key,
        enum_code(cast(e.feature as usage_feature)) as idx
    from usage_events as e
    where not (select as_bits from usage_bits)
)
select * from final;

create or replace temp table usage_user_month as
with feature_count as (
    select n from usage_bits
),
events as (
    select
        e.customer_id,
        -- 12 × year + month - 1: an integer key groups faster than a date.
        year(e.occurred_at) * 12 + month(e.occurred_at) - 1 as month_key,
        e.user_id,
        case when ub.as_bits then set_bit(bitstring('0', fc.n), enum_code(cast(e.feature as usage_feature)), 1) end as feature_bit,
        cast(1 as bigint) << (dayofmonth(e.occurred_at) - 1) as day_bit,
        list_contains(v.features, e.feature) as is_value,
        e.duration_seconds
    from usage_events as e
    cross join feature_count as fc
    cross join usage_bits as ub
    cross join (select list(feature) as features from value_events) as v
),
final as (
    select
        customer_id,
        month_key,
        user_id,
        bit_or(day_bit) as day_mask,
        bit_or(feature_bit) as feature_set,
        bit_or(case when is_value then day_bit else 0 end) as value_day_mask,
        sum(duration_seconds) as seconds
    from events
    group by all
)
select * from final;

-- Per customer and month (every month with events, active or not); the
-- rows above are one per user, so users = count(*).
create or replace table usage_activity as
with per_month as (
    select
        customer_id,
        month_key,
        count(*) as users,
        bit_count(bit_or(day_mask)) as active_days,
        bit_or(day_mask) as day_mask,
        bit_or(feature_set) as feature_set,
        -- With many features, the count comes from usage_feature_rows below.
        cast(bit_count(bit_or(feature_set)) as bigint) as features,
        sum(seconds) as duration_seconds,
        bit_or(value_day_mask) as value_day_mask
    from usage_user_month
    group by all
),
final as (
    select
        customer_id,
        -- Floor arithmetic, so even a year before 0 gives a valid date.
        make_date((month_key - (month_key % 12 + 12) % 12) // 12, (month_key % 12 + 12) % 12 + 1, 1) as month,
        users,
        active_days,
        day_mask,
        feature_set,
        features,
        duration_seconds,
        value_day_mask
    from per_month
)
select * from final;

-- With many features the count comes from the rows (an empty update
-- otherwise).
update usage_activity as a
set features = r.features
from (
    select
        customer_id,
        make_date((month_key - (month_key % 12 + 12) % 12) // 12, (month_key % 12 + 12) % 12 + 1, 1) as month,
        count(*) as features
    from usage_feature_rows
    group by all
) as r
where a.customer_id = r.customer_id and a.month = r.month;

drop table usage_user_month;
drop table usage_events;
