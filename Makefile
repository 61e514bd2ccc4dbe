# cs-report: the two commands of the README, and the set-up they need.
#   make report   build, then run the monthly job on the shipped sample
#                 (PERIOD=2026-Q3 or PERIOD=FY2027 for a quarter or the fiscal year)
#   make test     build and run every test
#   make screenshots  regenerate docs/*.png from the sample's report
# Both fetch DuckDB's official prebuilt library (1.5.6) on first use; the
# build links to it with an rpath, so the binary needs no LD_LIBRARY_PATH.

DUCKDB_VERSION   := 1.5.6
DUCKDB_NPM       := @duckdb/node-bindings-linux-x64@$(DUCKDB_VERSION)-r.1
CACHE            ?= $(HOME)/.cache/cs-report
DUCKDB_LIB_DIR   ?= $(CACHE)/duckdb-$(DUCKDB_VERSION)
CARGO_TARGET_DIR ?= $(CACHE)/target
SAMPLE_END       := 2027-01
PERIOD           ?= $(SAMPLE_END)
BIN              := $(CARGO_TARGET_DIR)/release/cs-report
PYSPARK_VERSION  := 3.5.3
CS_REPORT_PYSPARK ?= $(CACHE)/pyspark-$(PYSPARK_VERSION)

export DUCKDB_LIB_DIR CARGO_TARGET_DIR CS_REPORT_PYSPARK

.PHONY: report test build duckdb browser smtp spark sample bench clean screenshots

report: build
	$(BIN) run --config config/cs-report.yaml --period $(PERIOD)

test: duckdb browser smtp spark
	cargo test --release --locked

build: duckdb
	cargo build --release --locked

# The prebuilt libduckdb.so ships inside DuckDB's npm package for Node.
duckdb: $(DUCKDB_LIB_DIR)/libduckdb.so

$(DUCKDB_LIB_DIR)/libduckdb.so:
	@mkdir -p $(DUCKDB_LIB_DIR)
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent $(DUCKDB_NPM) >/dev/null \
	  && tar xzf *.tgz package/libduckdb.so && mv package/libduckdb.so $(DUCKDB_LIB_DIR)/ \
	  && rm -rf $$tmp
	@echo "DuckDB $(DUCKDB_VERSION) library in $(DUCKDB_LIB_DIR)"

# The report page is checked in headless Chromium (Debian's package); CI runs
# as root on a fresh Debian. If it cannot be installed, make says why and the
# browser test fails, never skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	} || echo "could not install chromium (apt-get failed): the browser test will fail"

# The email is sent to a real SMTP server on loopback in the tests: aiosmtpd
# (Debian's package, for Debian's python3), with STARTTLS + login and with
# implicit TLS. As with chromium, a failed install fails the test with why.
smtp:
	@/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || { \
	  echo "installing python3-aiosmtpd for the SMTP test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null; \
	} || echo "could not install python3-aiosmtpd (apt-get failed): the SMTP test will fail"

# The event rollup is also run on Spark SQL in the tests (PySpark in local
# mode, from PyPI, into the cache folder; Spark needs Java 17). As above, a
# failed install fails the Spark test with why.
spark:
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing Java 17 for the Spark test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	} || echo "could not install Java 17 (apt-get failed): the Spark test will fail"
	@test -d $(CS_REPORT_PYSPARK)/pyspark || { \
	  echo "installing PySpark $(PYSPARK_VERSION) into $(CS_REPORT_PYSPARK) for the Spark test"; \
	  { python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null; }; } \
	  && python3 -m pip install --quiet --disable-pip-version-check --target $(CS_REPORT_PYSPARK).part pyspark==$(PYSPARK_VERSION) \
	  && mv $(CS_REPORT_PYSPARK).part $(CS_REPORT_PYSPARK); \
	} || echo "could not install PySpark (pip failed): the Spark test will fail"

# Regenerate the shipped sample (deterministic: same seed, same files).
sample: build
	$(BIN) sample --out data/sample --customers 200 --seed 42 --end $(SAMPLE_END) --months 36

# The README's two pictures, from the shipped sample's report (headless
# Chromium, installed as for the tests).
screenshots: report browser
	bash docs/screenshots.sh

# The benchmark of bench/README.md: 50,000 customers, 5M+ usage events.
bench: build
	bash bench/run.sh

clean:
	rm -rf reports
