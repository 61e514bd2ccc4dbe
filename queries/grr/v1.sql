-- Monthly GRR. As before the exchange-rate rule: m-1 and m each at its own rates.
select month, dimension, segment, 100.0 * cast(mrr_prev - mrr_contraction_v1 - mrr_churn as double) / nullif(cast(mrr_prev as double), 0) as value
from mrr_month
