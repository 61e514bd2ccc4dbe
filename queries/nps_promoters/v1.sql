-- Promoters: NPS answers of 9-10.
select month, dimension, segment, promoters as value
from survey_slice_period
