-- Count of churn movements.
select month, dimension, segment, churned_customers as value
from mrr_period
