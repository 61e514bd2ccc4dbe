-- mrr(c, m) summed over the at-risk customers.
select month, dimension, segment, cast(at_risk_mrr as double) as value
from health_slice_month
