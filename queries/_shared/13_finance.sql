-- The finance section of the report: per acquisition channel and month,
-- marketing spend, new customers and their MRR (a channel with spend and no
-- new customer, or new customers and no spend, is listed too); and paid
-- revenue per invoice kind and month. Report tables, not metrics.
create or replace table channel_month as
with won as (
    select mv.month, coalesce(nullif(trim(c.acquisition_channel), ''), 'unknown') as channel,
        count(*) as new_customers, sum(mv.mrr_cur) as new_mrr
    from mrr_movements as mv
    join customers as c using (customer_id)
    join months using (month)
    where mv.movement = 'new'
    group by all
),
final as (
    select
        coalesce(s.month, w.month) as month,
        coalesce(s.channel, w.channel) as channel,
        s.amount as spend,
        coalesce(w.new_customers, 0) as new_customers,
        coalesce(w.new_mrr, 0) as new_mrr
    from spend_month as s
    full outer join won as w on w.month = s.month and w.channel = s.channel
)
select * from final;

create or replace table revenue_kind_month as
select month, coalesce(nullif(trim(kind), ''), 'unknown') as kind, sum(amount) as revenue
from paid_invoices
group by all;
