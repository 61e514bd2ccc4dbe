//! Draws bench/scale.png from bench/scale.csv (written by bench/scale.sh)
//! with the report's own chart code: seconds per event volume for the run
//! and for DuckDB loading the same files, Parquet and CSV.
//!
//! `cargo run --release --example scale_plot [CSV] [PNG]`

use std::error::Error;

#[path = "shared/bench_plot.rs"]
mod bench_plot;

use cs_report::report::charts::{Chart, Kind, Series, BLUE, ORANGE, SKY, VERMILLION};

/// Usage events at 1× (bench/scale_data.py's base sample).
const EVENTS_1X: f64 = 5_872_858.0;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let csv = args.next().unwrap_or_else(|| "bench/scale.csv".into());
    let png = args.next().unwrap_or_else(|| "bench/scale.png".into());
    // (format, measure) → size → seconds
    let (seconds, sizes) = bench_plot::read(&csv, 0)?;
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
    bench_plot::write_png(&chart, &png)
}
