-- Delighted's CSV download, one file per survey project (raw exports
-- `delighted_nps`, `delighted_csat`, `delighted_ces`) -> the contract's
-- `survey_responses`. Delete the parts of the projects you do not have.
-- See ../README.md.
SELECT 'nps-' || "Response ID" AS response_id,
       nullif(trim("Property: Customer ID"), '') AS customer_id,
       'nps' AS survey,
       TRY_CAST("Score" AS INTEGER) AS score,
       CASE WHEN regexp_full_match(trim(CAST("Created At" AS VARCHAR)), '[0-9]+')
                THEN make_timestamp(CAST(trim(CAST("Created At" AS VARCHAR)) AS BIGINT) * 1000000)
                ELSE CAST(coalesce(TRY_CAST(CAST("Created At" AS VARCHAR) AS TIMESTAMPTZ),
                                   try_strptime(trim(CAST("Created At" AS VARCHAR)), '%Y-%m-%d %H:%M:%S %z')) AS TIMESTAMP) END AS responded_at,
       _row
FROM raw.delighted_nps
UNION ALL
SELECT 'csat-' || "Response ID",
       nullif(trim("Property: Customer ID"), ''),
       'csat',
       TRY_CAST("Score" AS INTEGER),
       CASE WHEN regexp_full_match(trim(CAST("Created At" AS VARCHAR)), '[0-9]+')
                THEN make_timestamp(CAST(trim(CAST("Created At" AS VARCHAR)) AS BIGINT) * 1000000)
                ELSE CAST(coalesce(TRY_CAST(CAST("Created At" AS VARCHAR) AS TIMESTAMPTZ),
                                   try_strptime(trim(CAST("Created At" AS VARCHAR)), '%Y-%m-%d %H:%M:%S %z')) AS TIMESTAMP) END,
       _row
FROM raw.delighted_csat
UNION ALL
SELECT 'ces-' || "Response ID",
       nullif(trim("Property: Customer ID"), ''),
       'ces',
       TRY_CAST("Score" AS INTEGER),
       CASE WHEN regexp_full_match(trim(CAST("Created At" AS VARCHAR)), '[0-9]+')
                THEN make_timestamp(CAST(trim(CAST("Created At" AS VARCHAR)) AS BIGINT) * 1000000)
                ELSE CAST(coalesce(TRY_CAST(CAST("Created At" AS VARCHAR) AS TIMESTAMPTZ),
                                   try_strptime(trim(CAST("Created At" AS VARCHAR)), '%Y-%m-%d %H:%M:%S %z')) AS TIMESTAMP) END,
       _row
FROM raw.delighted_ces
