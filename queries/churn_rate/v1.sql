-- Logo churn: 100 x churned / S; null when S = 0. Over a quarter or year:
-- the customers of m0 not active in mk, over E(m0).
select month, dimension, segment, 100.0 * lost_customers / nullif(start_customers, 0) as value
from mrr_period
