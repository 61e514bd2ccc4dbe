-- E(m).
select month, dimension, segment, active_customers as value
from mrr_month
