"""Builds the two event shapes issue 14 asks memory to stay bounded for,
from the 1x Parquet folder of the scale benchmark (`bench/scale.sh`):
`<out>/features-20k/`, the same events spread over 20,000 distinct features,
and `<out>/users-1m/`, the same events spread over about a million distinct users
(up to 100 per customer). The other exports are linked unchanged."""
import os
import sys

import duckdb

base, out = sys.argv[1], sys.argv[2]
conn = duckdb.connect()
conn.execute("SET preserve_insertion_order = false")
events = os.path.join(base, "usage_events.parquet")
shapes = {
    "features-20k": "* REPLACE ('f' || lpad(CAST(hash(customer_id, user_id, occurred_at) % 20000 AS VARCHAR), 5, '0') AS feature)",
    "users-1m": "* REPLACE (customer_id || '-u' || CAST(hash(user_id, occurred_at) % 100 AS VARCHAR) AS user_id)",
}
for name, select in shapes.items():
    folder = os.path.join(out, name)
    if os.path.exists(os.path.join(folder, "done")):
        continue
    os.makedirs(folder, exist_ok=True)
    for file in os.listdir(base):
        if file != "usage_events.parquet" and not os.path.exists(os.path.join(folder, file)):
            os.symlink(os.path.join(base, file), os.path.join(folder, file))
    target = os.path.join(folder, "usage_events.parquet").replace("'", "''")
    source = events.replace("'", "''")
    conn.execute(f"COPY (SELECT {select} FROM '{source}') TO '{target}' (FORMAT parquet)")
    stats = conn.execute(
        f"SELECT count(*), count(DISTINCT feature), count(DISTINCT (customer_id, user_id)) FROM '{target}'"
    ).fetchone()
    print(f"{name}: {stats[0]} events, {stats[1]} features, {stats[2]} users")
    open(os.path.join(folder, "done"), "w").close()
