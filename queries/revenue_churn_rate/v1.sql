-- Seed revenue churn: 100 x (MRR(m-1) - MRR(m)) / MRR(m-1). Net of growth, so new business can hide losses.
select month, dimension, segment, 100.0 * cast(mrr_prev - mrr as double) / nullif(cast(mrr_prev as double), 0) as value
from mrr_period
