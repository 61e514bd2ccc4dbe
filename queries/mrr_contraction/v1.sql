-- Sum of mrr(c,m-1) - mrr(c,m) over contracting customers.
select month, dimension, segment, cast(mrr_contraction as double) as value
from mrr_month
