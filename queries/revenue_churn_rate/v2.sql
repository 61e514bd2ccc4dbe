-- Gross revenue churn, 100 - GRR: for a month 100 x (contraction + churn) /
-- MRR(m-1); new business cannot hide losses.
select month, dimension, segment, 100.0 * cast(nrr_base - grr_kept as double) / nullif(cast(nrr_base as double), 0) as value
from mrr_period
