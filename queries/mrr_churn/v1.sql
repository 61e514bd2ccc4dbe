-- Sum of mrr(c, m-1) over churned customers.
select month, dimension, segment, cast(mrr_churn as double) as value
from mrr_period
