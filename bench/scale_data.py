"""Builds the event-volume ladder of the scale benchmark (issue 14) from one
generated sample: `<out>/<n>x-<format>/` for n in 1, 3, 10 and format csv or
parquet. The n-times folder repeats every usage event n times, each copy
under its own user ids (`<user>~<k>`), so the customers, months and features
stay the same while the events (and distinct users) grow n-fold. The other
exports are the sample's, in the same format."""
import os
import sys

import duckdb

base, out = sys.argv[1], sys.argv[2]
conn = duckdb.connect()
conn.execute("SET preserve_insertion_order = false")
for n in (1, 3, 10):
    for fmt in ("csv", "parquet"):
        folder = os.path.join(out, f"{n}x-{fmt}")
        if os.path.exists(os.path.join(folder, "done")):
            continue
        os.makedirs(folder, exist_ok=True)
        options = "(FORMAT csv, HEADER true)" if fmt == "csv" else "(FORMAT parquet)"
        for name in sorted(os.listdir(base)):
            if not name.endswith(".csv"):
                continue
            table = name[:-4]
            source = "'" + os.path.join(base, name).replace("'", "''") + "'"
            target = os.path.join(folder, f"{table}.{fmt}")
            if table == "usage_events":
                # Typed as an exporter would write them (timestamps with their
                # zone, whole seconds as integers); CSV keeps the sample's text.
                select = (
                    "SELECT customer_id, CASE WHEN k = 0 THEN user_id ELSE user_id || '~' || k END AS user_id, "
                    "occurred_at, feature, duration_seconds "
                    f"FROM read_csv({source}, all_varchar = {fmt == 'csv'}), range({n}) AS r(k)"
                )
            else:
                select = f"SELECT * FROM read_csv({source}, all_varchar = {fmt == 'csv'})"
            conn.execute(f"COPY ({select}) TO '{target}' {options}")
        open(os.path.join(folder, "done"), "w").close()
        print(f"built {folder}", file=sys.stderr)
