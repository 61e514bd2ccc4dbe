-- Median hours to resolve, tickets created in the month (unresolved ones left out).
select month, dimension, segment, median_hours as value
from ticket_slice_period
