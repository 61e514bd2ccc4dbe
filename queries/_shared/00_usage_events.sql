-- The usage building blocks. The events themselves are never stored: the
-- loader reads them once (src/load/events.rs) into
--   usage_user_month   (customer_id, month_key, user_id, n, day_mask,
--                       feature_set, value_day_mask, seconds, first_at,
--                       last_at, the rule counts): per customer, month and
--                       user, the days with events (a 31-bit mask), the set
--                       of features used (a bit string, one bit per feature
--                       of the ENUM usage_feature), the days with a value
--                       event and the seconds spent; month_key is
--                       12 × year + month - 1 of the UTC date;
--   usage_feature_rows (customer_id, month_key, idx): with more than 256
--                       features the sets are not built and the features of
--                       each customer and month are these rows instead.
-- The features of the events kept: a feature seen only in events that were
-- left out (their customer is unknown, `on_unmatched: warn`) is none.
create or replace table usage_features as
with features as (
    select cast(unnest(enum_range(null::usage_feature)) as varchar) as feature
),
used as (
    select bit_or(feature_set) as bits from usage_user_month
),
final as (
    select f.feature, enum_code(cast(f.feature as usage_feature)) as idx
    from features as f, used as u
    where (u.bits is not null and get_bit(u.bits, enum_code(cast(f.feature as usage_feature))) = 1)
        or exists (select 1 from usage_feature_rows as r where r.idx = enum_code(cast(f.feature as usage_feature)))
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
-- Only an empty one when the export is missing.
drop table if exists usage_events;
