-- Monthly GRR. Constant currency: m-1 at m's rates (the exchange-rate impact is mrr_fx).
select month, dimension, segment, 100.0 * cast(mrr_prev - mrr_contraction - mrr_churn as double) / nullif(cast(mrr_prev as double), 0) as value
from mrr_month
