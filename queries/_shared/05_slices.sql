-- Every customer belongs to three slices: the total (all/all), its segment
-- and its region (null or blank = 'unknown'). A metric grouped by slice is
-- "computed as if the data held only that value's customers".
create or replace table customer_slices as
with final as (
    select customer_id, 'all' as dimension, 'all' as segment from customers
    union all
    select customer_id, 'segment', coalesce(nullif(trim(segment), ''), 'unknown') from customers
    union all
    select customer_id, 'region', coalesce(nullif(trim(region), ''), 'unknown') from customers
)
select * from final;

create or replace table slices as
select distinct dimension, segment from customer_slices
union
select 'all', 'all';
