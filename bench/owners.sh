#!/usr/bin/env bash
# Issue 13's target: the monthly run with 20 account managers at most 10 %
# slower than the same data without owners. Runs the build on
# bench-50k-owners (the 50k bench data of the current sample generator,
# 20 owners) and on the same files without `customers.owner` and
# `owners.csv`, alternating, RUNS times each (default 5), and prints each
# run and the medians of wall time and of CPU time (user + system, which
# varies less on a shared VM). BIN may name another build to compare.
source "$(dirname "$0")/common.sh"
RUNS=${RUNS:-5}
OWNERS=$CACHE/bench-50k-owners
PLAIN=$CACHE/bench-50k-noowner
if [ ! -f "$OWNERS/owners.csv" ]; then
  "$BIN" sample --out "$OWNERS" --customers 50000 --seed 1 --end 2026-10 --months 24 --usage-scale 1.4
fi
if [ ! -f "$PLAIN/customers.csv" ]; then
  mkdir -p "$PLAIN"
  for f in "$OWNERS"/*.csv; do
    case $(basename "$f") in owners.csv | customers.csv) ;; *) ln -sf "$f" "$PLAIN/" ;; esac
  done
  python3 -c 'import csv, sys
rows = csv.reader(open(sys.argv[1], newline=""))
out = csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\n")
for row in rows:
    out.writerow(row[:6])' "$OWNERS/customers.csv" "$PLAIN/customers.csv"
fi
# From an empty folder, so no config/cs-report.yaml is picked up.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
for _ in $(seq "$RUNS"); do
  for data in "$PLAIN" "$OWNERS"; do
    /usr/bin/time -f "$(basename "$data") %e %M %U %S" "$BIN" run --data "$data" --out "$WORK/out" --period 2026-10 2>&1 >/dev/null | tail -1
    rm -rf "$WORK/out"
  done
done | tee /dev/stderr | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    label, wall, rss, user, system = line.split()
    runs.setdefault(label, []).append((float(wall), int(rss), float(user) + float(system)))
med = {k: statistics.median(w for w, _, _ in v) for k, v in runs.items()}
cpu = {k: statistics.median(c for _, _, c in v) for k, v in runs.items()}
for k, v in runs.items():
    print(f"{k}: median {med[k]:.2f} s wall, {cpu[k]:.2f} s CPU, peak RSS {max(r for _, r, _ in v) / 1024:.0f} MiB")
o, p = "bench-50k-owners", "bench-50k-noowner"
print(f"20 owners / no owners = {med[o] / med[p]:.3f} wall, {cpu[o] / cpu[p]:.3f} CPU (target: at most 1.10)")
'
