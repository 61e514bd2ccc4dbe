-- Seed CLV over W, the 12 months ending with m:
-- APV = paid revenue / paid invoices, PF = paid invoices / paying customers,
-- lifespan = min(L, 1 / (12 x mean monthly churn over the months of W with S > 0)) years,
-- L when there is no churn. Null when nothing was paid in W.
with paid_customer_month as (
    select customer_id, month, sum(amount) as revenue, count(*) as invoices
    from paid_invoices
    group by all
),
paid_in_window as (
    -- One row per month m and customer with a paid invoice in W(m).
    select m.month, p.customer_id, sum(p.revenue) as revenue, sum(p.invoices) as invoices
    from months as m
    join paid_customer_month as p on p.month between cast(m.month - interval 11 month as date) and m.month
    group by all
),
paid as (
    select
        w.month,
        s.dimension,
        s.segment,
        sum(w.revenue) as revenue,
        sum(w.invoices) as invoices,
        count(*) as customers
    from paid_in_window as w
    join customer_slices as s using (customer_id)
    group by all
),
churn as (
    select
        m.month,
        b.dimension,
        b.segment,
        avg(b.churned_customers / b.start_customers) as mean_churn
    from months as m
    join mrr_slice_month as b on b.month between cast(m.month - interval 11 month as date) and m.month
    where b.start_customers > 0
    group by all
),
final as (
    select
        b.month,
        b.dimension,
        b.segment,
        (cast(paid.revenue as double) / paid.invoices)
            * (paid.invoices / paid.customers)
            * case
                when coalesce(churn.mean_churn, 0) = 0 then p.clv_max_lifespan_years
                else least(p.clv_max_lifespan_years, 1 / (12 * churn.mean_churn))
            end as value
    from mrr_month as b
    cross join params as p
    left join paid using (month, dimension, segment)
    left join churn using (month, dimension, segment)
)
select * from final
