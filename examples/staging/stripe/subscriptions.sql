-- Stripe billing history -> the contract's `subscriptions`: one row per
-- subscription item and run of unchanged billed amount, read from the
-- invoice line items (raw `stripe_invoice_line_items`) of the invoices
-- that were sent (raw `stripe_invoices`), with the subscriptions' state
-- today (raw `stripe_subscriptions`). The rules are in README.md.
WITH
invoice AS (
    SELECT id, customer
    FROM raw.stripe_invoices
    -- Drafts were never sent and voided invoices were taken back; open,
    -- paid and uncollectible ones billed service that was given.
    WHERE lower(trim(status)) IN ('open', 'paid', 'uncollectible')
),
-- Stripe writes instants as unix seconds (API, Data Pipeline) or as ISO
-- text (Sigma, dashboard exports): both are read, as UTC.
line AS (
    SELECT
        l._row,
        i.customer,
        l.subscription,
        coalesce(nullif(trim(l.subscription_item_id), ''), l.subscription || '/' || coalesce(l.price_id, '')) AS item,
        instant(l.period_start) AS starts,
        instant(l.period_end) AS ends,
        TRY_CAST(l.amount AS BIGINT) AS gross,
        coalesce(TRY_CAST(nullif(trim(CAST(l.discount_amount AS VARCHAR)), '') AS BIGINT), 0) AS discount,
        truthy(l.proration) AS proration,
        TRY_CAST(l.quantity AS BIGINT) AS quantity,
        TRY_CAST(l.price_unit_amount AS BIGINT) AS unit_amount,
        coalesce(nullif(trim(l.price_nickname), ''), l.price_id) AS plan,
        -- The contract knows month, quarter and year; anything else stays
        -- empty and the run refuses it, naming the raw line.
        CASE
            WHEN l.price_recurring_interval = 'month' AND CAST(l.price_recurring_interval_count AS VARCHAR) = '1' THEN 'month'
            WHEN l.price_recurring_interval = 'month' AND CAST(l.price_recurring_interval_count AS VARCHAR) = '3' THEN 'quarter'
            WHEN l.price_recurring_interval = 'year' AND CAST(l.price_recurring_interval_count AS VARCHAR) = '1' THEN 'year'
        END AS billing_period,
        lower(trim(l.currency)) AS currency
    FROM raw.stripe_invoice_line_items AS l
    JOIN invoice AS i ON i.id = l.invoice_id
    WHERE nullif(trim(l.subscription), '') IS NOT NULL
),
dated AS (
    SELECT *, CAST(starts AS DATE) AS ps, CAST(ends AS DATE) AS pe FROM line
),
subscription AS (
    SELECT
        id,
        lower(trim(status)) AS status,
        truthy(cancel_at_period_end) AS at_period_end,
        CAST(instant(trial_end) AS DATE) AS trial_end,
        CAST(instant(cancel_at) AS DATE) AS cancel_at,
        CAST(instant(current_period_end) AS DATE) AS current_period_end
    FROM raw.stripe_subscriptions
),
-- A service period: a line that is not a proration, billed for a period
-- of at least a day. Its amount is net of discounts, never below zero.
regular AS (
    SELECT *, greatest(gross - discount, 0) AS net
    FROM dated
    WHERE NOT proration AND pe > ps
),
-- A change inside a period: the prorations of one item starting on one
-- day. What the item bills from then on is what the positive proration
-- lines ("remaining time on ...") price in full: unit amount x quantity.
change AS (
    SELECT
        item,
        any_value(subscription) AS subscription,
        any_value(customer) AS customer,
        ps AS d,
        max(pe) AS until,
        sum(CASE WHEN gross > 0 THEN unit_amount * quantity END) AS new_gross,
        -- Without a unit amount (tiered prices): the positive prorations.
        sum(CASE WHEN gross > 0 THEN gross END) AS prorated,
        arg_max(plan, gross) AS plan,
        arg_max(billing_period, gross) AS billing_period,
        any_value(currency) AS currency,
        -- The seconds the prorations cover, for the scaling below.
        max(epoch(ends) - epoch(starts)) AS prorated_seconds,
        min(_row) AS _row
    FROM dated
    WHERE proration AND pe > ps
    GROUP BY item, ps
),
-- The subscription's discount on the day of a change: the share of the
-- gross amount its service periods covering that day were billed. A
-- percentage coupon keeps applying to the changed amount; a day still in
-- the trial bills nothing. A price with no unit amount (tiered) is priced
-- by scaling its positive prorations to the whole period (approximate, to
-- the cent Stripe rounded them to); no positive proration is a removal.
change_priced AS (
    SELECT
        c.* EXCLUDE (new_gross, prorated, prorated_seconds),
        coalesce(
            c.new_gross,
            CAST(round(c.prorated * (SELECT max(epoch(r.ends) - epoch(r.starts)) FROM regular AS r
                                     WHERE r.item = c.item AND r.ps <= c.d AND c.d < r.pe)
                       / nullif(c.prorated_seconds, 0)) AS BIGINT),
            0
        ) AS new_gross,
        CASE
            WHEN s.trial_end IS NOT NULL AND c.d < s.trial_end THEN 0
            ELSE coalesce(
                (SELECT sum(r.net) / nullif(sum(r.gross), 0) FROM regular AS r
                 WHERE r.subscription = c.subscription AND r.ps <= c.d AND c.d < r.pe),
                1)
        END AS kept
    FROM change AS c
    LEFT JOIN subscription AS s ON s.id = c.subscription
),
-- What sets an item's amount from day `t` until `until`: a service period
-- (it wins over a change starting the same day) or a change.
setting AS (
    SELECT item, subscription, customer, ps AS t, pe AS until, 1 AS rank, net AS amount, plan, billing_period, currency, _row
    FROM regular
    UNION ALL
    SELECT item, subscription, customer, d, until, 0, CAST(round(new_gross * kept) AS BIGINT), plan, billing_period, currency, _row
    FROM change_priced
),
bound AS (
    SELECT item, t AS b FROM setting
    UNION
    SELECT item, until FROM setting
),
piece AS (
    SELECT item, b AS s, lead(b) OVER (PARTITION BY item ORDER BY b) AS e FROM bound
),
-- Each piece of an item's time takes the latest setting in force on its
-- first day; a piece nothing covers is a gap in service.
state AS (
    SELECT p.item, p.s, p.e, x.subscription, x.customer, x.amount, x.plan, x.billing_period, x.currency, x._row
    FROM piece AS p
    JOIN setting AS x ON x.item = p.item AND x.t <= p.s AND x.until > p.s
    WHERE p.e IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY p.item, p.s ORDER BY x.t DESC, x.rank DESC) = 1
),
-- Trial days and fully discounted days bill nothing: not paying.
paying AS (
    SELECT *,
        lag(e) OVER w AS prev_e, lag(amount) OVER w AS prev_amount,
        lag(billing_period) OVER w AS prev_period, lag(currency) OVER w AS prev_currency
    FROM state
    WHERE amount > 0
    WINDOW w AS (PARTITION BY item ORDER BY s)
),
numbered AS (
    SELECT *,
        sum(CASE WHEN prev_e = s AND prev_amount = amount AND prev_period IS NOT DISTINCT FROM billing_period
                      AND prev_currency IS NOT DISTINCT FROM currency THEN 0 ELSE 1 END)
            OVER (PARTITION BY item ORDER BY s) AS run
    FROM paying
),
run AS (
    SELECT
        item, run,
        any_value(subscription) AS subscription,
        arg_min(customer, s) AS customer,
        arg_max(plan, s) AS plan,
        min(s) AS start_date,
        max(e) AS end_date,
        any_value(billing_period) AS billing_period,
        any_value(amount) AS amount,
        any_value(currency) AS currency,
        min(_row) AS _row
    FROM numbered
    GROUP BY item, run
),
-- An item billed in the subscription's latest period is current; one
-- that stopped being billed earlier was removed.
placed AS (
    SELECT r.*,
        r.end_date = max(r.end_date) OVER (PARTITION BY r.item) AS last_run,
        max(r.end_date) OVER (PARTITION BY r.item) = max(r.end_date) OVER (PARTITION BY r.subscription) AS current_item
    FROM run AS r
)
SELECT
    p.item || '@' || strftime(p.start_date, '%Y-%m-%d') AS subscription_id,
    p.customer AS customer_id,
    p.plan,
    p.start_date,
    CASE
        WHEN NOT (p.last_run AND p.current_item) THEN p.end_date
        -- Set to cancel: service ends with the period (or on the date) set.
        WHEN s.at_period_end OR s.cancel_at IS NOT NULL
            THEN greatest(coalesce(s.cancel_at, s.current_period_end, p.end_date), p.start_date + 1)
        -- Still running: the next invoice continues it.
        WHEN s.status IN ('active', 'past_due', 'unpaid', 'trialing') THEN NULL
        -- Ended (or not in the subscriptions export): its last period's end.
        ELSE p.end_date
    END AS end_date,
    p.billing_period,
    p.amount * CASE WHEN p.currency IN ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf')
                    THEN 1 ELSE 0.01 END AS amount,
    upper(nullif(p.currency, '')) AS currency,
    p._row
FROM placed AS p
LEFT JOIN subscription AS s ON s.id = p.subscription
