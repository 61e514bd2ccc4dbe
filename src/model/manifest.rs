//! `manifest.json`, the record of one published run: what it read, which
//! SQL it ran, what it wrote and what was sent of it. Written by the
//! pipeline, read by the history store's recovery and by `send`, always
//! through this type. Versioned by `schema_version`; a manifest written
//! before the field existed reads as version 0.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::rows::{InputMonth, MetricRun, Restatement, SendRecord, Unavailable};

/// The version of the manifest's shape this build writes.
pub const SCHEMA_VERSION: u32 = 1;

pub const FILE: &str = "manifest.json";

/// Every part but the run's id may be missing from a manifest an older
/// version wrote (it reads as empty): `send` and the history's recovery
/// need only the id, the freshness and the sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Manifest {
    pub schema_version: u32,
    pub tool: Tool,
    pub period: String,
    pub run: Run,
    /// The resolved config, as the run used it.
    pub config: Value,
    pub periods_computed: Span,
    /// Each contract table: present or not, format, rows, missing columns,
    /// its files with sizes and checksums, whether staged.
    pub inputs: Vec<Value>,
    /// The raw exports staging read, with their files.
    pub raw_inputs: Value,
    pub shared_sql: Vec<SqlRun>,
    pub metrics: Vec<MetricRun>,
    pub unavailable: Vec<Unavailable>,
    pub restatements: Vec<Restatement>,
    /// One freshness verdict per table (`table`, `stale`, the rule...).
    pub freshness: Vec<Value>,
    pub inputs_sha256: String,
    /// What each input table held per month (rows, amounts, a checksum):
    /// what a later run's restatements are explained against.
    pub inputs_by_month: Vec<InputMonth>,
    pub outputs: BTreeMap<String, Output>,
    /// What `send` sent of this report, appended as it goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<SendRecord>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    /// Milliseconds per stage, in the order the stages ran.
    pub timings_ms: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Span {
    pub first: String,
    pub last: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SqlRun {
    pub file: String,
    pub sha256: String,
    pub millis: Option<u128>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Output {
    pub bytes: usize,
    pub sha256: String,
}

impl Manifest {
    /// The manifest of the period folder `folder`.
    pub fn read(folder: &Path) -> Result<Manifest> {
        let path = folder.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(Error::io("reading", &path))?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| Error::Input(format!("{}: not a cs-report manifest ({e})", path.display())))?;
        if manifest.run.id.is_empty() {
            return Err(Error::Input(format!("{}: has no run id", path.display())));
        }
        Ok(manifest)
    }

    /// The text written: pretty JSON, a newline at the end.
    pub fn text(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest serialises") + "\n"
    }

    /// Writes it into `folder` beside the old one and renames it in, so the
    /// manifest is whole at every moment.
    pub fn replace_in(&self, folder: &Path) -> Result<()> {
        let path = folder.join(FILE);
        let part = folder.join(".manifest.json.part");
        std::fs::write(&part, self.text()).map_err(Error::io("writing", &part))?;
        std::fs::rename(&part, &path).map_err(Error::io("replacing", &path))
    }

    /// The tables the report was published without (stale), by name.
    pub fn stale_tables(&self) -> Vec<String> {
        self.freshness
            .iter()
            .filter(|v| v["stale"].as_bool() == Some(true))
            .map(|v| v["table"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}
