-- Product usage of active customers per month, from the per-customer
-- aggregates of 00_usage_events.sql: active days, features, users, seconds,
-- and the engagement score
-- 100 × (w_days × min(1, d / target_days) + w_features × min(1, f / target_features)),
-- 0 for an active customer with no events. It carries the MRR too, so
-- customer health takes both from this one table.
create or replace table usage_customer_month as
with final as (
    select
        cm.customer_id,
        cm.month,
        cm.mrr,
        coalesce(a.active_days, 0) as active_days,
        coalesce(a.features, 0) as features,
        coalesce(a.users, 0) as users,
        coalesce(a.duration_seconds, 0) as duration_seconds,
        100 * (
            p.weight_days * least(1, coalesce(a.active_days, 0) / p.target_active_days)
            + p.weight_features * least(1, coalesce(a.features, 0) / p.target_features)
        ) as engagement
    from customer_month as cm
    join months using (month)
    cross join params as p
    left join usage_activity as a using (customer_id, month)
)
select * from final;

-- Active customers per month and feature they used (feature adoption): only
-- the window's active customer-months unnest their feature lists.
create or replace table usage_feature_month as
with lists as (
    select
        customer_id,
        make_date((month_key - (month_key % 12 + 12) % 12) // 12, (month_key % 12 + 12) % 12 + 1, 1) as month,
        feature_days
    from usage_events_month
),
used as (
    select l.month, unnest(list_transform(l.feature_days, x -> x.feature)) as feature
    from lists as l
    semi join usage_customer_month as u using (customer_id, month)
),
final as (
    select month, feature, count(*) as customers
    from used
    group by all
)
select * from final;
drop table usage_events_month;

-- first_paid(c): earliest start of a priced subscription; first_value(c):
-- earliest event date on or after it whose feature is a value event. From
-- each month's mask of value-event days, the days before first_paid are
-- cleared; the lowest day left, in the earliest month, is first_value.
create or replace table customer_first_value as
with first_paid as (
    select customer_id, min(start_date) as first_paid
    from subscriptions
    where amount > 0
    group by all
),
value_days as (
    select
        a.customer_id,
        a.month,
        case
            when a.month = cast(date_trunc('month', f.first_paid) as date)
                then a.value_day_mask & ~((cast(1 as bigint) << (dayofmonth(f.first_paid) - 1)) - 1)
            else a.value_day_mask
        end as mask
    from usage_activity as a
    join first_paid as f using (customer_id)
    where a.month >= cast(date_trunc('month', f.first_paid) as date)
),
first_value as (
    -- bit_count((mask & -mask) - 1) is the index of the lowest set bit.
    select customer_id, min(cast(month + to_days(bit_count((mask & -mask) - 1)) as date)) as first_value
    from value_days
    where mask <> 0
    group by all
),
final as (
    select f.customer_id, f.first_paid, v.first_value
    from first_paid as f
    left join first_value as v using (customer_id)
)
select * from final;

-- Usage per slice and month, the source of the usage metrics.
create or replace table usage_slice_month as
with per_cell as (
    select
        c.cell,
        u.month,
        count(*) filter (where u.active_days > 0) as adopters,
        sum(u.users) as users,
        sum(u.duration_seconds) as duration_seconds,
        sum(cast(u.engagement as decimal(38, 12))) as engagement_sum
    from usage_customer_month as u
    join customer_cells as c using (customer_id)
    group by all
),
grid as (
    select month, dimension, segment, active_customers from mrr_month
),
final as (
    select * from slice_grid(grid, per_cell)
)
select * from final;
