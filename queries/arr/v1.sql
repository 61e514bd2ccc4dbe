-- ARR(m) = 12 × MRR(m), multiplied as an exact decimal (as a double,
-- 12 × 66111.1776091667 came out as 793334.1313100001).
select month, dimension, segment, cast(12 * mrr as double) as value
from mrr_month
