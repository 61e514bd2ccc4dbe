#!/usr/bin/env bash
# The monthly-run benchmark of issue 2: 50,000 customers with at least
# 5 million usage events. Measures, in one session, DuckDB alone loading the
# same CSV files into tables and the whole `cs-report run`, three times each,
# and prints the medians of wall time and peak memory (max RSS).
source "$(dirname "$0")/common.sh"
DATA=${BENCH_DATA:-$HOME/.cache/cs-report/bench-50k}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ ! -f "$DATA/usage_events.csv" ]; then
  "$BIN" sample --out "$DATA" --customers 50000 --seed 1 --end 2026-10 --months 24 --usage-scale 1.4
fi

events=$(($(wc -l < "$DATA/usage_events.csv") - 1))
echo "data: $DATA ($(du -sh "$DATA" | cut -f1), $events usage events), $(nproc) cores"

measure() { # label, command...: prints "label wall_s rss_kb" for each of 3 runs
  local label=$1; shift
  for _ in 1 2 3; do
    /usr/bin/time -f "$label %e %M" "$@" 2>&1 >/dev/null | tail -1
  done
}
{
  measure duckdb_load python3 bench/baseline.py "$DATA"
  measure cs_report_run "$BIN" run --data "$DATA" --out "$OUT" --period 2026-10
} | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    label, wall, rss = line.split()
    runs.setdefault(label, []).append((float(wall), int(rss)))
med = {k: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v)) for k, v in runs.items()}
print("| measure | wall (median of 3) | peak RSS (median) |")
print("|---|---:|---:|")
for k, (w, r) in med.items():
    print(f"| {k} | {w:.2f} s | {r / 1024:.0f} MiB |")
run_wall, run_rss = med["cs_report_run"]
ratio = run_wall / med["duckdb_load"][0]
print(f"\nrun / load = {ratio:.2f} (target: at most 2.00); peak RSS of the run {run_rss / 1024:.0f} MiB (target: under 1024 MiB)")
'
