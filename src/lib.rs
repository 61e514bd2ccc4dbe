//! cs-report: turns a company's warehouse exports into its monthly
//! customer-success and SaaS-metrics report. The binary is a thin shell over
//! [`cli::execute`]; [`pipeline::run`] is the monthly job, and each of its
//! stages has a folder: [`load`] (read, check, judge freshness) →
//! [`metrics`] (SQL, trends) → [`report`] (templates, charts, the email) →
//! [`publish`] (the period folder, the history store, the lock) →
//! [`deliver`] (sending the email). [`parallel`] splits the work after
//! DuckDB over the cores.

pub mod cli;
pub mod config;
pub mod contract;
pub mod db;
pub mod deliver;
pub mod embedded;
pub mod error;
pub mod load;
pub mod log;
pub mod metrics;
pub mod model;
pub mod parallel;
pub mod pipeline;
pub mod publish;
pub mod report;
pub mod sample;
