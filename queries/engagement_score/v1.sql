-- Mean engagement over active customers (those without events count as 0); null with none active.
select month, dimension, segment, engagement_sum / nullif(active_customers, 0) as value
from usage_slice_month
