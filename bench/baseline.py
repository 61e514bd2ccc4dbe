"""DuckDB alone: load every export of a data directory into in-memory tables
(CREATE TABLE ... AS SELECT * FROM read_csv / read_parquet), the yardstick
for cs-report."""
import os
import sys
import time

import duckdb

data = sys.argv[1]
conn = duckdb.connect()
started = time.perf_counter()
for name in sorted(os.listdir(data)):
    if name.endswith(".csv"):
        conn.execute(f"CREATE TABLE {name[:-4]} AS SELECT * FROM read_csv(?)", [os.path.join(data, name)])
    elif name.endswith(".parquet"):
        conn.execute(f"CREATE TABLE {name[:-8]} AS SELECT * FROM read_parquet(?)", [os.path.join(data, name)])
print(f"duckdb {duckdb.__version__} loaded {data} in {time.perf_counter() - started:.2f} s", file=sys.stderr)
