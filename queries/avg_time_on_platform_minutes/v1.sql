-- Minutes of recorded use per active user; null with no active user.
select month, dimension, segment, cast(duration_seconds as double) / 60 / nullif(users, 0) as value
from usage_slice_month
