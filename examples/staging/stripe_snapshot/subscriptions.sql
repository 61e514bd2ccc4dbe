-- A snapshot of the subscriptions running today (raw export
-- `subscriptions_now`: no price history, no ended subscriptions) -> the
-- contract's `subscriptions`. Only the current month is right; see README.md.
SELECT
    id AS subscription_id,
    customer AS customer_id,
    plan_nickname AS plan,
    CAST(TRY_CAST(coalesce(nullif(trial_end, ''), start_date) AS TIMESTAMP) AS DATE) AS start_date,
    CAST(TRY_CAST(nullif(cancel_at, '') AS TIMESTAMP) AS DATE) AS end_date,
    CASE
        WHEN plan_interval = 'month' AND plan_interval_count = '1' THEN 'month'
        WHEN plan_interval = 'month' AND plan_interval_count = '3' THEN 'quarter'
        WHEN plan_interval = 'year' AND plan_interval_count = '1' THEN 'year'
    END AS billing_period,
    TRY_CAST(plan_amount AS BIGINT) * TRY_CAST(quantity AS BIGINT)
        * CASE WHEN lower(currency) IN ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf')
               THEN 1 ELSE 0.01 END AS amount,
    upper(nullif(trim(currency), '')) AS currency,
    _row
FROM raw.subscriptions_now
WHERE status IN ('active', 'trialing', 'past_due')
