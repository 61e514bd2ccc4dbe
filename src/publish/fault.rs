//! Named points in publishing where the test suite injects faults, so that
//! "after any kill or I/O error, the published folder and the history agree"
//! is tested at every step rather than hoped for. `CS_REPORT_FAULT` names one
//! point: `kill:<point>` ends the process on the spot (as SIGKILL would),
//! `io:<point>` fails there with a full disk (ENOSPC), `busy:<point>` as if
//! another process held the lock. Unset, each point
//! costs one environment lookup.

use crate::error::{Error, Result};

pub const VARIABLE: &str = "CS_REPORT_FAULT";

/// Every point, in the order a run passes them.
pub const POINTS: [&str; 7] =
    ["history.write", "publish.write", "publish.staged", "publish.swapped", "publish.cleaned", "history.confirm", "done"];

pub fn point(name: &str) -> Result<()> {
    let Ok(spec) = std::env::var(VARIABLE) else { return Ok(()) };
    match spec.split_once(':') {
        Some(("kill", at)) if at == name => {
            // SAFETY: ends the process at once, without unwinding or flushing,
            // as a kill would.
            unsafe { libc::_exit(137) }
        }
        Some(("io", at)) if at == name => Err(Error::io("writing (injected fault)", name)(std::io::Error::from_raw_os_error(libc::ENOSPC))),
        // Another process took what this point needs (the lock) meanwhile.
        Some(("busy", at)) if at == name => Err(Error::NotReady(format!("another process holds it (injected fault at {name})"))),
        _ => Ok(()),
    }
}
