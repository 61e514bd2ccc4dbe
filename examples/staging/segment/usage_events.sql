-- Segment's warehouse tables (raw exports `segment_tracks`: the `tracks`
-- table; `segment_groups`: the `groups` table of group calls;
-- `segment_accounts`: your map from group id to billing id) -> the
-- contract's `usage_events`. See README.md.
WITH
track AS (
    SELECT
        _row, user_id, event,
        -- A TIMESTAMP WITH TIME ZONE column (Parquet) or ISO 8601 text.
        instant("timestamp") AS seen_at
    FROM raw.segment_tracks
    -- Visitors not signed in (no user_id) are no account's users.
    WHERE nullif(trim(user_id), '') IS NOT NULL
),
grouped AS (
    SELECT
        user_id,
        group_id,
        instant("timestamp") AS seen_at
    FROM raw.segment_groups
    WHERE nullif(trim(user_id), '') IS NOT NULL AND nullif(trim(group_id), '') IS NOT NULL
),
-- A user's first group call covers the events before it too (a user is
-- often grouped after the first page views of the session).
first_group AS (
    SELECT user_id, arg_min(group_id, seen_at) AS group_id FROM grouped GROUP BY user_id
),
account AS (
    SELECT trim(CAST(group_id AS VARCHAR)) AS group_id, any_value(trim(CAST(customer_id AS VARCHAR))) AS customer_id
    FROM raw.segment_accounts
    GROUP BY 1
)
SELECT
    -- The account of the group the user was in when the event happened; a
    -- user never grouped, or a group with no billing id, is left out and
    -- counted (tables.usage_events.on_unmatched).
    a.customer_id,
    t.user_id,
    t.seen_at AS occurred_at,
    -- "Report Shared" -> report_shared, as `parameters.value_events` names it.
    lower(regexp_replace(trim(t.event), '[^A-Za-z0-9]+', '_', 'g')) AS feature,
    -- No duration_seconds: Segment records no time spent, and a column the
    -- export leaves out makes time on platform not available (never 0).
    t._row
FROM track AS t
ASOF LEFT JOIN grouped AS g ON g.user_id = t.user_id AND t.seen_at >= g.seen_at
LEFT JOIN first_group AS f ON f.user_id = t.user_id
LEFT JOIN account AS a ON a.group_id = coalesce(g.group_id, f.group_id)
