-- FCR: tickets created in the month, resolved with one contact, over all of them.
select month, dimension, segment, 100.0 * first_contact / nullif(tickets, 0) as value
from ticket_slice_period
