-- Stripe invoices (raw `stripe_invoices`) with their line items (raw
-- `stripe_invoice_line_items`) -> the contract's `invoices`. An invoice's
-- amount is the sum of its lines net of their discounts, without tax:
-- prorations and credits (negative lines) count in the invoice they are
-- on. See README.md.
WITH
line AS (
    SELECT
        invoice_id,
        sum(TRY_CAST(amount AS BIGINT) - coalesce(TRY_CAST(nullif(trim(CAST(discount_amount AS VARCHAR)), '') AS BIGINT), 0)) AS net,
        bool_and(truthy(proration)) AS all_prorations
    FROM raw.stripe_invoice_line_items
    GROUP BY invoice_id
),
invoice AS (
    SELECT
        i.*,
        lower(trim(i.status)) AS state,
        lower(trim(i.currency)) AS cur,
        -- Without line items (an export that left them out), the total less tax.
        coalesce(l.net, TRY_CAST(i.total AS BIGINT)) AS net,
        l.all_prorations,
        instant(i.created) AS created_at
    FROM raw.stripe_invoices AS i
    LEFT JOIN line AS l ON l.invoice_id = i.id
)
SELECT
    id AS invoice_id,
    customer AS customer_id,
    CAST(created_at AS DATE) AS invoice_date,
    -- A net credit (an invoice of credits only) is no revenue, not negative
    -- revenue: Stripe keeps it as the customer's balance.
    greatest(net, 0)
        * CASE WHEN cur IN ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf')
               THEN 1 ELSE 0.01 END AS amount,
    upper(nullif(cur, '')) AS currency,
    CASE
        -- Refunded in full (the charge's amount_refunded): not revenue.
        WHEN state = 'paid' AND TRY_CAST(amount_refunded AS BIGINT) > 0
             AND TRY_CAST(amount_refunded AS BIGINT) >= TRY_CAST(total AS BIGINT) THEN 'refunded'
        WHEN state = 'paid' THEN 'paid'
        WHEN state = 'open' THEN 'open'
        -- Written off: the service was given (it counts in MRR) but never
        -- paid for, so it is no revenue.
        WHEN state IN ('void', 'uncollectible') THEN 'void'
    END AS status,
    -- Your own invoice metadata `kind` wins; otherwise Stripe's billing
    -- reason: a mid-term change (an invoice of prorations) is an upsell, a
    -- manual invoice a one-time charge. Cross-sells need the metadata.
    coalesce(
        nullif(lower(trim("kind (metadata)")), ''),
        CASE
            WHEN billing_reason IN ('subscription_create', 'subscription_cycle', 'subscription_threshold') THEN 'subscription'
            WHEN billing_reason = 'subscription_update' THEN 'upsell'
            WHEN billing_reason = 'subscription' THEN 'subscription'
            WHEN billing_reason = 'manual' THEN 'one_time'
        END
    ) AS kind,
    _row
FROM invoice
-- Drafts were never sent.
WHERE state <> 'draft'
