-- Sum of mrr(c, m) over new customers.
select month, dimension, segment, cast(mrr_new as double) as value
from mrr_period
