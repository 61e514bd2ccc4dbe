-- HubSpot companies (raw export `hubspot_companies`, the "Export" of a
-- companies view) -> the contract's `customers`. See README.md.
WITH country_key AS (
    SELECT DISTINCT lower(strip_accents(trim(key))) AS key, region
    FROM raw.hubspot_countries,
         unnest(list_concat([alpha_2, alpha_3, name], string_split(coalesce(other_names, ''), '|'))) AS k(key)
    WHERE trim(key) <> ''
)
SELECT
    -- The id your billing system knows the company by (a custom property).
    trim("Stripe Customer ID") AS customer_id,
    "Company name" AS name,
    -- The export's `YYYY-MM-DD HH:MM`, with seconds, or ISO 8601.
    CAST(coalesce(try_strptime(trim("Create Date"), ['%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d']),
                  CAST(TRY_CAST(trim("Create Date") AS TIMESTAMPTZ) AS TIMESTAMP)) AS DATE) AS signup_date,
    -- "Mid Market" -> mid_market: the report shows segments as written.
    nullif(lower(regexp_replace(trim("Segment"), '\s+', '_', 'g')), '') AS segment,
    -- The complete ISO 3166 table of countries.csv (raw `hubspot_countries`):
    -- a country's name, other names or codes -> its sales region. A value
    -- it does not know stays as written (lower-case), visible in the report.
    coalesce(
        (SELECT any_value(k.region) FROM country_key AS k
         WHERE k.key = lower(strip_accents(trim(c."Country/Region")))),
        nullif(lower(trim(c."Country/Region")), '')
    ) AS region,
    -- HubSpot's source names -> the channels of your spend sheet; `referral`
    -- is the one the referral rate counts.
    -- Labels ("Paid Search") and internal values (PAID_SEARCH) alike.
    CASE lower(regexp_replace(trim("Original Source"), '\s+', '_', 'g'))
        WHEN 'paid_search' THEN 'paid_search'
        WHEN 'referrals' THEN 'referral'
        WHEN 'offline_sources' THEN 'events'
        WHEN 'offline' THEN 'events'
        WHEN 'organic_search' THEN 'content'
        WHEN 'other_campaigns' THEN 'partner'
        ELSE nullif(lower(regexp_replace(trim("Original Source"), '\s+', '_', 'g')), '')
    END AS acquisition_channel,
    -- "Chloé Martin" -> chloe.martin, the owner id of the owners table.
    nullif(lower(replace(strip_accents(trim("Company owner")), ' ', '.')), '') AS owner,
    _row
FROM raw.hubspot_companies AS c
-- Prospects have no billing id yet: not customers.
WHERE nullif(trim("Stripe Customer ID"), '') IS NOT NULL
