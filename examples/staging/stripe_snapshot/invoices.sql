-- Stripe invoices (raw export `stripe_invoices`) -> the contract's
-- `invoices`. See README.md.
SELECT
    id AS invoice_id,
    customer AS customer_id,
    CAST(TRY_CAST(created AS TIMESTAMP) AS DATE) AS invoice_date,
    TRY_CAST(total AS BIGINT)
        * CASE WHEN lower(currency) IN ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf')
               THEN 1 ELSE 0.01 END AS amount,
    upper(nullif(trim(currency), '')) AS currency,
    CASE
        -- Refunded in full (the charge's amount_refunded): not revenue.
        WHEN status = 'paid' AND TRY_CAST(amount_refunded AS BIGINT) > 0
             AND TRY_CAST(amount_refunded AS BIGINT) >= TRY_CAST(total AS BIGINT) THEN 'refunded'
        WHEN status = 'paid' THEN 'paid'
        WHEN status = 'open' THEN 'open'
        -- Written off: never collected, so no revenue either.
        WHEN status IN ('void', 'uncollectible') THEN 'void'
    END AS status,
    -- Your own invoice metadata `kind` wins; otherwise Stripe's billing
    -- reason: a mid-term plan change is an upsell, a manual invoice a
    -- one-time charge. Cross-sells need the metadata.
    coalesce(
        nullif(lower(trim("kind (metadata)")), ''),
        CASE billing_reason
            WHEN 'subscription_create' THEN 'subscription'
            WHEN 'subscription_cycle' THEN 'subscription'
            WHEN 'subscription_update' THEN 'upsell'
            WHEN 'manual' THEN 'one_time'
        END
    ) AS kind,
    _row
FROM raw.stripe_invoices
-- Drafts were never sent.
WHERE status <> 'draft'
