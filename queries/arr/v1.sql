-- ARR(m) = 12 × MRR(m).
select month, dimension, segment, 12 * cast(mrr as double) as value
from mrr_month
