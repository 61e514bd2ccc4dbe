//! The rollup store: each usage events file's summary (see [`super::events`])
//! kept between runs in `<output>/.rollups/usage_events/`, so a monthly run
//! reads only the events files that are new or changed.
//!
//! `files.json` remembers, per events file (by absolute path), its size,
//! modification time and inode when it was rolled up, the SHA-256 of its
//! contents, how many events it holds, the SQL it was rolled up with (its
//! `shape`: the rollup and summary SQL and how its columns were typed) and
//! the name of its rollup. A run reuses a rollup when all of these still
//! match, and reads the file otherwise; `run --full` reads every file.
//! A file rewritten with the same size and time to the nanosecond, on the
//! same inode, would go unnoticed: `--full` is the answer to a doubt.
//!
//! Summaries start as files of their own; once [`PACK_AFTER`] are, the
//! save packs every summary into one Parquet file with a `_rollup` column
//! naming each row's summary, and a run reads the ones it reuses from there
//! by name (a changed file's old rows stay in the pack, unread, until the
//! next pack leaves them out). `files.json` records how many files the
//! pack holds: when a run uses every one, it reads the pack whole, without
//! the filter by name, which costs a third of the read.
//!
//! Only `run` writes the store (it holds the output root's lock);
//! `validate` reuses what is there and rolls up anything else in its scratch
//! folder. Rollups of files no run reads any more are deleted.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use duckdb::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::events::{Pack, Stored};
use crate::db::literal;
use crate::error::{Error, Result};
use crate::model::text::hex;

const INDEX: &str = "files.json";

/// The store's folder under the output root.
pub const DIR: &str = ".rollups/usage_events";

/// How the store is used by this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Reuse and keep rollups (`run`).
    Keep,
    /// Read every file again and keep the new rollups (`run --full`).
    Rebuild,
    /// Reuse what is there, keep nothing (`validate`).
    ReadOnly,
}

/// What is known of one events file and its rollup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Known {
    pub bytes: u64,
    modified_ns: i128,
    inode: u64,
    shape: String,
    pub sha256: String,
    pub events: u64,
    rollup: String,
    /// In the pack rather than a file of its own.
    #[serde(default)]
    packed: bool,
}

/// `files.json`: every events file kept, and the pack of their summaries.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    files: BTreeMap<String, Known>,
    pack: Option<String>,
    /// How many files' summaries the pack holds (0 in an index written
    /// before this was recorded: then the pack is always read by name).
    #[serde(default)]
    pack_holds: usize,
}

/// Loose summaries that make the next save pack them: a file costs a few
/// milliseconds to open, so a year of months read as one file is cheaper
/// than twelve; packing costs one rewrite every few months.
const PACK_AFTER: usize = 4;

pub struct Store {
    dir: PathBuf,
    /// Where this run's new summaries go: `dir`, or scratch when read-only.
    out: PathBuf,
    /// Where rollup rows made for a merge go (never kept).
    rows: PathBuf,
    usage: Use,
    known: BTreeMap<String, Known>,
    /// The pack file (`pack-<id>.parquet`), if there is one.
    pack: Option<String>,
    pack_holds: usize,
    /// The files of this run, made or reused: the next `files.json`.
    kept: BTreeMap<String, Known>,
    /// Rollups made this run, kept once their file's checksum is known.
    made: Vec<(PathBuf, Known)>,
}

/// The shape of a rollup: what else than the file's contents it depends on.
pub fn shape(typed: &str) -> String {
    let mut hasher = Sha256::new();
    for text in [super::events::rollup_sql("usage_events.sql"), super::events::rollup_sql("usage_summary.sql"), typed] {
        hasher.update(text.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize())[..16].to_string()
}

fn key(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

/// Size, modification time and inode of a file, as `Known` keeps them.
fn stat(path: &Path) -> Option<(u64, i128, u64)> {
    let meta = fs::metadata(path).ok()?;
    Some((meta.len(), meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128, meta.ino()))
}

impl Store {
    /// Opens the store in `dir` (created on first use). An unreadable
    /// `files.json` is a store started afresh, with a warning.
    pub fn open(dir: PathBuf, usage: Use, scratch: &Path) -> Store {
        let index = dir.join(INDEX);
        let Index { files: known, pack, pack_holds } = match fs::read(&index) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                crate::log::warn(&format!("{} is unreadable ({e}); every events file is read again", index.display()));
                Index::default()
            }),
            Err(_) => Index::default(),
        };
        let out = if usage == Use::ReadOnly { scratch.join("rollups") } else { dir.clone() };
        Store { dir, out, rows: scratch.join("rollup-rows"), usage, known, pack, pack_holds, kept: BTreeMap::new(), made: Vec::new() }
    }

    /// The stored rollup of `path`, if the file has not changed since it
    /// was made with the same `shape` (and the run may reuse it).
    pub fn reuse(&mut self, path: &Path, shape: &str) -> Option<(Stored, Known)> {
        if self.usage == Use::Rebuild {
            return None;
        }
        let key = key(path);
        let known = self.known.get(&key)?;
        let (bytes, modified_ns, inode) = stat(path)?;
        if (known.bytes, known.modified_ns, known.inode) != (bytes, modified_ns, inode) || known.shape != shape {
            return None;
        }
        let rolled = if known.packed {
            self.pack_path().filter(|p| p.is_file())?;
            Stored::Packed(known.rollup.clone())
        } else {
            Some(summary(&self.dir, &known.rollup)).filter(|p| p.is_file()).map(Stored::Loose)?
        };
        let known = known.clone();
        self.kept.insert(key, known.clone());
        Some((rolled, known))
    }

    /// The pack of summaries, if there is one.
    fn pack_path(&self) -> Option<PathBuf> {
        self.pack.as_ref().map(|name| self.dir.join(name))
    }

    /// The pack as `summaries` use it: whole when every file it holds is
    /// among them, so its rows need no filter by name.
    pub fn pack_for(&self, summaries: &[Stored]) -> Option<Pack> {
        let used = summaries.iter().filter(|s| matches!(s, Stored::Packed(_))).count();
        self.pack_path().map(|path| Pack { path, whole: used == self.pack_holds })
    }

    /// Where to write the summary of `path` this run.
    pub fn target(&self, path: &Path, shape: &str) -> Result<PathBuf> {
        fs::create_dir_all(&self.out).map_err(Error::io("creating folder", &self.out))?;
        let mut hasher = Sha256::new();
        hasher.update(key(path).as_bytes());
        hasher.update(format!("{:?}{shape}", stat(path)).as_bytes());
        Ok(summary(&self.out, &hex(&hasher.finalize())[..24]))
    }

    /// What is known of `path` if it has not changed since its rollup was
    /// made (so its checksum need not be computed again).
    pub fn unchanged(&self, path: &Path) -> Option<&Known> {
        let known = self.known.get(&key(path))?;
        (self.usage != Use::Rebuild && stat(path)? == (known.bytes, known.modified_ns, known.inode)).then_some(known)
    }

    /// What is known of `path` if this run reuses its stored rollup.
    pub fn reused(&self, path: &Path) -> Option<&Known> {
        self.kept.get(&key(path))
    }

    /// Where to write the rollup rows of the `index`th file for a merge.
    pub fn rows_target(&self, index: usize) -> Result<PathBuf> {
        fs::create_dir_all(&self.rows).map_err(Error::io("creating folder", &self.rows))?;
        Ok(self.rows.join(format!("{index}.parquet")))
    }

    /// Notes the summary made at `rolled` for `path` this run.
    pub fn made(&mut self, path: &Path, shape: &str, rolled: &Path, events: u64) {
        let Some((bytes, modified_ns, inode)) = stat(path) else { return };
        let name = rolled.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".summary.parquet"));
        let Some(rollup) = name.map(str::to_string) else { return };
        let known = Known { bytes, modified_ns, inode, shape: shape.to_string(), sha256: String::new(), events, rollup, packed: false };
        self.made.push((path.to_path_buf(), known));
    }

    /// Keeps the rollups made this run for the next, with their files'
    /// checksums (`sha256_of`); `keep: false` (the files had lines the CSV
    /// reader rejected, which a reused rollup could not report) drops them.
    pub fn confirm(&mut self, keep: bool, sha256_of: impl Fn(&Path) -> Option<String>) {
        for (path, mut known) in std::mem::take(&mut self.made) {
            if let (true, Some(sha256)) = (keep, sha256_of(&path)) {
                known.sha256 = sha256;
                self.kept.insert(key(&path), known);
            }
        }
    }

    /// Packs the loose summaries when there are enough of them, writes
    /// `files.json` and deletes what no file of this run uses (nothing when
    /// read-only).
    pub fn save(&mut self, conn: &Connection) -> Result<()> {
        if self.usage == Use::ReadOnly || !self.dir.is_dir() {
            return Ok(());
        }
        if self.kept.values().filter(|k| !k.packed).count() >= PACK_AFTER {
            self.write_pack(conn)?;
        }
        let index = self.dir.join(INDEX);
        let part = self.dir.join(format!("{INDEX}.part"));
        let index_now = Index { files: self.kept.clone(), pack: self.pack.clone(), pack_holds: self.pack_holds };
        let text = serde_json::to_vec_pretty(&index_now).expect("the index serialises");
        fs::write(&part, text).map_err(Error::io("writing", &part))?;
        fs::rename(&part, &index).map_err(Error::io("writing", &index))?;
        let mut used: Vec<String> = self.kept.values().filter(|k| !k.packed).map(|k| format!("{}.summary.parquet", k.rollup)).collect();
        used.extend(self.pack.clone());
        used.push(INDEX.to_string());
        for entry in fs::read_dir(&self.dir).map_err(Error::io("listing", &self.dir))?.flatten() {
            if !used.contains(&entry.file_name().to_string_lossy().to_string()) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// One new pack of every kept summary: the old pack's rows still used,
    /// and the loose files, each row with its summary's name (`_rollup`).
    fn write_pack(&mut self, conn: &Connection) -> Result<()> {
        let mut selects = Vec::new();
        let mut params: Vec<String> = Vec::new();
        let packed: Vec<String> = self.kept.values().filter(|k| k.packed).map(|k| literal(&k.rollup)).collect();
        if let (Some(pack), false) = (self.pack_path(), packed.is_empty()) {
            selects.push(format!("SELECT * FROM read_parquet(?) WHERE _rollup IN ({})", packed.join(", ")));
            params.push(pack.display().to_string());
        }
        for known in self.kept.values().filter(|k| !k.packed) {
            selects.push(format!("SELECT {} AS _rollup, * FROM read_parquet(?)", literal(&known.rollup)));
            params.push(summary(&self.dir, &known.rollup).display().to_string());
        }
        let mut hasher = Sha256::new();
        for known in self.kept.values() {
            hasher.update(known.rollup.as_bytes());
        }
        let name = format!("pack-{}.parquet", &hex(&hasher.finalize())[..24]);
        let (target, part) = (self.dir.join(&name), self.dir.join(format!("{name}.part")));
        let sql = format!("COPY ({}) TO {} (FORMAT parquet)", selects.join(" UNION ALL BY NAME "), literal(&part.display().to_string()));
        let mut stmt = conn.prepare(&sql).map_err(Error::db("packing the usage summaries"))?;
        stmt.execute(duckdb::params_from_iter(params.iter())).map_err(Error::db("packing the usage summaries"))?;
        fs::rename(&part, &target).map_err(Error::io("writing", &target))?;
        self.pack = Some(name);
        self.pack_holds = self.kept.len();
        self.kept.values_mut().for_each(|k| k.packed = true);
        Ok(())
    }
}

fn summary(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.summary.parquet"))
}
