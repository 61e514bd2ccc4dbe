-- NRR as before the exchange-rate rule: each month at its own rates.
select month, dimension, segment, 100.0 * cast(nrr_kept_v1 as double) / nullif(cast(nrr_base_v1 as double), 0) as value
from mrr_period
