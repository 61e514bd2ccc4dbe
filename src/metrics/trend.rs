//! Trends and judgement with polars, over the aggregated series of every
//! (metric, dimension, segment), one row per period (month, quarter or
//! year): change against the period before and a year before, 3-period
//! rolling mean, 6-period least-squares slope, the anomaly flag, and whether
//! the value misses its benchmark or has moved the wrong way three periods
//! running.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::error::Result;
use crate::metrics::catalog::Catalog;
use crate::model::rows::{MetricRow, SeriesRow, Trend};
use crate::model::unit::Direction;
use crate::model::period::{Period, Window};

/// The series of the trend window (from `window.start` to `window.period`),
/// computed from `rows`, which reach back to `window.first`. Every window
/// counts periods: for a quarter report the 3-period mean is three
/// quarters, the year-ago value four quarters back.
pub fn compute(catalog: &Catalog, rows: &[MetricRow], window: &Window) -> Result<Vec<SeriesRow>> {
    let (first, period) = (window.first, window.period);
    let grid = complete_grid(rows, first, period);
    let frame = trend_frame(&grid, first, period.per_year(), catalog)?;
    let col = |name: &str| -> Result<Vec<Option<f64>>> {
        Ok(frame.column(name)?.as_materialized_series().f64()?.iter().collect())
    };
    let (prev, change_abs, change_pct) = (col("prev")?, col("change_abs")?, col("change_pct")?);
    let (year_ago, yoy_abs, yoy_pct) = (col("year_ago")?, col("yoy_abs")?, col("yoy_pct")?);
    let (mean3, slope6, anomaly, worse) = (col("mean3")?, col("slope6")?, col("anomaly")?, col("worse3")?);
    let zscore = col("zscore")?;

    let window_start = window.start;
    let noun = period.kind().noun();
    let mut out = Vec::new();
    for (i, row) in grid.into_iter().enumerate() {
        if row.period < window_start {
            continue;
        }
        let metric = catalog.metric(&row.metric).expect("rows come from the catalog");
        let benchmark_status = match (&metric.benchmark, row.value) {
            (Some(b), Some(v)) => {
                let v = b.transform.map_or(v, |t| t.apply(v, period.per_year()));
                Some(if b.min.is_some_and(|min| v < min) {
                    "below"
                } else if b.max.is_some_and(|max| v > max) {
                    "above"
                } else {
                    "meets"
                })
            }
            _ => None,
        };
        // The number of bad moves among the last three.
        let worse_3m = worse[i] == Some(3.0) && row.value.is_some();
        let mut flag_reasons = Vec::new();
        if let (Some(status @ ("below" | "above")), Some(b)) = (benchmark_status, &metric.benchmark) {
            flag_reasons.push(format!("{status} benchmark: {}", b.label));
        }
        if worse_3m {
            let way = if metric.direction == Direction::Up { "down" } else { "up" };
            flag_reasons.push(format!("moved {way} (the wrong way) three {noun}s running"));
        }
        let trend = Trend {
            prev_value: prev[i],
            change_abs: change_abs[i],
            change_pct: change_pct[i],
            year_ago_value: year_ago[i],
            change_yoy_abs: yoy_abs[i],
            change_yoy_pct: yoy_pct[i],
            rolling_mean_3m: mean3[i],
            slope_6m: slope6[i],
            zscore_12m: zscore[i].filter(|z| z.is_finite()),
            anomaly: anomaly[i] == Some(1.0),
            benchmark_status,
            worse_3m,
            flagged: !flag_reasons.is_empty(),
            flag_reasons,
        };
        out.push(SeriesRow { row, trend });
    }
    Ok(out)
}

/// Every series gets a row for every period from `first` to `period` (null
/// where the SQL gave none), so that shifting by n rows is n periods.
fn complete_grid(rows: &[MetricRow], first: Period, period: Period) -> Vec<MetricRow> {
    let mut series: BTreeMap<(usize, &str, &str, &str), BTreeMap<Period, &MetricRow>> = BTreeMap::new();
    let mut order = BTreeMap::new();
    for row in rows {
        let next = order.len();
        let rank = *order.entry((row.metric.as_str(), row.dimension.as_str(), row.segment.as_str())).or_insert(next);
        series
            .entry((rank, row.metric.as_str(), row.dimension.as_str(), row.segment.as_str()))
            .or_default()
            .insert(row.period, row);
    }
    let mut out = Vec::new();
    for ((_, metric, dimension, segment), months) in series {
        let version = months.values().next().map(|r| r.version.clone()).unwrap_or_default();
        let mut m = first;
        while m <= period {
            out.push(match months.get(&m) {
                Some(row) => (*row).clone(),
                None => MetricRow {
                    metric: metric.to_string(),
                    version: version.clone(),
                    period: m,
                    dimension: dimension.to_string(),
                    segment: segment.to_string(),
                    value: None,
                    low_sample: false,
                },
            });
            m = m.plus(1);
        }
    }
    out
}

fn fixed(window_size: usize) -> RollingOptionsFixedWindow {
    RollingOptionsFixedWindow { window_size, min_periods: window_size, ..Default::default() }
}

/// The trend columns, computed per series with window expressions.
fn trend_frame(grid: &[MetricRow], first: Period, per_year: i32, catalog: &Catalog) -> Result<DataFrame> {
    let key: Vec<String> = grid.iter().map(|r| format!("{}\u{1f}{}\u{1f}{}", r.metric, r.dimension, r.segment)).collect();
    let t: Vec<f64> = grid.iter().map(|r| r.period.since(first) as f64).collect();
    let value: Vec<Option<f64>> = grid.iter().map(|r| r.value).collect();
    let direction: Vec<f64> = grid
        .iter()
        .map(|r| match catalog.metric(&r.metric).map(|m| m.direction) {
            Some(Direction::Up) => 1.0,
            Some(Direction::Down) => -1.0,
            _ => 0.0,
        })
        .collect();
    let df = df!("key" => key, "t" => t, "value" => value, "direction" => direction)?;

    let v = || col("value");
    // Least-squares slope over 6 consecutive months with x = 0..5:
    // Σ (x - 2.5)·y / Σ (x - 2.5)² = Σ (x - 2.5)·y / 17.5.
    // Written as a sum of shifts: a gap anywhere in the six months gives null.
    let slope = (0..6)
        .map(|x: i32| v().shift(lit(5 - x)) * lit((f64::from(x) - 2.5) / 17.5))
        .reduce(|a, b| a + b)
        .expect("six terms");
    // Sample standard deviation (n - 1).
    let mut std12 = fixed(12);
    std12.fn_params = Some(RollingFnParams::Var(RollingVarParams { ddof: 1 }));
    let over = |e: Expr| e.over([col("key")]);
    let (prev, year_ago, mean3, slope6, mean12, std12_expr) = (
        over(v().shift(lit(1)))?,
        over(v().shift(lit(per_year)))?,
        over(v().rolling_mean(fixed(3)))?,
        over(slope)?,
        over(v().shift(lit(1)).rolling_mean(fixed(12)))?,
        over(v().shift(lit(1)).rolling_std(std12))?,
    );
    let worse3 = over(col("bad_move").rolling_sum(fixed(3)))?;
    let pct = |now: Expr, before: Expr| {
        when(before.clone().neq(lit(0.0))).then(lit(100.0) * (now - before.clone()) / before.abs()).otherwise(lit(NULL))
    };

    let out = df
        .lazy()
        .with_columns([
            prev.alias("prev"),
            year_ago.alias("year_ago"),
            mean3.alias("mean3"),
            slope6.alias("slope6"),
            mean12.alias("mean12"),
            std12_expr.alias("std12"),
        ])
        .with_columns([
            (v() - col("prev")).alias("change_abs"),
            pct(v(), col("prev")).alias("change_pct"),
            (v() - col("year_ago")).alias("yoy_abs"),
            pct(v(), col("year_ago")).alias("yoy_pct"),
            when(col("std12").gt(lit(0.0)))
                .then((v() - col("mean12")) / col("std12"))
                .otherwise(lit(NULL))
                .alias("zscore"),
            when((v() - col("mean12")).abs().gt(lit(2.0) * col("std12")))
                .then(lit(1.0))
                .otherwise(lit(0.0))
                .alias("anomaly"),
            when(((v() - col("prev")) * col("direction")).lt(lit(0.0)))
                .then(lit(1.0))
                .otherwise(lit(0.0))
                .alias("bad_move"),
        ])
        .with_columns([worse3.alias("worse3")])
        .collect()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(metric: &str, first: Period, values: &[Option<f64>]) -> Vec<MetricRow> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| MetricRow {
                metric: metric.into(),
                version: "v1".into(),
                period: first.plus(i as i32),
                dimension: "all".into(),
                segment: "all".into(),
                value: *v,
                low_sample: false,
            })
            .collect()
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn changes_means_slopes_and_anomalies() {
        let catalog = Catalog::embedded().unwrap();
        let first = Period::month("2023-01".parse().unwrap());
        // 12 flat months at 100 with a little noise, then 13 months rising by 10.
        let mut values: Vec<Option<f64>> = (0..12).map(|i| Some(if i % 2 == 0 { 99.0 } else { 101.0 })).collect();
        values.extend((1..=13).map(|i| Some(100.0 + 10.0 * i as f64)));
        let period = first.plus(values.len() as i32 - 1);
        let series = compute(&catalog, &rows("mrr", first, &values), &Window { period: period, periods: 12, start: period.plus(-12), first }).unwrap();
        assert_eq!(series.len(), 13);
        let last = series.last().unwrap();
        assert_eq!(last.row.period, period);
        assert!(close(last.row.value, 230.0));
        assert!(close(last.trend.prev_value, 220.0));
        assert!(close(last.trend.change_abs, 10.0));
        assert!(close(last.trend.change_pct, 100.0 * 10.0 / 220.0));
        assert!(close(last.trend.year_ago_value, 110.0));
        assert!(close(last.trend.change_yoy_abs, 120.0));
        assert!(close(last.trend.rolling_mean_3m, 220.0));
        assert!(close(last.trend.slope_6m, 10.0));
        // The first rising month (110) is far outside 100 ± 2·std of the flat year.
        let jump = &series[0];
        assert!(close(jump.row.value, 110.0));
        assert!(jump.trend.anomaly);
        assert!(!last.trend.flagged, "MRR rising is good");
    }

    #[test]
    fn wrong_way_three_months_and_benchmarks_flag() {
        let catalog = Catalog::embedded().unwrap();
        let first = Period::month("2024-01".parse().unwrap());
        // Logo churn rising three months in a row: 1, 1, 2, 3, 4 %.
        let values = [Some(1.0), Some(1.0), Some(2.0), Some(3.0), Some(4.0)];
        let period = first.plus(4);
        let series = compute(&catalog, &rows("churn_rate", first, &values), &Window { period: period, periods: 12, start: period.plus(-12), first }).unwrap();
        let last = series.last().unwrap();
        assert!(last.trend.worse_3m);
        // 4 % a month is about 38.7 % a year, far above the 7 % benchmark.
        assert_eq!(last.trend.benchmark_status, Some("above"));
        assert_eq!(last.trend.flag_reasons.len(), 2, "{:?}", last.trend.flag_reasons);
        let one_percent = &series[1];
        assert!(!one_percent.trend.worse_3m);
        // 1 % monthly is 11.4 % a year: still above 7 %.
        assert_eq!(one_percent.trend.benchmark_status, Some("above"));
        // A null month breaks the comparisons instead of faking a zero.
        let values = [Some(2.0), None, Some(2.0)];
        let series = compute(&catalog, &rows("churn_rate", first, &values), &Window { period: first.plus(2), periods: 12, start: first.plus(2).plus(-12), first }).unwrap();
        assert_eq!(series[2].trend.prev_value, None);
        assert_eq!(series[2].trend.change_pct, None);
        assert_eq!(series[2].trend.rolling_mean_3m, None);
    }

    #[test]
    fn percent_change_from_zero_is_null_and_from_negative_uses_its_size() {
        let catalog = Catalog::embedded().unwrap();
        let first = Period::month("2024-01".parse().unwrap());
        let values = [Some(0.0), Some(5.0), Some(-10.0), Some(-5.0)];
        let series = compute(&catalog, &rows("net_new_mrr", first, &values), &Window { period: first.plus(3), periods: 12, start: first.plus(3).plus(-12), first }).unwrap();
        assert_eq!(series[1].trend.change_pct, None);
        assert!(close(series[3].trend.change_pct, 50.0), "{:?}", series[3].trend.change_pct);
    }
}
