-- Count of reactivation movements.
select month, dimension, segment, reactivated_customers as value
from mrr_period
