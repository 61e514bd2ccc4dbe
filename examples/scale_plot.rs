//! Draws bench/scale.png from bench/scale.csv (written by bench/scale.sh)
//! with the report's own chart code: seconds per event volume for the run
//! and for DuckDB loading the same files, Parquet and CSV.
//!
//! `cargo run --release --example scale_plot [CSV] [PNG]`

use std::collections::BTreeMap;
use std::error::Error;

use cs_report::report::charts::{self, Chart, Kind, Series, BLUE, ORANGE, SKY, VERMILLION};

/// Usage events at 1× (bench/scale_data.py's base sample).
const EVENTS_1X: f64 = 5_872_858.0;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let csv = args.next().unwrap_or_else(|| "bench/scale.csv".into());
    let png = args.next().unwrap_or_else(|| "bench/scale.png".into());
    let text = std::fs::read_to_string(&csv).map_err(|e| format!("{csv}: {e}"))?;
    // (format, measure) → size → seconds
    let mut seconds: BTreeMap<(String, String), BTreeMap<u32, f64>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [size, format, measure, secs, _rss] = fields[..] else {
            return Err(format!("{csv}:{}: expected size,format,measure,seconds,peak_rss_mib", n + 1).into());
        };
        seconds.entry((format.into(), measure.into())).or_default().insert(size.parse()?, secs.parse()?);
    }
    let sizes: Vec<u32> = {
        let mut all: Vec<u32> = seconds.values().flat_map(|m| m.keys().copied()).collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    if sizes.is_empty() {
        return Err(format!("{csv} holds no measurements").into());
    }
    let line = |format: &str, measure: &str, name: &str, color: &'static str, dashed: bool| Series {
        name: name.into(),
        color,
        dashed,
        values: sizes.iter().map(|s| seconds.get(&(format.into(), measure.into())).and_then(|m| m.get(s).copied())).collect(),
    };
    let chart = Chart {
        id: "scale",
        title: "cs-report run against DuckDB loading the same files".into(),
        alt: "Seconds per run and per DuckDB load of the same files, at each multiple of the usage events, Parquet and CSV".into(),
        y_label: "seconds".into(),
        x: sizes.iter().map(|s| format!("{s}× ({:.1} M events)", EVENTS_1X * f64::from(*s) / 1e6)).collect(),
        kind: Kind::Lines(vec![
            line("parquet", "run", "run, Parquet", BLUE, false),
            line("parquet", "load", "DuckDB load, Parquet", SKY, true),
            line("csv", "run", "run, CSV", VERMILLION, false),
            line("csv", "load", "DuckDB load, CSV", ORANGE, true),
        ]),
        marker: None,
        band: None,
        note: None,
    };
    std::fs::write(&png, charts::png(&chart.svg())?).map_err(|e| format!("{png}: {e}"))?;
    println!("wrote {png}");
    Ok(())
}
