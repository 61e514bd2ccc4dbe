//! One run at a time per output root: an OS file lock (`flock`) on
//! `.cs-report.lock`, held for the whole run. The kernel grants it to one
//! process only, however close together two runs start, and releases it
//! when the holder exits or is killed, so a dead run never blocks the next.
//! The file also names the holder (PID and start time) for the message the
//! second run prints.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const LOCK_FILE: &str = ".cs-report.lock";

/// Held while a run writes into its output root; released when dropped (or
/// when the process ends, whatever the way).
#[derive(Debug)]
pub struct RootLock {
    // The lock lives as long as this open file. The file itself stays: removing
    // it would let a run that opened the old file and one that creates a new
    // one both hold "the" lock.
    file: File,
    path: PathBuf,
}

impl RootLock {
    /// Takes the lock of `root`, or fails with exit 75 naming the holder.
    pub fn acquire(root: &Path) -> Result<RootLock> {
        fs::create_dir_all(root).map_err(Error::io("creating output folder", root))?;
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::io("opening lock", &path))?;
        // SAFETY: a valid open descriptor; flock has no memory effects.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(Error::io("locking", &path)(err));
            }
            let holder = fs::read_to_string(&path).unwrap_or_default();
            let mut words = holder.split_whitespace();
            let holder = match (words.next(), words.next()) {
                (Some(pid), Some(started)) => format!("pid {pid}, started {started}"),
                _ => "just starting".to_string(),
            };
            return Err(Error::NotReady(format!(
                "another cs-report run ({holder}) is writing to {}; this run did nothing. \
                 Wait for it to finish (it holds {})",
                root.display(),
                path.display()
            )));
        }
        let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{} {started}", std::process::id())?;
            file.sync_all()
        };
        write(&mut file).map_err(Error::io("writing", &path))?;
        Ok(RootLock { file, path })
    }
}

impl Drop for RootLock {
    fn drop(&mut self) {
        // Leave the file, empty: the next run's message then reads "just
        // starting" only while a run really is starting.
        let _ = self.file.set_len(0);
        let _ = &self.path;
    }
}
