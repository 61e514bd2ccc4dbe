-- Customers active twelve months ago: the part of their MRR then that is still there. Both months at m's rates.
select month, dimension, segment, 100.0 * cast(mrr_kept_cc as double) / nullif(cast(mrr_then_cc as double), 0) as value
from retention_12m
