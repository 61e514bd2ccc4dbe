-- CSAT: share of answers at or above csat_satisfied_min; null with no answers.
select month, dimension, segment, 100.0 * csat_satisfied / nullif(csat_responses, 0) as value
from survey_slice_period
