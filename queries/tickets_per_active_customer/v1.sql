-- Tickets created in the period per active customer and month (Σ E(m) over
-- the period's months; for a month, E(m)).
select month, dimension, segment, tickets / nullif(account_months, 0) as value
from ticket_slice_period
