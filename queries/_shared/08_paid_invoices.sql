-- Paid invoices in the reporting currency (rate of the invoice's month), and
-- marketing spend per channel and month, converted the same way.
create or replace table paid_invoices as
with final as (
    select
        i.invoice_id,
        i.customer_id,
        cast(date_trunc('month', i.invoice_date) as date) as month,
        i.kind,
        case
            when coalesce(i.currency, p.currency) = p.currency then cast(i.amount as decimal(38, 16))
            else cast(i.amount as decimal(38, 6)) * fx.rate
        end as amount
    from invoices as i
    cross join params as p
    left join fx_month as fx
        on fx.currency = i.currency and fx.month = cast(date_trunc('month', i.invoice_date) as date)
    where i.status = 'paid'
)
select * from final;

create or replace table spend_month as
with final as (
    select
        s.channel,
        cast(date_trunc('month', s.month) as date) as month,
        sum(case
            when coalesce(s.currency, p.currency) = p.currency then cast(s.amount as decimal(38, 16))
            else cast(s.amount as decimal(38, 6)) * fx.rate
        end) as amount
    from marketing_spend as s
    cross join params as p
    left join fx_month as fx
        on fx.currency = s.currency and fx.month = cast(date_trunc('month', s.month) as date)
    group by all
)
select * from final;

-- Paid revenue per customer and month (expansion = upsell and cross-sell
-- invoices), and the same per slice: the source of revenue, upsell and CLV.
create or replace table paid_customer_month as
select
    customer_id,
    month,
    sum(amount) as revenue,
    sum(amount) filter (where kind in ('upsell', 'cross_sell')) as expansion_revenue,
    count(*) as invoices
from paid_invoices
group by all;

create or replace table paid_slice_month as
with per_cell as (
    select
        c.cell,
        p.month,
        sum(p.revenue) as revenue,
        sum(p.expansion_revenue) as expansion_revenue,
        sum(p.invoices) as invoices
    from paid_customer_month as p
    join customer_cells as c using (customer_id)
    group by all
),
final as (
    select * from slice_rollup(per_cell)
)
select * from final;
