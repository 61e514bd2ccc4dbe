-- NPS answers dated in the month.
select month, dimension, segment, nps_responses as value
from survey_slice_period
