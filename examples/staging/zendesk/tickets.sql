-- Zendesk tickets (raw `zendesk_tickets`), their metrics (raw
-- `zendesk_ticket_metrics`) and organizations (raw `zendesk_organizations`)
-- -> the contract's `tickets`. See README.md.
WITH
organization AS (
    SELECT
        CAST(o.id AS VARCHAR) AS id,
        -- The organisation's external id is the billing id when you set it;
        -- otherwise its name is matched with the customer's name.
        coalesce(
            nullif(trim(CAST(o.external_id AS VARCHAR)), ''),
            -- Two customers of one name are no match: the ticket is counted
            -- as unmatched rather than given to either.
            (SELECT CASE WHEN count(*) = 1 THEN min(c.customer_id) END
             FROM customers AS c WHERE lower(trim(c.name)) = lower(trim(o.name)))
        ) AS customer_id
    FROM raw.zendesk_organizations AS o
),
metric AS (
    SELECT CAST(ticket_id AS VARCHAR) AS ticket_id, any_value(replies) AS replies, any_value(solved_at) AS solved_at
    FROM raw.zendesk_ticket_metrics
    GROUP BY 1
)
SELECT
    CAST(t.id AS VARCHAR) AS ticket_id,
    -- No organisation, or one that matches no customer: left empty, and the
    -- run leaves the ticket out and counts it (tables.tickets.on_unmatched).
    o.customer_id,
    instant(t.created_at) AS created_at,
    -- Resolved when solved or closed; a ticket reopened since is open again.
    CASE WHEN lower(trim(t.status)) IN ('solved', 'closed')
         THEN instant(m.solved_at) END AS resolved_at,
    -- Public agent replies stand for the contacts it took: one reply is a
    -- first-contact resolution; solved without a reply counts as one.
    greatest(1, coalesce(TRY_CAST(m.replies AS INTEGER), 0)) AS contacts,
    t._row
FROM raw.zendesk_tickets AS t
LEFT JOIN metric AS m ON m.ticket_id = CAST(t.id AS VARCHAR)
LEFT JOIN organization AS o ON o.id = CAST(t.organization_id AS VARCHAR)
-- Deleted tickets are not support given.
WHERE lower(trim(t.status)) <> 'deleted'
