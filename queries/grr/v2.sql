-- GRR at constant currency. A month: (MRR(m-1) - contraction - churn) /
-- MRR(m-1), movements at m's rates. A quarter or year: Σ min(mrr(c, mk),
-- mrr(c, m0)) over the customers of m0, over what they paid in m0, both
-- at mk's rates.
select month, dimension, segment, 100.0 * cast(grr_kept as double) / nullif(cast(nrr_base as double), 0) as value
from mrr_period
