-- Sum of mrr(c,m-1) - mrr(c,m) over contracting customers. Constant currency: m-1 at m's rates (the exchange-rate impact is mrr_fx).
select month, dimension, segment, cast(mrr_contraction as double) as value
from mrr_period
