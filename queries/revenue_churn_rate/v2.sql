-- Gross revenue churn: 100 x (contraction + churn) / MRR(m-1); new business cannot hide losses.
select month, dimension, segment, 100.0 * cast(mrr_contraction + mrr_churn as double) / nullif(cast(mrr_prev as double), 0) as value
from mrr_month
