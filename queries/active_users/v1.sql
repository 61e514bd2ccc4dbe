-- Distinct (customer, user) pairs with an event; users are unique within their customer, so a sum.
select month, dimension, segment, users as value
from usage_slice_month
