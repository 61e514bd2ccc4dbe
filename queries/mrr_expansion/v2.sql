-- Sum of mrr(c,m) - mrr(c,m-1) over expanding customers. Constant currency: m-1 at m's rates (the exchange-rate impact is mrr_fx).
select month, dimension, segment, cast(mrr_expansion as double) as value
from mrr_period
