-- Tickets created in the month.
select month, dimension, segment, tickets as value
from ticket_slice_period
