"""Builds the data of the incremental benchmark (issue 28) from one generated
sample of 37 months (2023-10 to 2026-10): for n in 1 and 10,

  <out>/<n>x/tables/<table>.parquet      every export but the usage events
  <out>/<n>x/events/month=YYYY-MM/*.parquet
                                         the usage events by UTC month, each
                                         repeated n times under their own
                                         user ids (`<user>~<k>`), as in
                                         bench/scale_data.py
  <out>/<n>x/h<H>/                       a data folder with H months of event
                                         history before 2026-10 (H = 12, 24,
                                         36): links to the tables and to those
                                         month folders; bench/incremental.sh
                                         links 2026-10 in as "the next month"
  <out>/<n>x/none/                       the tables without any events
"""
import os
import sys

import duckdb

base, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
conn = duckdb.connect()
conn.execute("SET preserve_insertion_order = false")
conn.execute("SET TimeZone = 'UTC'")


def months_before(last, count):
    year, month = map(int, last.split("-"))
    key = year * 12 + month - 1
    return [f"{(k // 12):04d}-{(k % 12) + 1:02d}" for k in range(key - count, key)]


def link(target, name):
    if not os.path.lexists(name):
        os.symlink(target, name)


for n in (1, 10):
    root = os.path.join(out, f"{n}x")
    tables, events = os.path.join(root, "tables"), os.path.join(root, "events")
    if not os.path.exists(os.path.join(root, "done")):
        os.makedirs(tables, exist_ok=True)
        for name in sorted(os.listdir(base)):
            if not name.endswith(".csv"):
                continue
            table, source = name[:-4], "'" + os.path.join(base, name).replace("'", "''") + "'"
            if table == "usage_events":
                conn.execute(
                    f"""COPY (
                        SELECT customer_id, CASE WHEN k = 0 THEN user_id ELSE user_id || '~' || k END AS user_id,
                               ts AS occurred_at, feature, TRY_CAST(duration_seconds AS BIGINT) AS duration_seconds, strftime(ts, '%Y-%m') AS month
                        FROM (SELECT *, CAST(occurred_at AS TIMESTAMPTZ) AS ts FROM read_csv({source}, all_varchar = true)),
                             range({n}) AS r(k)
                    ) TO '{events}' (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE true)"""
                )
            else:
                conn.execute(f"COPY (SELECT * FROM read_csv({source})) TO '{os.path.join(tables, table)}.parquet' (FORMAT parquet)")
        open(os.path.join(root, "done"), "w").close()
        print(f"built {root}", file=sys.stderr)
    for history in (12, 24, 36):
        folder = os.path.join(root, f"h{history}")
        os.makedirs(os.path.join(folder, "usage_events"), exist_ok=True)
        for name in os.listdir(tables):
            link(os.path.join(tables, name), os.path.join(folder, name))
        for month in months_before("2026-10", history):
            link(os.path.join(events, f"month={month}"), os.path.join(folder, "usage_events", f"month={month}"))
    none = os.path.join(root, "none")
    os.makedirs(none, exist_ok=True)
    for name in os.listdir(tables):
        link(os.path.join(tables, name), os.path.join(none, name))
