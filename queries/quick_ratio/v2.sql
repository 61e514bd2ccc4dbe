-- Growth MRR over lost MRR; null when nothing was lost. Constant currency: m-1 at m's rates (the exchange-rate impact is mrr_fx).
select month, dimension, segment, cast(mrr_new + mrr_reactivation + mrr_expansion as double) / nullif(cast(mrr_contraction + mrr_churn as double), 0) as value
from mrr_period
