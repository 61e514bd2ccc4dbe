"""The usage event rollup on Spark: runs queries/_rollup/usage_events.sql,
unchanged, with Spark SQL in local mode over a usage events CSV export and
writes the rollup as Parquet, the way a cluster job would hand it to
cs-report (README: "The event rollup on a cluster or in the warehouse").

    python3 tests/spark/rollup.py EVENTS.csv queries/_rollup/usage_events.sql OUT_DIR

PySpark comes from `make spark` (PyPI, into the cache folder); the test
tests/cli/spark.rs runs this script and compares the report with DuckDB's.
"""

import sys

from pyspark.sql import SparkSession


def main(events_csv: str, sql_file: str, out_dir: str) -> None:
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("cs-report usage rollup")
        # Event months and days are UTC dates.
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.read.option("header", True).csv(events_csv).createOrReplaceTempView("usage_events_raw")
    # The typed relation the rollup reads: a warehouse table of the
    # contract's columns has no unparsable cells, so both flags are false.
    # Times with an offset become instants, then UTC wall-clock times
    # without a zone (TIMESTAMP_NTZ), as cs-report reads them.
    spark.sql(
        """
        create or replace temp view usage_events_typed as
        select customer_id, user_id, cast(to_timestamp(occurred_at) as timestamp_ntz) as occurred_at, feature,
               cast(duration_seconds as decimal(18, 6)) as duration_seconds,
               false as bad_occurred_at, false as bad_duration_seconds
        from usage_events_raw
        """
    )
    with open(sql_file, encoding="utf-8") as f:
        rollup = f.read()
    spark.sql(rollup).write.mode("overwrite").parquet(out_dir)
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
