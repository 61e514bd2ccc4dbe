-- Seed CRR: 100 x (E - N) / S; null when S = 0.
select month, dimension, segment, 100.0 * (active_customers - new_customers - reactivated_customers) / nullif(start_customers, 0) as value
from mrr_month
