//! cs-report: turns a company's warehouse exports into its monthly
//! customer-success and SaaS-metrics report. The binary is a thin shell over
//! [`cli::execute`]; [`pipeline::run`] is the monthly job.

pub mod catalog;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod fault;
pub mod freshness;
pub mod format;
pub mod history;
pub mod inputs;
pub mod lock;
pub mod log;
pub mod output;
pub mod period;
pub mod pipeline;
pub mod report;
pub mod sample;
pub mod trend;
pub mod validate;
