-- NPS: 100 x (promoters - detractors) / responses; null with no responses.
select month, dimension, segment, 100.0 * (promoters - detractors) / nullif(nps_responses, 0) as value
from survey_slice_period
