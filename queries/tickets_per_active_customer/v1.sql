-- Tickets created in the month per active customer.
select month, dimension, segment, tickets / nullif(active_customers, 0) as value
from ticket_slice_month
