-- Stripe subscriptions with a trial (raw `stripe_subscriptions`) -> the
-- contract's `trials`: one trial per subscription that had one, converted
-- on the first day a service period of it billed money (raw
-- `stripe_invoice_line_items` on sent invoices). See README.md.
WITH
subscription AS (
    SELECT
        id, customer, _row,
        CAST(instant(trial_start) AS DATE) AS started,
        CAST(instant(trial_end) AS DATE) AS ended
    FROM raw.stripe_subscriptions
),
paid AS (
    SELECT
        l.subscription,
        min(CAST(instant(l.period_start) AS DATE)) AS first_paid
    FROM raw.stripe_invoice_line_items AS l
    JOIN raw.stripe_invoices AS i ON i.id = l.invoice_id
    WHERE lower(trim(i.status)) IN ('open', 'paid', 'uncollectible')
      AND NOT truthy(l.proration)
      AND TRY_CAST(l.amount AS BIGINT) - coalesce(TRY_CAST(nullif(trim(CAST(l.discount_amount AS VARCHAR)), '') AS BIGINT), 0) > 0
    GROUP BY l.subscription
)
SELECT
    s.id AS trial_id,
    s.customer AS customer_id,
    s.started AS started_at,
    -- A trial Stripe ended before it began (a trial removed at once) lasted
    -- no day: it ends where it started.
    greatest(s.ended, s.started) AS ended_at,
    -- Converted when a paid period began, at the trial's end or later (a
    -- trial that was cut short and paid at once converts on that day).
    CASE WHEN p.first_paid >= s.started THEN p.first_paid END AS converted_at,
    s._row
FROM subscription AS s
LEFT JOIN paid AS p ON p.subscription = s.id
WHERE s.started IS NOT NULL AND s.ended IS NOT NULL
