//! Draws bench/incremental.png from bench/incremental.csv (written by
//! bench/incremental.sh) with the report's own chart code: seconds of a run
//! against the months of event history, at 10× the events: the full run,
//! the next month's run, a run with nothing new, a run with no events, and
//! the bound (no events + 1.5 × one scan of the month).
//!
//! `cargo run --release --example incremental_plot [CSV] [PNG]`

use std::error::Error;

#[path = "shared/bench_plot.rs"]
mod bench_plot;

use cs_report::report::charts::{Chart, Kind, Series, BLUE, GREY, ORANGE, SKY, VERMILLION};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let csv = args.next().unwrap_or_else(|| "bench/incremental.csv".into());
    let png = args.next().unwrap_or_else(|| "bench/incremental.png".into());
    // (scale, measure) → months of history → seconds
    let (seconds, _) = bench_plot::read(&csv, 1)?;
    let scale = if seconds.keys().any(|(s, _)| s == "10") { "10" } else { "1" };
    let histories: Vec<u32> = seconds.get(&(scale.into(), "next".into())).map(|m| m.keys().copied().collect()).unwrap_or_default();
    if histories.is_empty() {
        return Err(format!("{csv} holds no next-month runs").into());
    }
    let get = |measure: &str, h: u32| seconds.get(&(scale.into(), measure.into())).and_then(|m| m.get(&h).copied());
    let line = |measure: &str, name: &str, color: &'static str, dashed: bool| Series {
        name: name.into(),
        color,
        dashed,
        values: histories.iter().map(|h| get(measure, *h)).collect(),
    };
    let bound = Series {
        name: "bound: no events + 1.5 × scan".into(),
        color: GREY,
        dashed: true,
        values: histories.iter().map(|h| Some(get("none", *h)? + 1.5 * get("scan", *h)?)).collect(),
    };
    let chart = Chart {
        id: "incremental",
        title: format!("cs-report run time against months of event history, {scale}× events"),
        alt: "Seconds per run at 12, 24 and 36 months of usage event history: full run, next month's run, a run with nothing new, a run with no events, and the bound".into(),
        y_label: "seconds".into(),
        x: histories.iter().map(|h| format!("{h} months")).collect(),
        kind: Kind::Lines(vec![
            line("full", "full", VERMILLION, false),
            line("next", "next month", BLUE, false),
            line("reused", "nothing new", SKY, true),
            line("none", "no events", ORANGE, true),
            bound,
        ]),
        marker: None,
        band: None,
        note: None,
    };
    bench_plot::write_png(&chart, &png)
}
