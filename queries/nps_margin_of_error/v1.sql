-- 95 % margin of error of the NPS in NPS points: 1.96 x 100 x sqrt(((P + D) - (P - D)^2) / n); null with no answers.
select month, dimension, segment, 196.0 * sqrt(((promoters + detractors) / nullif(nps_responses, 0) - ((promoters - detractors) / nullif(nps_responses, 0)) ^ 2) / nullif(nps_responses, 0)) as value
from survey_slice_period
