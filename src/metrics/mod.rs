//! Computing the numbers: the metric catalog (`queries/` as data), the
//! engine that runs its SQL in DuckDB, and the trends polars derives from
//! the computed series.

pub mod catalog;
pub mod engine;
pub mod trend;
