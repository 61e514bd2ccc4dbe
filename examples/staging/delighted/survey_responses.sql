-- Delighted survey responses as its API lists them (raw export
-- `delighted_responses`: `GET /v1/survey_responses.json`, one row per
-- response, `person_properties` kept as JSON text) -> the contract's
-- `survey_responses`. See README.md; csv/ reads the dashboard's CSV download.
SELECT
    lower(trim(survey_type)) || '-' || CAST(id AS VARCHAR) AS response_id,
    -- The property you send with each person; an anonymous answer has none
    -- and is left out and counted (tables.survey_responses.on_unmatched).
    nullif(trim(json_extract_string(CAST(person_properties AS VARCHAR), '$."Customer ID"')), '') AS customer_id,
    lower(trim(survey_type)) AS survey,
    TRY_CAST(score AS INTEGER) AS score,
    instant(created_at) AS responded_at,
    _row
FROM raw.delighted_responses
-- Delighted's other survey types (eNPS, smileys, thumbs, PMF) are not
-- customer NPS, CSAT or CES.
WHERE lower(trim(survey_type)) IN ('nps', 'csat', 'ces')
