-- NRR at constant currency. A month: (MRR(m-1) + expansion - contraction -
-- churn) / MRR(m-1), movements at m's rates (the exchange-rate impact is
-- mrr_fx). A quarter or year: what the customers of m0 pay in mk over what
-- they paid in m0, both at mk's rates.
select month, dimension, segment, 100.0 * cast(nrr_kept as double) / nullif(cast(nrr_base as double), 0) as value
from mrr_period
