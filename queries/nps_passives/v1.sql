-- Passives: NPS answers of 7-8.
select month, dimension, segment, passives as value
from survey_slice_period
