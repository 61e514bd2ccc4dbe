//! The helpers every test module uses: a scratch copy of a fixture (or of
//! files given inline) and the binary run on it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `tests/fixtures/` of the checkout being tested. Read at run time: cargo
/// sets `CARGO_MANIFEST_DIR` for the test process, while the compile-time
/// value would point at whichever clone last compiled the (shared-target)
/// test binary, possibly one since deleted.
pub fn fixtures() -> PathBuf {
    let root = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    root.join("tests/fixtures")
}

/// A scratch copy of a fixture, with helpers to run the binary on it.
pub struct Scenario {
    pub dir: tempfile::TempDir,
}

impl Scenario {
    /// Copies `tests/fixtures/<name>/` into a fresh temp dir as `data/`.
    pub fn fixture(name: &str) -> Scenario {
        let s = Scenario { dir: tempfile::tempdir().expect("temp dir") };
        let src = fixtures().join(name);
        copy_dir(&src, &s.data());
        s
    }

    /// A scenario whose data folder holds just `files` (name, CSV text).
    pub fn inline(files: &[(&str, &str)]) -> Scenario {
        let s = Scenario { dir: tempfile::tempdir().expect("temp dir") };
        for (name, text) in files {
            s.write(&format!("data/{name}"), text);
        }
        s
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    pub fn remove(&self, table_file: &str) {
        fs::remove_file(self.data().join(table_file)).unwrap();
    }

    pub fn cs_report(&self, args: &[&str]) -> Output {
        self.cs_report_env(args, &[])
    }

    /// The binary with extra environment variables.
    pub fn cs_report_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cs-report"))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.dir.path())
            .output()
            .expect("cs-report runs")
    }

    /// `cs-report run --data data --out out --period P [extra]`, which must succeed.
    pub fn run(&self, period: &str, extra: &[&str]) -> Metrics {
        let data = self.data();
        let out = self.out();
        let mut args = vec!["run", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--period", period];
        args.extend_from_slice(extra);
        let output = self.cs_report(&args);
        assert!(
            output.status.success(),
            "run failed ({:?}):\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        Metrics::read(&self.out().join(period).join("metrics.csv"))
    }
}

/// A scenario on a generated sample (120 customers to 2025-06): charts,
/// at-risk customers, surveys with few answers.
pub fn sample_scenario() -> Scenario {
    let s = Scenario::inline(&[]);
    let data = s.data();
    let made = s.cs_report(&["sample", "--out", data.to_str().unwrap(), "--customers", "120", "--seed", "7", "--end", "2025-06", "--months", "18"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    s
}

pub fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let target = dst.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.path().extension().is_some_and(|e| e != "md") {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// metrics.csv as (metric, dimension, segment) -> value text.
pub struct Metrics {
    pub values: BTreeMap<(String, String, String), String>,
    pub versions: BTreeMap<String, String>,
}

impl Metrics {
    pub fn read(path: &Path) -> Metrics {
        Metrics::read_text(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    /// metrics.csv's text.
    pub fn read_text(text: &str) -> Metrics {
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), "period,metric,version,dimension,segment,value,unit,low_sample");
        let mut values = BTreeMap::new();
        let mut versions = BTreeMap::new();
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            let key = (cells[1].to_string(), cells[3].to_string(), cells[4].to_string());
            assert!(values.insert(key, cells[5].to_string()).is_none(), "duplicate row {line}");
            versions.insert(cells[1].to_string(), cells[2].to_string());
        }
        Metrics { values, versions }
    }

    pub fn get(&self, metric: &str, dimension: &str, segment: &str) -> Option<f64> {
        let text = self
            .values
            .get(&(metric.to_string(), dimension.to_string(), segment.to_string()))
            .unwrap_or_else(|| panic!("no row for {metric} {dimension} {segment}"));
        (!text.is_empty()).then(|| text.parse().unwrap())
    }

    pub fn has(&self, metric: &str) -> bool {
        self.values.keys().any(|(m, _, _)| m == metric)
    }

    /// The total's value, which must be `expected` to 1e-9 (`None` = empty).
    pub fn assert(&self, metric: &str, expected: Option<f64>) {
        self.assert_in(metric, "all", "all", expected);
    }

    pub fn assert_in(&self, metric: &str, dimension: &str, segment: &str, expected: Option<f64>) {
        let got = self.get(metric, dimension, segment);
        match (got, expected) {
            (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "{metric} {dimension}={segment}: got {g}, expected {e}"),
            (None, None) => {}
            _ => panic!("{metric} {dimension}={segment}: got {got:?}, expected {expected:?}"),
        }
    }
}


/// The period folder is complete when every file the manifest lists is
/// there with the manifest's checksum.
pub fn folder_is_complete(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join("manifest.json")) else { return false };
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    manifest["outputs"].as_object().unwrap().iter().all(|(name, info)| {
        fs::read(dir.join(name)).is_ok_and(|bytes| {
            use sha2::Digest;
            let sum: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            sum == info["sha256"].as_str().unwrap()
        })
    })
}


pub fn history_runs(out: &Path) -> i64 {
    let db = duckdb::Connection::open(out.join("history.duckdb")).unwrap();
    db.query_row("SELECT count(*) FROM runs", [], |r| r.get(0)).unwrap()
}


impl Scenario {
    /// The arguments of `run` on this scenario's data and output.
    pub fn run_args(&self, period: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = ["run", "--data", self.data().to_str().unwrap(), "--out", self.out().to_str().unwrap(), "--period", period]
            .iter()
            .map(|a| a.to_string())
            .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }

    /// `run` of `period` on this scenario's data and output, as it ended.
    pub fn run_output(&self, period: &str, extra: &[&str]) -> Output {
        let args = self.run_args(period, extra);
        self.cs_report(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `run` that must end with `code`; returns its stderr.
    pub fn run_fails(&self, period: &str, extra: &[&str], code: i32) -> String {
        let out = self.run_output(period, extra);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(code), "expected exit {code}:\n{err}");
        err
    }

    /// Replaces `from` by `to` in a data file, which must hold `from`.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.data().join(file);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} does not hold {from:?}");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
}
