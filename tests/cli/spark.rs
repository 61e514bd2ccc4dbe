//! The event rollup on an existing engine (issue 28): the rollup SQL of
//! `queries/_rollup/usage_events.sql` runs unchanged on Spark SQL (PySpark
//! in local mode, `tests/spark/rollup.py`), and a report made from the
//! Parquet Spark wrote is the report made from the raw events in DuckDB.
//! `make test` installs PySpark from PyPI into the cache folder (`make
//! spark`); without it, or without Java, the test fails and says so.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::support::*;

/// Where `make spark` put PySpark (`CS_REPORT_PYSPARK`, else the cache).
fn pyspark() -> PathBuf {
    let dir = std::env::var_os("CS_REPORT_PYSPARK").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/cs-report/pyspark-3.5.3")
    });
    assert!(
        dir.join("pyspark").is_dir(),
        "PySpark is needed to run the rollup on Spark and is not in {}: `make test` installs it (`make spark`)",
        dir.display()
    );
    let java = Command::new("java").arg("-version").output();
    assert!(java.is_ok_and(|o| o.status.success()), "Spark needs Java 17 (`java` on the PATH): `make spark` installs it");
    dir
}

#[test]
fn a_report_from_sparks_rollup_is_the_report_from_the_raw_events() {
    let duck = sample_scenario();
    duck.run("2025-06", &[]);

    let spark = Scenario::inline(&[]);
    copy_dir(&duck.data(), &spark.data());
    let events = spark.data().join("usage_events.csv");
    let moved = spark.dir.path().join("usage_events.csv");
    fs::rename(&events, &moved).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let ran = Command::new("python3")
        .arg(root.join("tests/spark/rollup.py"))
        .arg(&moved)
        .arg(root.join("queries/_rollup/usage_events.sql"))
        .arg(spark.data().join("usage_events_rollup"))
        .env("PYTHONPATH", pyspark())
        .env("PYSPARK_PYTHON", "python3")
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .output()
        .expect("python3 runs");
    assert!(ran.status.success(), "the rollup on Spark failed:\n{}", String::from_utf8_lossy(&ran.stderr));
    spark.run("2025-06", &[]);

    let events = |s: &Scenario| -> serde_json::Value {
        let manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(s.out().join("2025-06/manifest.json")).unwrap()).unwrap();
        manifest["inputs"].as_array().unwrap().iter().find(|t| t["table"] == "usage_events").unwrap().clone()
    };
    assert_eq!(events(&spark)["format"], "rollup");
    assert_eq!(events(&spark)["rows"], events(&duck)["rows"]);
    for file in ["metrics.csv", "series.csv", "cohorts.csv", "customers.csv", "report.md", "summary.md"] {
        let a = fs::read_to_string(duck.out().join("2025-06").join(file)).unwrap();
        let b = fs::read_to_string(spark.out().join("2025-06").join(file)).unwrap();
        assert!(a == b, "{file} differs between DuckDB's rollup and Spark's");
    }
}
