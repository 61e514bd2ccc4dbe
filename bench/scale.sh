#!/usr/bin/env bash
# The scale benchmark of issue 14: 1×, 3× and 10× the usage events of a
# 20,000-customer sample (about 5.9 M, 17.6 M and 58.7 M events), as CSV and
# as Parquet. For each, in one session and RUNS times (default 2, best kept):
# DuckDB alone loading every file (bench/baseline.py), DuckDB's one aggregate
# scan of the events (bench/scan.py) and the whole `cs-report run`, with peak
# RSS. Writes bench/scale.csv and prints a table; bench/README.md has the
# figures and bench/scale.png the plot (`cargo run --release --example
# scale_plot` draws it from scale.csv with the report's own chart code).
source "$(dirname "$0")/common.sh"
RUNS=${RUNS:-2}
SIZES=${SIZES:-"1 3 10"}
BASE=$CACHE/scale-base
LADDER=$CACHE/scale
if [ ! -f "$BASE/usage_events.csv" ]; then
  "$BIN" sample --out "$BASE" --customers 20000 --seed 1 --end 2026-10 --months 24 --usage-scale 3.5
fi
python3 bench/scale_data.py "$BASE" "$LADDER"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS=bench/scale.csv
echo "size,format,measure,seconds,peak_rss_mib" > "$RESULTS"
measure() { # size format label command...: best of RUNS
  local size=$1 format=$2 label=$3; shift 3
  local best=""
  for _ in $(seq "$RUNS"); do
    line=$( { /usr/bin/time -f "%e %M" "$@" >/dev/null 2>"$WORK/err"; } 2>&1; tail -1 "$WORK/err")
    rm -rf "$WORK/out"
    read -r wall rss <<<"$(tail -1 <<<"$line")"
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(not $wall < ${best%% *})"; then best="$wall $rss"; fi
  done
  read -r wall rss <<<"$best"
  echo "$size,$format,$label,$wall,$((rss / 1024))" | tee -a "$RESULTS"
}
for size in $SIZES; do
  for format in parquet csv; do
    data=$LADDER/${size}x-$format
    measure "$size" "$format" load python3 bench/baseline.py "$data"
    measure "$size" "$format" scan python3 bench/scan.py "$data"
    # From an empty folder, so no config/cs-report.yaml is picked up.
    measure "$size" "$format" run sh -c "cd '$WORK' && exec '$BIN' run --data '$data' --out '$WORK/out' --period 2026-10"
  done
done
python3 - "$RESULTS" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
get = lambda s, f, m: next((r for r in rows if r["size"] == s and r["format"] == f and r["measure"] == m), None)
print("\n| events | format | DuckDB load | one scan | `cs-report run` | run / load | peak RSS of the run |")
print("|---|---|---:|---:|---:|---:|---:|")
for s in dict.fromkeys(r["size"] for r in rows):
    for f in ("parquet", "csv"):
        load, scan, run = get(s, f, "load"), get(s, f, "scan"), get(s, f, "run")
        if run:
            ratio = float(run["seconds"]) / float(load["seconds"])
            print(f"| {s}× | {f} | {load['seconds']} s | {scan['seconds']} s | {run['seconds']} s | {ratio:.2f} | {run['peak_rss_mib']} MiB |")
PY
