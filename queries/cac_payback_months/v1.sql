-- Months of a new customer's gross-margin MRR needed to earn back its CAC
-- (new MRR and new customers summed over the period).
with cac as (
    select month, value as cac from metric_values where metric = 'cac' and dimension = 'all'
),
final as (
    select
        b.month,
        'all' as dimension,
        'all' as segment,
        cac.cac / nullif(cast(b.mrr_new as double) / nullif(b.new_customers, 0) * p.gross_margin, 0) as value
    from mrr_period as b
    cross join params as p
    join cac using (month)
    where b.dimension = 'all'
)
select * from final
