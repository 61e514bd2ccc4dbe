-- Count of new movements.
select month, dimension, segment, new_customers as value
from mrr_period
