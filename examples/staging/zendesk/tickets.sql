-- Zendesk tickets (raw export `zendesk_tickets`) -> the contract's
-- `tickets`, matched to customers by organisation name. See README.md.
SELECT
    CAST(t."Id" AS VARCHAR) AS ticket_id,
    -- No match leaves customer_id empty: reported with the raw line.
    c.customer_id,
    t."Created at" AS created_at,
    nullif(trim(t."Solved at"), '') AS resolved_at,
    -- Agent replies stand for contacts: one reply is a first-contact resolution.
    greatest(1, TRY_CAST(t."Agent replies" AS INTEGER)) AS contacts,
    t._row
FROM raw.zendesk_tickets AS t
LEFT JOIN customers AS c ON lower(trim(c.name)) = lower(trim(t."Organization"))
