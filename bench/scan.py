"""One aggregate scan of the usage events, straight from the files: per
customer and month, distinct users, active days and features, the seconds
spent and the contract's event rules as count_if. The floor of issue 14:
what any correct run must at least pay for the events."""
import os
import sys
import time

import duckdb

data = sys.argv[1]
conn = duckdb.connect()
conn.execute("SET threads = 2")
if os.path.isdir(data):
    # A data folder (its usage_events.* file), or a folder of event parts.
    name = next((n for n in os.listdir(data) if n.startswith("usage_events.")), None)
    path = os.path.join(data, name) if name else os.path.join(data, "*.parquet")
else:
    path = data
reader = "read_parquet(?)" if path.endswith(".parquet") else "read_csv(?)"
started = time.perf_counter()
conn.execute(
    f"""CREATE TABLE scan AS
    SELECT customer_id, date_trunc('month', occurred_at) AS month,
        count(DISTINCT user_id) AS users, count(DISTINCT CAST(occurred_at AS DATE)) AS days,
        count(DISTINCT feature) AS features, sum(duration_seconds) AS seconds,
        count_if(user_id IS NULL OR feature IS NULL) AS empty_cells,
        count_if(duration_seconds < 0) AS negative_durations
    FROM {reader} GROUP BY ALL""",
    [path],
)
print(f"scanned {path} in {time.perf_counter() - started:.2f} s", file=sys.stderr)
