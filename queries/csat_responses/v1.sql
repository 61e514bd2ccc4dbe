-- CSAT answers dated in the month.
select month, dimension, segment, csat_responses as value
from survey_slice_period
