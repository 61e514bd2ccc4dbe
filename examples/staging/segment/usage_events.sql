-- Segment track calls (raw export `segment_tracks`, the warehouse's
-- `tracks` table as Parquet or CSV) -> the contract's `usage_events`.
-- See README.md.
SELECT
    -- The account, sent as context.groupId with every track call.
    context_group_id AS customer_id,
    user_id,
    "timestamp" AS occurred_at,
    -- "Report Shared" -> report_shared, as `parameters.value_events` names it.
    lower(regexp_replace(trim(event), '[^A-Za-z0-9]+', '_', 'g')) AS feature,
    duration_seconds,
    _row
FROM raw.segment_tracks
-- Visitors not signed in are no account's users.
WHERE nullif(user_id, '') IS NOT NULL
