-- HubSpot owners (raw export `hubspot_owners`: the CRM's owners, `GET
-- /crm/v3/owners` flattened, or Settings > Users exported) -> the
-- contract's `owners`. See README.md.
SELECT
    -- "Chloé Martin" -> chloe.martin: the id customers.sql makes of the
    -- company owner's name.
    lower(replace(strip_accents(trim(concat_ws(' ', nullif(trim("firstName"), ''), nullif(trim("lastName"), '')))), ' ', '.')) AS owner,
    nullif(trim(concat_ws(' ', nullif(trim("firstName"), ''), nullif(trim("lastName"), ''))), '') AS name,
    trim(email) AS email,
    _row
FROM raw.hubspot_owners
-- An owner removed (archived) in HubSpot gets no more books: the run warns
-- that its accounts' owner has no email until they are reassigned.
WHERE NOT truthy(archived)
