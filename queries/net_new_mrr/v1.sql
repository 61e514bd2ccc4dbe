-- MRR(m) - MRR(m-1).
select month, dimension, segment, cast(mrr - mrr_prev as double) as value
from mrr_period
