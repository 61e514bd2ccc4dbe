-- The MRR identity, checked on every run for every month and slice:
-- MRR(m) = MRR(m-1) + new + reactivation + expansion - contraction - churn + fx,
-- with MRR(m) and MRR(m-1) taken straight from `customer_month`, so the
-- check is independent of the movement classification. Returns the breaks.
with totals as (
    select s.dimension, s.segment, cm.month, sum(cm.mrr) as mrr
    from customer_month as cm
    join customer_slices as s using (customer_id)
    group by all
),
bridge as (
    select
        b.month,
        b.dimension,
        b.segment,
        coalesce(t_prev.mrr, 0) as mrr_start,
        b.mrr_new + b.mrr_reactivation + b.mrr_expansion - b.mrr_contraction - b.mrr_churn + b.mrr_fx as net_movement,
        coalesce(t_now.mrr, 0) as mrr_end
    from mrr_slice_month as b
    left join totals as t_now
        on t_now.dimension = b.dimension and t_now.segment = b.segment and t_now.month = b.month
    left join totals as t_prev
        on t_prev.dimension = b.dimension and t_prev.segment = b.segment
        and t_prev.month = cast(b.month - interval 1 month as date)
),
final as (
    select
        strftime(month, '%Y-%m') as period,
        dimension,
        segment,
        cast(mrr_start as varchar) as mrr_start,
        cast(net_movement as varchar) as net_movement,
        cast(mrr_end as varchar) as mrr_end
    from bridge
    where mrr_start + net_movement <> mrr_end
    order by month, dimension, segment
)
select * from final;
