-- The report periods' own figures (METRICS.md, "Quarters and years"), the
-- tables most metrics read. A period P has months m1..mk and m0 before it.
-- For a monthly report every period is one month and each table holds
-- exactly the monthly figures; the customer-level work below only runs for
-- periods of more than one month.

-- The MRR bridge of P per slice: MRR and E at the end of P (mk) and before
-- it (m0), every movement summed over P's months, the account-months
-- Σ E(m) (ARPU's denominator), and the retention figures over P:
--   kept_customers = E(mk) - N, N = customers new or reactivated in a month
--                    of P and active in mk;
--   lost_customers = customers of A (active in m0) not active in mk;
--   nrr_base / nrr_kept / grr_kept = Σ_A mrr(c, m0), Σ_A mrr(c, mk) and
--                    Σ_A min(mrr(c, mk), mrr(c, m0)), m0 at mk's rates
--                    (`*_v1`: m0 at its own rates).
-- For a month these are the monthly formulas' own terms: E - new -
-- reactivated, churned, MRR(m-1), MRR(m-1) + expansion - contraction -
-- churn and MRR(m-1) - contraction - churn.
create or replace table mrr_period as
with sums as (
    select
        p.month,
        b.dimension,
        b.segment,
        sum(b.new_customers) as new_customers,
        sum(b.reactivated_customers) as reactivated_customers,
        sum(b.churned_customers) as churned_customers,
        sum(b.mrr_new) as mrr_new,
        sum(b.mrr_reactivation) as mrr_reactivation,
        sum(b.mrr_expansion) as mrr_expansion,
        sum(b.mrr_contraction) as mrr_contraction,
        sum(b.mrr_churn) as mrr_churn,
        sum(b.mrr_fx) as mrr_fx,
        sum(b.mrr_expansion_v1) as mrr_expansion_v1,
        sum(b.mrr_contraction_v1) as mrr_contraction_v1,
        sum(b.active_customers) as account_months
    from periods as p
    join mrr_slice_month as b on b.month between p.first_month and p.last_month
    group by all
),
edges as (
    -- mrr_prev and start_customers of m1 are MRR(m0) and E(m0).
    select
        p.month,
        p.month_end,
        p.n_months,
        s.dimension,
        s.segment,
        e.mrr,
        s.mrr_prev,
        e.active_customers,
        s.start_customers
    from periods as p
    join mrr_slice_month as s on s.month = p.first_month
    join mrr_slice_month as e on e.month = p.last_month and e.dimension = s.dimension and e.segment = s.segment
),
start_at_end_rates as (
    -- mrr(c, m0) of A at mk's rates (m0's rate where mk has none).
    select
        p.month,
        s.customer_id,
        sum(case
            when s.currency = pr.currency then cast(s.local_mrr as decimal(38, 22))
            else s.local_mrr * coalesce(fe.rate, fs.rate)
        end) as mrr_start_cc
    from periods as p
    cross join params as pr
    join priced_subscriptions as s on p.m0 between s.first_month and s.last_month
    left join fx_month as fs on fs.currency = s.currency and fs.month = p.m0
    left join fx_month as fe on fe.currency = s.currency and fe.month = p.last_month
    where p.n_months > 1
    group by all
),
a_set as (
    select p.month, s.customer_id, s.mrr as mrr_start, c.mrr_start_cc, coalesce(e.mrr, 0) as mrr_end
    from periods as p
    join customer_month as s on s.month = p.m0
    join start_at_end_rates as c on c.month = p.month and c.customer_id = s.customer_id
    left join customer_month as e on e.customer_id = s.customer_id and e.month = p.last_month
    where p.n_months > 1
),
joined as (
    -- N: new or reactivated in some month of P, and active in mk.
    select distinct p.month, mv.customer_id
    from periods as p
    join mrr_movements as mv on mv.month between p.first_month and p.last_month
    join customer_month as e on e.customer_id = mv.customer_id and e.month = p.last_month
    where p.n_months > 1 and mv.movement in ('new', 'reactivation')
),
retention_cell as (
    select
        c.cell,
        a.month,
        count(*) filter (where a.mrr_end = 0) as lost_customers,
        sum(a.mrr_start) as a_start,
        sum(a.mrr_start_cc) as a_start_cc,
        sum(a.mrr_end) as a_end,
        sum(least(a.mrr_end, a.mrr_start)) as a_kept,
        sum(least(a.mrr_end, a.mrr_start_cc)) as a_kept_cc,
        0 as joined_customers
    from a_set as a
    join customer_cells as c using (customer_id)
    group by all
    union all
    select c.cell, j.month, 0, 0, 0, 0, 0, 0, count(*)
    from joined as j
    join customer_cells as c using (customer_id)
    group by all
),
retention as (
    select * from slice_rollup(retention_cell)
),
final as (
    select
        e.month,
        e.month_end,
        e.dimension,
        e.segment,
        e.mrr,
        e.mrr_prev,
        e.active_customers,
        e.start_customers,
        s.new_customers,
        s.reactivated_customers,
        s.churned_customers,
        s.mrr_new,
        s.mrr_reactivation,
        s.mrr_expansion,
        s.mrr_contraction,
        s.mrr_churn,
        s.mrr_fx,
        s.mrr_expansion_v1,
        s.mrr_contraction_v1,
        s.account_months,
        case when e.n_months = 1 then e.active_customers - s.new_customers - s.reactivated_customers
            else e.active_customers - coalesce(r.joined_customers, 0) end as kept_customers,
        case when e.n_months = 1 then s.churned_customers else coalesce(r.lost_customers, 0) end as lost_customers,
        case when e.n_months = 1 then e.mrr_prev else coalesce(r.a_start_cc, 0) end as nrr_base,
        case when e.n_months = 1 then e.mrr_prev + s.mrr_expansion - s.mrr_contraction - s.mrr_churn
            else coalesce(r.a_end, 0) end as nrr_kept,
        case when e.n_months = 1 then e.mrr_prev - s.mrr_contraction - s.mrr_churn
            else coalesce(r.a_kept_cc, 0) end as grr_kept,
        case when e.n_months = 1 then e.mrr_prev else coalesce(r.a_start, 0) end as nrr_base_v1,
        case when e.n_months = 1 then e.mrr_prev + s.mrr_expansion_v1 - s.mrr_contraction_v1 - s.mrr_churn
            else coalesce(r.a_end, 0) end as nrr_kept_v1,
        case when e.n_months = 1 then e.mrr_prev - s.mrr_contraction_v1 - s.mrr_churn
            else coalesce(r.a_kept, 0) end as grr_kept_v1
    from edges as e
    join sums as s using (month, dimension, segment)
    left join retention as r using (month, dimension, segment)
)
select * from final;

-- Answers, tickets, paid revenue and spend summed over each period's months:
-- every ratio over them is the ratio over all of P's rows. The median
-- resolution time is the one figure that does not add up: for periods of
-- more than one month it is taken over the tickets themselves.
create or replace table survey_slice_period as
select p.month, s.dimension, s.segment, sum(columns(s.* exclude (month, dimension, segment)))
from periods as p
join survey_slice_month as s on s.month between p.first_month and p.last_month
group by all;

create or replace table ticket_slice_period as
with sums as (
    select p.month, p.n_months, t.dimension, t.segment, sum(t.tickets) as tickets, sum(t.first_contact) as first_contact,
        any_value(t.median_hours) as month_median_hours
    from periods as p
    join ticket_slice_month as t on t.month between p.first_month and p.last_month
    group by all
),
medians as (
    select s.dimension, s.segment, p.month,
        median(epoch(t.resolved_at - t.created_at) / 3600.0) filter (where t.resolved_at is not null) as median_hours
    from periods as p
    join tickets as t on t.created_at >= cast(p.month as timestamp) and t.created_at < cast(p.month_end + 1 as timestamp)
    join customer_slices as s using (customer_id)
    where p.n_months > 1
    group by all
),
final as (
    select
        s.month,
        s.dimension,
        s.segment,
        m.account_months,
        s.tickets,
        s.first_contact,
        case when s.n_months = 1 then s.month_median_hours else medians.median_hours end as median_hours
    from sums as s
    join mrr_period as m using (month, dimension, segment)
    left join medians using (month, dimension, segment)
)
select * from final;

create or replace table paid_slice_period as
select p.month, s.dimension, s.segment, sum(s.revenue) as revenue, sum(s.expansion_revenue) as expansion_revenue
from periods as p
join paid_slice_month as s on s.month between p.first_month and p.last_month
group by all;

create or replace table spend_period as
select p.month, s.channel, sum(s.amount) as amount
from periods as p
join spend_month as s on s.month between p.first_month and p.last_month
group by all;

-- New customers of each period (their first active month in P), with the
-- cell they roll up through: the base of CAC, referral and activation.
create or replace table new_customer_period as
select p.month, p.month_end, mv.customer_id, mv.mrr_cur as mrr
from periods as p
join mrr_movements as mv on mv.month between p.first_month and p.last_month
where mv.movement = 'new';
