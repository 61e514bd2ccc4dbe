-- Customers active twelve months ago: the part of their MRR then that is still there. Each month at its own rates.
select month, dimension, segment, 100.0 * cast(mrr_kept as double) / nullif(cast(mrr_then as double), 0) as value
from retention_12m
