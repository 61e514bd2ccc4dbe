-- HubSpot companies (raw export `hubspot_companies`, the "Export" of a
-- companies view) -> the contract's `customers`. See README.md.
SELECT
    -- The id your billing system knows the company by (a custom property).
    trim("Stripe Customer ID") AS customer_id,
    "Company name" AS name,
    CAST(try_strptime(trim("Create Date"), '%Y-%m-%d %H:%M') AS DATE) AS signup_date,
    -- "Mid Market" -> mid_market: the report shows segments as written.
    nullif(lower(regexp_replace(trim("Segment"), '\s+', '_', 'g')), '') AS segment,
    CASE
        WHEN trim("Country/Region") IN ('United States', 'Canada') THEN 'north_america'
        WHEN trim("Country/Region") IN ('Brazil', 'Mexico', 'Argentina', 'Chile', 'Colombia') THEN 'latam'
        WHEN trim("Country/Region") IN ('Japan', 'Australia', 'India', 'Singapore', 'China', 'South Korea', 'New Zealand') THEN 'apac'
        WHEN trim("Country/Region") IN ('Germany', 'France', 'United Kingdom', 'Spain', 'Italy', 'Netherlands', 'Sweden',
                                        'Poland', 'Ireland', 'Belgium', 'Switzerland', 'Austria', 'South Africa',
                                        'United Arab Emirates', 'Israel') THEN 'emea'
        -- A country not listed is its own region, visible in the report.
        ELSE nullif(lower(trim("Country/Region")), '')
    END AS region,
    -- HubSpot's source names -> the channels of your spend sheet; `referral`
    -- is the one the referral rate counts.
    CASE trim("Original Source")
        WHEN 'Paid Search' THEN 'paid_search'
        WHEN 'Referrals' THEN 'referral'
        WHEN 'Offline Sources' THEN 'events'
        WHEN 'Organic Search' THEN 'content'
        WHEN 'Other Campaigns' THEN 'partner'
        ELSE nullif(lower(regexp_replace(trim("Original Source"), '\s+', '_', 'g')), '')
    END AS acquisition_channel,
    -- "Chloé Martin" -> chloe.martin, the owner id of the owners table.
    nullif(lower(replace(strip_accents(trim("Company owner")), ' ', '.')), '') AS owner,
    _row
FROM raw.hubspot_companies
-- Prospects have no billing id yet: not customers.
WHERE nullif(trim("Stripe Customer ID"), '') IS NOT NULL
