-- Active customers in band at_risk.
select month, dimension, segment, at_risk_customers as value
from health_slice_month
