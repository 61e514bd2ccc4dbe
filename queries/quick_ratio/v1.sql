-- Growth MRR over lost MRR; null when nothing was lost. As before the exchange-rate rule: m-1 and m each at its own rates.
select month, dimension, segment, cast(mrr_new + mrr_reactivation + mrr_expansion_v1 as double) / nullif(cast(mrr_contraction_v1 + mrr_churn as double), 0) as value
from mrr_period
