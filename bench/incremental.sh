#!/usr/bin/env bash
# The incremental benchmark of issue 28: a 20,000-customer sample of 37
# months (2023-10 to 2026-10, seed 1) whose usage events are kept by UTC
# month as Parquet (`usage_events/month=YYYY-MM/`), at 1× and 10× the events
# (bench/incremental_data.py). For each scale and each history of H months
# before 2026-10 (H = 12, 24, 36), in one session and RUNS times (default 2,
# best kept), with peak RSS:
#   scan     DuckDB's one aggregate scan of 2026-10's events (bench/scan.py,
#            the time inside DuckDB, without Python's start)
#   none     `run --period 2026-10` with no usage events at all
#   full     `run --full --period 2026-10`: every month's events read
#   next     `run --period 2026-10` after 2026-09 was run: 2026-10 is the one
#            new month folder, every other month's summary is reused
#   changed  the same run again after one closed month (2026-07) was
#            rewritten (same events, a new file): that month is read again
#   reused   the same run again with nothing changed: no events read, every
#            summary reused (the fixed cost of a run with events)
# Each `run` starts from a copy of the same output root (2026-09 published,
# its store filled). `next` and `full` must give byte-identical
# metrics.csv, series.csv and cohorts.csv, and so must `changed`.
# Writes bench/incremental.csv; `cargo run --release --example
# incremental_plot` draws bench/incremental.png from it.
source "$(dirname "$0")/common.sh"
RUNS=${RUNS:-2}
SCALES=${SCALES:-"1 10"}
HISTORY=${HISTORY:-"12 24 36"}
BASE=$CACHE/incr-base
DATA=$CACHE/incr
NEXT=2026-10
CLOSED=2026-07
if [ ! -f "$BASE/usage_events.csv" ]; then
  "$BIN" sample --out "$BASE" --customers 20000 --seed 1 --end "$NEXT" --months 37 --usage-scale 3.5 >/dev/null
fi
python3 bench/incremental_data.py "$BASE" "$DATA"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS=bench/incremental.csv
echo "scale,history,measure,seconds,peak_rss_mib" > "$RESULTS"

# measure SCALE HISTORY LABEL SETUP COMMAND: best of RUNS; SETUP (a shell
# function) runs before each repetition and is not timed; COMMAND is run by sh.
measure() {
  local scale=$1 history=$2 label=$3 setup=$4 command=$5
  local best=""
  for _ in $(seq "$RUNS"); do
    $setup
    /usr/bin/time -f "%e %M" -o "$WORK/time" sh -c "$command" >/dev/null 2>"$WORK/err" || { cat "$WORK/err"; exit 1; }
    read -r wall rss < "$WORK/time"
    if [ "$label" = scan ]; then wall=$(sed -n 's/.* in \([0-9.]*\) s$/\1/p' "$WORK/err"); fi
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(not $wall < ${best%% *})"; then best="$wall $rss"; fi
  done
  read -r wall rss <<<"$best"
  echo "$scale,$history,$label,$wall,$((rss / 1024))" | tee -a "$RESULTS"
}

same() { # two output roots give the same figures for the next month
  for f in metrics.csv series.csv cohorts.csv; do
    cmp -s "$1/$NEXT/$f" "$2/$NEXT/$f" || { echo "$f differs between $1 and $2" >&2; exit 1; }
  done
}

for scale in $SCALES; do
  root=$DATA/${scale}x
  rm -rf "$WORK/none-primed"
  (cd "$WORK" && "$BIN" run --data "$root/none" --out "$WORK/none-primed" --period 2026-09 >/dev/null 2>&1)
  for history in $HISTORY; do
    data=$root/h$history
    month=$data/usage_events/month=$NEXT
    closed=$data/usage_events/month=$CLOSED
    rm -f "$month"
    rm -rf "$WORK/primed"
    (cd "$WORK" && "$BIN" run --data "$data" --out "$WORK/primed" --period 2026-09 >/dev/null 2>&1)
    ln -s "$root/events/month=$NEXT" "$month"
    # The closed month rewritten: the same events in a new file.
    rm -rf "$root/changed" && mkdir -p "$root/changed" && cp -r "$root/events/month=$CLOSED" "$root/changed/"
    fresh() { rm -rf "$WORK/out"; cp -a "$WORK/primed" "$WORK/out"; }
    fresh_none() { rm -rf "$WORK/out"; cp -a "$WORK/none-primed" "$WORK/out"; }
    after_next() { rm -rf "$WORK/out"; cp -a "$WORK/next" "$WORK/out"; ln -sfn "$root/changed/month=$CLOSED" "$closed"; }
    again() { rm -rf "$WORK/out"; cp -a "$WORK/next" "$WORK/out"; }
    nothing() { :; }
    # From the work folder, so no config/cs-report.yaml is picked up.
    run="cd '$WORK' && exec '$BIN' run --out '$WORK/out' --period $NEXT --data"
    measure "$scale" "$history" scan nothing "python3 bench/scan.py '$root/events/month=$NEXT'"
    measure "$scale" "$history" none fresh_none "$run '$root/none'"
    measure "$scale" "$history" full fresh "$run '$data' --full"
    rm -rf "$WORK/full" && mv "$WORK/out" "$WORK/full"
    measure "$scale" "$history" next fresh "$run '$data'"
    rm -rf "$WORK/next" && mv "$WORK/out" "$WORK/next"
    same "$WORK/next" "$WORK/full"
    measure "$scale" "$history" reused again "$run '$data'"
    same "$WORK/out" "$WORK/full"
    measure "$scale" "$history" changed after_next "$run '$data'"
    same "$WORK/out" "$WORK/full"
    ln -sfn "$root/events/month=$CLOSED" "$closed"
    rm -f "$month"
  done
done
python3 - "$RESULTS" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
get = lambda s, h, m: float(next(r for r in rows if r["scale"] == s and r["history"] == h and r["measure"] == m)["seconds"])
rss = lambda s, h, m: next(r for r in rows if r["scale"] == s and r["history"] == h and r["measure"] == m)["peak_rss_mib"]
print("\n| events | history | scan of the month | no events | nothing new | next month | closed month changed | full | next − no events | next − nothing new | 1.5 × scan | peak RSS (full / next) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in dict.fromkeys(r["scale"] for r in rows):
    for h in dict.fromkeys(r["history"] for r in rows if r["scale"] == s):
        scan, none, reused, nxt, changed, full = (get(s, h, m) for m in ("scan", "none", "reused", "next", "changed", "full"))
        print(f"| {s}× | {h} months | {scan:.2f} s | {none:.2f} s | {reused:.2f} s | {nxt:.2f} s | {changed:.2f} s | {full:.2f} s | "
              f"{nxt - none:.2f} s | {nxt - reused:.2f} s | {1.5 * scan:.2f} s | {rss(s, h, 'full')} / {rss(s, h, 'next')} MiB |")
PY
