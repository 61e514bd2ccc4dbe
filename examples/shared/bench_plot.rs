//! What the plot examples share: reading a benchmark's CSV
//! (`a,b,measure,seconds,peak_rss_mib`, as bench/scale.sh and
//! bench/incremental.sh write it) and writing the chart as PNG.

use std::collections::BTreeMap;
use std::error::Error;

use cs_report::report::charts::{self, Chart};

/// Seconds by (group, measure) then x, where x is the number in column
/// `x_column` (0 or 1) and the group the other of the first two columns.
pub type Seconds = BTreeMap<(String, String), BTreeMap<u32, f64>>;

pub fn read(csv: &str, x_column: usize) -> Result<(Seconds, Vec<u32>), Box<dyn Error>> {
    let text = std::fs::read_to_string(csv).map_err(|e| format!("{csv}: {e}"))?;
    let mut seconds = Seconds::new();
    let header = text.lines().next().unwrap_or_default().to_string();
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [first, second, measure, secs, _rss] = fields[..] else {
            return Err(format!("{csv}:{}: expected {header}", n + 1).into());
        };
        let (x, group) = if x_column == 0 { (first, second) } else { (second, first) };
        seconds.entry((group.into(), measure.into())).or_default().insert(x.parse()?, secs.parse()?);
    }
    let mut xs: Vec<u32> = seconds.values().flat_map(|m| m.keys().copied()).collect();
    xs.sort_unstable();
    xs.dedup();
    if xs.is_empty() {
        return Err(format!("{csv} holds no measurements").into());
    }
    Ok((seconds, xs))
}

/// Draws `chart` into the PNG file `png`, with the report's chart code.
pub fn write_png(chart: &Chart, png: &str) -> Result<(), Box<dyn Error>> {
    std::fs::write(png, charts::png(&chart.svg())?).map_err(|e| format!("{png}: {e}"))?;
    println!("wrote {png}");
    Ok(())
}
