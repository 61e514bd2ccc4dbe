-- One row per customer and month in which it was active in m or m-1, with
-- mrr(c, m-1), mrr(c, m) and the movement of the contract:
-- new, reactivation, expansion, contraction, churn (or unchanged).
-- Expansion and contraction compare mrr(c, m) with m-1's amounts at m's
-- rates (`mrr_prev_cc`, constant currency); the difference of the two
-- valuations of m-1 is the exchange-rate impact (`mrr_prev_cc - mrr_prev`).
-- With one currency the two are equal and nothing changes.
create or replace table mrr_movements as
with cur as (
    select customer_id, month, mrr from customer_month
),
prev as (
    select customer_id, cast(month + interval 1 month as date) as month, mrr, mrr_at_next from customer_month
),
first_active as (
    select customer_id, min(month) as first_active_month from customer_month group by all
),
paired as (
    select
        coalesce(cur.customer_id, prev.customer_id) as customer_id,
        coalesce(cur.month, prev.month) as month,
        coalesce(prev.mrr, 0) as mrr_prev,
        coalesce(prev.mrr_at_next, 0) as mrr_prev_cc,
        coalesce(cur.mrr, 0) as mrr_cur
    from cur
    full outer join prev on prev.customer_id = cur.customer_id and prev.month = cur.month
),
final as (
    select
        paired.customer_id,
        paired.month,
        paired.mrr_prev,
        paired.mrr_prev_cc,
        paired.mrr_cur,
        case
            when paired.mrr_prev = 0 and paired.month = first_active.first_active_month then 'new'
            when paired.mrr_prev = 0 then 'reactivation'
            when paired.mrr_cur = 0 then 'churn'
            when paired.mrr_cur > paired.mrr_prev_cc then 'expansion'
            when paired.mrr_cur < paired.mrr_prev_cc then 'contraction'
            else 'unchanged'
        end as movement
    from paired
    join first_active using (customer_id)
    where paired.month <= (select report_month from params)
)
select * from final;
