-- CES answers dated in the month.
select month, dimension, segment, ces_responses as value
from survey_slice_period
