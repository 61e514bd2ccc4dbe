-- Sum of mrr(c,m) - mrr(c,m-1) over expanding customers. As before the exchange-rate rule: m-1 and m each at its own rates.
select month, dimension, segment, cast(mrr_expansion_v1 as double) as value
from mrr_period
