-- Customers active twelve months ago: what their MRR is now against then. Both months at m's rates.
select month, dimension, segment, 100.0 * cast(mrr_now as double) / nullif(cast(mrr_then_cc as double), 0) as value
from retention_12m
