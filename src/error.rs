//! The errors a run can end with, and the exit code each one means to cron.

use std::path::PathBuf;

/// Everything that can stop a command. The message is written for the person
/// who reads cron's mail: it names the file, key, table or metric, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file is unreadable, has an unknown key, a wrong type or an
    /// impossible value.
    #[error("config {file}: {message}")]
    Config { file: String, message: String },

    /// Bad command-line arguments that clap could not catch (a bad period...).
    #[error("{0}")]
    Usage(String),

    /// The input exports are missing, unreadable or break the input contract.
    #[error("{0}")]
    Input(String),

    /// The inputs are not ready (an export has not caught up with the
    /// period yet) or another run holds the lock: try again later.
    #[error("not ready, try later: {0}")]
    NotReady(String),

    /// The run finished computing but a check failed (the MRR identity...);
    /// nothing was published.
    #[error("check failed: {0}")]
    Check(String),

    /// A metric's SQL or metadata is broken: a bug in `queries/`.
    #[error("metric {metric}: {message}")]
    Metric { metric: String, message: String },

    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },

    /// DuckDB failed while doing the named step.
    #[error("{step}: {source}")]
    Db { step: String, source: duckdb::Error },

    /// Polars failed while computing trends.
    #[error("computing trends: {0}")]
    Trend(#[from] polars::error::PolarsError),

    /// The report was published but the SMTP server did not take the email.
    #[error("{0}; the report stays published, send it again with `cs-report send`")]
    Send(String),

    /// A report template failed to render.
    #[error("rendering {template}: {source:#}")]
    Render { template: String, source: minijinja::Error },
}

impl Error {
    /// The process exit code: 1 when the run finished but a check failed
    /// (nothing published), 75 (`EX_TEMPFAIL`) when it should be tried again
    /// later, 2 when it could not run.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Check(_) => 1,
            Error::NotReady(_) => EXIT_NOT_READY,
            Error::Send(_) => EXIT_NOT_SENT,
            _ => 2,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { action, path, source }
    }

    pub fn db(step: impl Into<String>) -> impl FnOnce(duckdb::Error) -> Error {
        let step = step.into();
        move |source| Error::Db { step, source }
    }
}

/// `EX_TEMPFAIL` of sysexits.h: cron wrappers know it as "try again later".
pub const EXIT_NOT_READY: i32 = 75;

/// The report is published, but the email could not be sent (SMTP).
pub const EXIT_NOT_SENT: i32 = 3;

pub type Result<T, E = Error> = std::result::Result<T, E>;
