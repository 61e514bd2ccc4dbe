-- Stripe subscriptions (raw export `stripe_subscriptions`, one row per
-- subscription: Sigma's `subscriptions` joined to its price, or the API's
-- list flattened) -> the contract's `subscriptions`, each at today's price
-- for its whole life. See README.md; the `stripe` recipe reads the billing
-- history instead.
-- note: price history is approximated: the `stripe_snapshot` recipe gives
--   every subscription today's price and quantity for its whole life, so
--   past months' MRR, expansion, contraction and the cohorts are not the
--   amounts that were billed. Use the `stripe` recipe (invoice line items)
--   for true history.
SELECT
    id AS subscription_id,
    customer AS customer_id,
    plan_nickname AS plan,
    -- Paying starts when the trial ends; a subscription without a trial
    -- pays from its start.
    CAST(TRY_CAST(coalesce(nullif(trial_end, ''), start_date) AS TIMESTAMP) AS DATE) AS start_date,
    -- Ended, or set to end (cancel at period end): the first day it no
    -- longer runs.
    CAST(TRY_CAST(coalesce(nullif(ended_at, ''), nullif(cancel_at, '')) AS TIMESTAMP) AS DATE) AS end_date,
    -- Anything else (weekly, every two months...) stays empty and is
    -- reported with its raw line: the contract knows month, quarter, year.
    CASE
        WHEN plan_interval = 'month' AND plan_interval_count = '1' THEN 'month'
        WHEN plan_interval = 'month' AND plan_interval_count = '3' THEN 'quarter'
        WHEN plan_interval = 'year' AND plan_interval_count = '1' THEN 'year'
    END AS billing_period,
    -- Stripe amounts are in the currency's smallest unit: cents, except for
    -- zero-decimal currencies. The price is per unit (seat).
    TRY_CAST(plan_amount AS BIGINT) * TRY_CAST(quantity AS BIGINT)
        * CASE WHEN lower(currency) IN ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf')
               THEN 1 ELSE 0.01 END AS amount,
    upper(nullif(trim(currency), '')) AS currency,
    _row
FROM raw.stripe_subscriptions
-- Never paid: the first payment failed and the subscription expired.
WHERE status NOT IN ('incomplete', 'incomplete_expired')
