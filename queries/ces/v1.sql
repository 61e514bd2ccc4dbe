-- CES: mean score of the month's answers; null with none.
select month, dimension, segment, ces_score_sum / nullif(ces_responses, 0) as value
from survey_slice_period
