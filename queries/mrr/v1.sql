-- MRR(m): recurring revenue of the subscriptions active at the end of m.
select month, dimension, segment, cast(mrr as double) as value
from mrr_month
