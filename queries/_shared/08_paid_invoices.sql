-- Paid invoices in the reporting currency (rate of the invoice's month), and
-- marketing spend per channel and month, converted the same way.
create or replace table paid_invoices as
with final as (
    select
        i.invoice_id,
        i.customer_id,
        cast(date_trunc('month', i.invoice_date) as date) as month,
        i.kind,
        cast(
            cast(i.amount as double)
            * (case when coalesce(i.currency, p.currency) = p.currency then 1.0 else fx.rate end)
            as decimal(38, 12)
        ) as amount
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
        sum(cast(
            cast(s.amount as double)
            * (case when coalesce(s.currency, p.currency) = p.currency then 1.0 else fx.rate end)
            as decimal(38, 12)
        )) as amount
    from marketing_spend as s
    cross join params as p
    left join fx_month as fx
        on fx.currency = s.currency and fx.month = cast(date_trunc('month', s.month) as date)
    group by all
)
select * from final;
