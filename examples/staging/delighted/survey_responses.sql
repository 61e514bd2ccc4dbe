-- Delighted responses (raw exports `delighted_nps`, `delighted_csat`,
-- `delighted_ces`, one per survey project) -> the contract's
-- `survey_responses`. Delete the parts of the projects you do not have.
SELECT 'nps-' || "Response ID" AS response_id, "Property: Customer ID" AS customer_id, 'nps' AS survey,
       TRY_CAST("Score" AS INTEGER) AS score, to_timestamp(TRY_CAST("Created At" AS BIGINT)) AS responded_at, _row
FROM raw.delighted_nps
UNION ALL
SELECT 'csat-' || "Response ID", "Property: Customer ID", 'csat',
       TRY_CAST("Score" AS INTEGER), to_timestamp(TRY_CAST("Created At" AS BIGINT)), _row
FROM raw.delighted_csat
UNION ALL
SELECT 'ces-' || "Response ID", "Property: Customer ID", 'ces',
       TRY_CAST("Score" AS INTEGER), to_timestamp(TRY_CAST("Created At" AS BIGINT)), _row
FROM raw.delighted_ces
