-- Sum over customers active in m-1 and m of m-1's amounts at m's rates
-- minus the same amounts at m-1's rates.
select month, dimension, segment, cast(mrr_fx as double) as value
from mrr_period
