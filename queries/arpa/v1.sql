-- MRR(m) / E(m); null when no customer is active.
select month, dimension, segment, cast(mrr as double) / nullif(active_customers, 0) as value
from mrr_month
