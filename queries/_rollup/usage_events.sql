-- The usage event rollup: the one pass over the raw events. It is plain SQL
-- that runs unchanged on DuckDB (cs-report runs it on each events file) and
-- on Spark SQL, BigQuery and Snowflake (README: "The event rollup on a
-- cluster or in the warehouse"), so a company whose events live in a lake
-- can roll them up there and give cs-report the result instead of the events.
--
-- Only standard SQL: EXTRACT, POWER, CAST, COUNT(CASE ...), and the BIT_OR
-- aggregate (Snowflake spells it BITOR_AGG: the one word to change there).
--
-- It reads one relation, usage_events_typed, with the contract's columns:
--   customer_id, user_id, feature   text
--   occurred_at                     timestamp in UTC
--   duration_seconds                decimal (null when not exported)
-- and two flags cs-report sets when a cell of the export did not convert
-- (a typed table in a warehouse has none: select false for both):
--   bad_occurred_at, bad_duration_seconds   boolean
--
-- Two kinds of rows, in one pass (GROUPING SETS), so rollups of different
-- files add up exactly:
--   grain 'user':    one per customer, month and user: events, the days with
--                    events (bit d - 1 for day d of the month), seconds,
--                    first and last event, and the rows_* columns, which
--                    count the rows that break each input rule of the
--                    contract, so the run can refuse bad events without
--                    storing them;
--   grain 'feature': one per customer, month and feature: the days it was
--                    used (its other columns repeat the same counts and are
--                    not read).
-- month_key is 12 × year + month - 1 of the UTC date.
select
    case when grouping(feature) = 1 then 'user' else 'feature' end as grain,
    customer_id,
    extract(year from occurred_at) * 12 + extract(month from occurred_at) - 1 as month_key,
    user_id,
    feature,
    count(*) as events,
    bit_or(cast(power(2, extract(day from occurred_at) - 1) as bigint)) as day_mask,
    sum(duration_seconds) as seconds,
    min(occurred_at) as first_at,
    max(occurred_at) as last_at,
    count(case when bad_occurred_at then 1 end) as rows_bad_occurred_at,
    count(case when occurred_at is null and not bad_occurred_at then 1 end) as rows_no_occurred_at,
    count(case when user_id is null or user_id = '' then 1 end) as rows_no_user_id,
    count(case when feature is null or feature = '' then 1 end) as rows_no_feature,
    count(case when bad_duration_seconds then 1 end) as rows_bad_duration_seconds,
    count(case when duration_seconds < 0 then 1 end) as rows_negative_duration_seconds
from usage_events_typed
group by grouping sets (
    (customer_id, extract(year from occurred_at) * 12 + extract(month from occurred_at) - 1, user_id),
    (customer_id, extract(year from occurred_at) * 12 + extract(month from occurred_at) - 1, feature)
)
