-- Seed CLV over W, the 12 months ending with m:
-- APV = paid revenue / paid invoices, PF = paid invoices / paying customers,
-- lifespan = min(L, 1 / (12 x mean monthly churn over the months of W with S > 0)) years,
-- L when there is no churn. Null when nothing was paid in W.
with coverage as (
    -- A paid month p puts its customer in W(m) for m from p to p + 11. Each
    -- paid month counts up to the customer's next one (or 12 months), so a
    -- customer's ranges never overlap: +1 where a range starts, -1 where it ends.
    select
        customer_id,
        month as from_month,
        least(
            cast(month + interval 12 month as date),
            lead(month) over (partition by customer_id order by month)
        ) as to_month
    from paid_customer_month
),
changes as (
    select s.dimension, s.segment, c.month, sum(c.change) as change
    from (
        select customer_id, from_month as month, 1 as change from coverage
        union all
        select customer_id, to_month as month, -1 as change from coverage
    ) as c
    join customer_slices as s using (customer_id)
    group by all
),
paying as (
    -- Customers with a paid invoice in W(m): the running sum of the changes.
    select m.month, c.dimension, c.segment, sum(c.change) as customers
    from months as m
    join changes as c on c.month <= m.month
    group by all
),
paid as (
    select m.month, p.dimension, p.segment, sum(p.revenue) as revenue, sum(p.invoices) as invoices
    from months as m
    join paid_slice_month as p on p.month between cast(m.month - interval 11 month as date) and m.month
    group by all
),
churn as (
    select
        m.month,
        b.dimension,
        b.segment,
        avg(cast(b.churned_customers / b.start_customers as decimal(38, 18))) as mean_churn
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
            * (paid.invoices / paying.customers)
            * case
                when coalesce(churn.mean_churn, 0) = 0 then p.clv_max_lifespan_years
                else least(p.clv_max_lifespan_years, 1 / (12 * churn.mean_churn))
            end as value
    from mrr_month as b
    cross join params as p
    left join paid using (month, dimension, segment)
    left join paying using (month, dimension, segment)
    left join churn using (month, dimension, segment)
)
select * from final
