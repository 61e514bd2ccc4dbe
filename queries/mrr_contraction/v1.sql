-- Sum of mrr(c,m-1) - mrr(c,m) over contracting customers. As before the exchange-rate rule: m-1 and m each at its own rates.
select month, dimension, segment, cast(mrr_contraction_v1 as double) as value
from mrr_period
