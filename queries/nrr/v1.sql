-- Monthly NRR.
select month, dimension, segment, 100.0 * cast(mrr_prev + mrr_expansion - mrr_contraction - mrr_churn as double) / nullif(cast(mrr_prev as double), 0) as value
from mrr_month
