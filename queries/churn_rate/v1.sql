-- Logo churn: 100 x churned / S; null when S = 0.
select month, dimension, segment, 100.0 * churned_customers / nullif(start_customers, 0) as value
from mrr_month
