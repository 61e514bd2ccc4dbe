//! One run at a time per output root: a lock file holding the run's PID.
//! A lock whose process is gone (killed, crashed) is stale and taken over.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const LOCK_FILE: &str = ".cs-report.lock";

/// Held while a run writes into its output root; removed when dropped.
#[derive(Debug)]
pub struct RootLock {
    path: PathBuf,
}

impl RootLock {
    pub fn acquire(root: &Path) -> Result<RootLock> {
        fs::create_dir_all(root).map_err(Error::io("creating output folder", root))?;
        let path = root.join(LOCK_FILE);
        let me = std::process::id();
        // Two tries: the second after clearing a stale lock.
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    writeln!(file, "{me} {started}").map_err(Error::io("writing", &path))?;
                    return Ok(RootLock { path });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    let mut words = text.split_whitespace();
                    let pid = words.next().and_then(|p| p.parse::<u32>().ok());
                    let started = words.next().unwrap_or("at an unknown time");
                    match pid {
                        Some(pid) if pid != me && is_running_cs_report(pid) => {
                            return Err(Error::Usage(format!(
                                "another cs-report run (pid {pid}, started {started}) is writing to {}; \
                                 wait for it to finish (its lock is {})",
                                root.display(),
                                path.display()
                            )));
                        }
                        _ => {
                            eprintln!("cs-report: taking over a stale lock {} ({})", path.display(), text.trim());
                            match fs::remove_file(&path) {
                                Ok(()) => {}
                                Err(e) if e.kind() == ErrorKind::NotFound => {}
                                Err(e) => return Err(Error::io("removing stale lock", &path)(e)),
                            }
                        }
                    }
                }
                Err(e) => return Err(Error::io("creating lock", &path)(e)),
            }
        }
        Err(Error::Usage(format!("could not take the lock {}: another run took it first", path.display())))
    }
}

impl Drop for RootLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether `pid` is a live cs-report process (not a recycled PID of
/// something else).
pub(crate) fn is_running_cs_report(pid: u32) -> bool {
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(argv0).ends_with("cs-report")
        }
        // Without /proc, trust the lock: refusing is the safe mistake.
        Err(_) => !Path::new("/proc/self").exists(),
    }
}
