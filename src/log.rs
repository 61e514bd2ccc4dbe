//! Log lines for cron: every stderr line carries an ISO timestamp and a
//! level. Progress (INFO) is printed only with `--verbose`; warnings are held
//! back until the run ends, so the first line cron mails is what happened:
//! the error of a failed run, or the warnings of one that published.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);
static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// Prints progress lines as they happen (`--verbose`).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// The lines as written: `2026-11-02T06:00:01.123Z WARN cs-report: text`,
/// every line of a long message with the same prefix (so `grep ERROR` and
/// log shippers keep them together).
pub fn line(level: Level, text: &str) -> String {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    text.trim_end()
        .lines()
        .map(|l| format!("{now} {} cs-report: {l}", level.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn info(text: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        eprintln!("{}", line(Level::Info, text));
    }
}

/// A warning, printed when the command ends (see [`flush`]).
pub fn warn(text: &str) {
    let line = line(Level::Warn, text);
    if VERBOSE.load(Ordering::Relaxed) {
        eprintln!("{line}");
    } else if let Ok(mut held) = HELD.lock() {
        held.push(line);
    }
}

/// Ends the command's log: the error first (when there is one), then the
/// warnings held back.
pub fn flush(error: Option<&str>) {
    if let Some(text) = error {
        eprintln!("{}", line(Level::Error, text));
    }
    if let Ok(mut held) = HELD.lock() {
        for line in held.drain(..) {
            eprintln!("{line}");
        }
    }
}
