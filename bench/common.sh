# Sourced by the benchmark scripts: strict mode, the project root as the
# working folder, the cache, the binary under test (BIN names another
# build to compare), and DuckDB 1.5.6 in Python, the engine the binary
# links, for the baselines and scans measured beside the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CACHE:-$HOME/.cache/cs-report}
BIN=${BIN:-${CARGO_TARGET_DIR:-$CACHE/target}/release/cs-report}
python3 -c 'import duckdb, sys; sys.exit(duckdb.__version__ != "1.5.6")' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check duckdb==1.5.6
