-- Sum of mrr(c, m) over reactivated customers.
select month, dimension, segment, cast(mrr_reactivation as double) as value
from mrr_period
