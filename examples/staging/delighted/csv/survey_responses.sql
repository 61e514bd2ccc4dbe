-- Delighted's CSV download, one file per survey project (raw exports
-- `delighted_nps`, `delighted_csat`, `delighted_ces`) -> the contract's
-- `survey_responses`. Delete the parts of the projects you do not have.
-- See ../README.md.
SELECT 'nps-' || "Response ID" AS response_id,
       nullif(trim("Property: Customer ID"), '') AS customer_id,
       'nps' AS survey,
       TRY_CAST("Score" AS INTEGER) AS score,
       instant("Created At") AS responded_at,
       _row
FROM raw.delighted_nps
UNION ALL
SELECT 'csat-' || "Response ID",
       nullif(trim("Property: Customer ID"), ''),
       'csat',
       TRY_CAST("Score" AS INTEGER),
       instant("Created At"),
       _row
FROM raw.delighted_csat
UNION ALL
SELECT 'ces-' || "Response ID",
       nullif(trim("Property: Customer ID"), ''),
       'ces',
       TRY_CAST("Score" AS INTEGER),
       instant("Created At"),
       _row
FROM raw.delighted_ces
