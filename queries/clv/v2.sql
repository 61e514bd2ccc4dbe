-- CLV v2: ARPA x gross margin / mean monthly churn fraction of the six
-- months before m (months with S = 0 skipped). Null when that churn is 0.
with churn6 as (
    select
        m.month,
        b.dimension,
        b.segment,
        avg(cast(b.churned_customers / b.start_customers as decimal(38, 18))) as mean_churn
    from months as m
    join mrr_slice_month as b
        on b.month between cast(m.month - interval 6 month as date) and cast(m.month - interval 1 month as date)
    where b.start_customers > 0
    group by all
),
final as (
    select
        b.month,
        b.dimension,
        b.segment,
        cast(b.mrr as double) / nullif(b.active_customers, 0) * p.gross_margin / nullif(churn6.mean_churn, 0) as value
    from mrr_month as b
    cross join params as p
    left join churn6 using (month, dimension, segment)
)
select * from final
