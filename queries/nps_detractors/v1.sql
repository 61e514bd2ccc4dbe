-- Detractors: NPS answers of 0-6.
select month, dimension, segment, detractors as value
from survey_slice_period
