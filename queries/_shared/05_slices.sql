-- Every customer belongs to three slices: the total (all/all), its segment
-- and its region (null or blank = 'unknown'); and, when the customers
-- export has an `owner` column, a fourth: its owner (null or blank =
-- 'unassigned'). A metric grouped by slice is "computed as if the data held
-- only that value's customers".
create or replace table customer_slices as
with final as (
    select customer_id, 'all' as dimension, 'all' as segment from customers
    union all
    select customer_id, 'segment', coalesce(nullif(trim(segment), ''), 'unknown') from customers
    union all
    select customer_id, 'region', coalesce(nullif(trim(region), ''), 'unknown') from customers
    union all
    select customer_id, 'owner', coalesce(nullif(trim(owner), ''), 'unassigned') from customers
    where (select has_owner from params)
)
select * from final;

create or replace table slices as
select distinct dimension, segment from customer_slices
union
select 'all', 'all';

-- Customers with the same segment, region and owner form a cell, and every
-- slice is a union of cells. Additive figures (sums, counts) are aggregated per cell
-- first, then rolled up through `cell_slices`: three times fewer rows to
-- group than joining `customer_slices`. A cell is keyed by one integer, so
-- grouping a table by cell hashes one number, not three strings. Medians and other
-- non-additive figures use `customer_slices`.
create or replace table cells as
with named as (
    select distinct
        coalesce(nullif(trim(segment), ''), 'unknown') as cell_segment,
        coalesce(nullif(trim(region), ''), 'unknown') as cell_region,
        coalesce(nullif(trim(owner), ''), 'unassigned') as cell_owner
    from customers
)
select cast(row_number() over (order by cell_segment, cell_region, cell_owner) as integer) as cell, *
from named;

create or replace table customer_cells as
select c.customer_id, k.*
from customers as c
join cells as k
    on k.cell_segment = coalesce(nullif(trim(c.segment), ''), 'unknown')
    and k.cell_region = coalesce(nullif(trim(c.region), ''), 'unknown')
    and k.cell_owner = coalesce(nullif(trim(c.owner), ''), 'unassigned');

create or replace table cell_slices as
select cell, 'all' as dimension, 'all' as segment from cells
union all
select cell, 'segment', cell_segment from cells
union all
select cell, 'region', cell_region from cells
union all
select cell, 'owner', cell_owner from cells
where (select has_owner from params);

-- Rolls per-cell sums and counts (cell, month, figures...) up to every
-- slice: each figure is summed over the slice's cells.
create or replace macro slice_rollup(per_cell) as table
select s.dimension, s.segment, c.month, sum(columns(c.* exclude (cell, month)))
from query_table(per_cell) as c
join cell_slices as s using (cell)
group by all;

-- Every row of `grid` (month, dimension, segment and any columns to carry)
-- with the figures of `per_cell` rolled up to its slice: 0 where no cell of
-- the slice had any, so a slice without customers still has its months.
create or replace macro slice_grid(grid, per_cell) as table
select g.*, coalesce(columns(a.* exclude (month, dimension, segment)), 0)
from query_table(grid) as g
left join slice_rollup(per_cell) as a using (month, dimension, segment);
