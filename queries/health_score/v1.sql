-- Mean health over active customers with a score.
select month, dimension, segment, health_score as value
from health_slice_month
