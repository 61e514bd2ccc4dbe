-- Sum of mrr(c,m) - mrr(c,m-1) over expanding customers.
select month, dimension, segment, cast(mrr_expansion as double) as value
from mrr_month
