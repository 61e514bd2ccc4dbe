-- Seed CRR: 100 x (E - N) / S; null when S = 0. Over a quarter or year:
-- 100 x (E(mk) - N) / E(m0), N = new or reactivated in P and active in mk.
select month, dimension, segment, 100.0 * kept_customers / nullif(start_customers, 0) as value
from mrr_period
