//! The input contract (shared/spec/INPUTS.md) as data, and the loader that
//! reads each export once into a typed DuckDB table.

pub mod events;
pub mod freshness;
pub mod profile;
pub mod rollups;
pub mod staging;
pub mod validate;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use duckdb::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{Config, TableMapping};
use crate::contract::{ColumnKind, TableSpec, TABLES};
use crate::db::{ident, literal};
use crate::model::text::hex;
use crate::error::{Error, Result};

/// How the loader types a raw value of each kind of column.
impl ColumnKind {

    /// The expression turning raw column `src` into the typed value; NULL
    /// when it does not parse (detected and reported by validation).
    fn cast(self, src: &str) -> String {
        // DuckDB's casts ignore surrounding blanks, so no TRIM (it costs a
        // third of a second per column on millions of rows).
        let text = format!("CAST({src} AS VARCHAR)");
        match self {
            ColumnKind::Text => text,
            ColumnKind::Code => format!("lower(trim({text}))"),
            ColumnKind::Currency => format!("upper(trim({text}))"),
            ColumnKind::Date => format!("TRY_CAST({text} AS DATE)"),
            ColumnKind::Timestamp => format!("utc_timestamp({text})"),
            ColumnKind::Decimal | ColumnKind::Rate => format!("TRY_CAST({text} AS {})", self.sql_type()),
            // A BIGINT cast rounds 7.6 to 8: a fraction must be bad input instead.
            ColumnKind::Integer => format!(
                "CASE WHEN TRY_CAST({text} AS DOUBLE) = round(TRY_CAST({text} AS DOUBLE)) THEN TRY_CAST({text} AS BIGINT) END"
            ),
        }
    }

    /// The expression typing column `src` of a Parquet export whose own
    /// type is `source` (as DESCRIBE names it). Where that type already is
    /// the contract's, or converts exactly, the value is converted as it is,
    /// never printed to text and parsed back: that per-row round trip cost
    /// five times DuckDB's own read of the file (a `TIMESTAMP WITH TIME
    /// ZONE` printed and re-parsed, most of all). Other types go through
    /// text like CSV cells, with the same rules.
    fn cast_parquet(self, src: &str, source: &str) -> String {
        let source = source.to_ascii_uppercase();
        let integer = matches!(
            source.as_str(),
            "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" | "HUGEINT" | "UTINYINT" | "USMALLINT" | "UINTEGER" | "UBIGINT" | "UHUGEINT"
        );
        // DECIMAL(p,s): exact; fits the contract's scale when s is not larger.
        let scale = source
            .strip_prefix("DECIMAL(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|ps| ps.split_once(','))
            .and_then(|(_, s)| s.trim().parse::<u32>().ok());
        match (self, source.as_str()) {
            (ColumnKind::Text, "VARCHAR") => src.to_string(),
            (ColumnKind::Code, "VARCHAR") => format!("lower(trim({src}))"),
            (ColumnKind::Currency, "VARCHAR") => format!("upper(trim({src}))"),
            (ColumnKind::Date, "DATE") => src.to_string(),
            // A timestamp without a zone is UTC, as text without an offset is.
            (ColumnKind::Timestamp, "TIMESTAMP" | "TIMESTAMP_S" | "TIMESTAMP_MS" | "TIMESTAMP_NS" | "DATE") => format!("CAST({src} AS TIMESTAMP)"),
            // An instant: its UTC wall time, whatever the session's zone.
            (ColumnKind::Timestamp, "TIMESTAMP WITH TIME ZONE") => format!("make_timestamp(epoch_us({src}))"),
            (ColumnKind::Decimal, _) if integer || scale.is_some_and(|s| s <= 6) => format!("TRY_CAST({src} AS DECIMAL(18,6))"),
            (ColumnKind::Rate, _) if integer || scale.is_some_and(|s| s <= 10) => format!("TRY_CAST({src} AS DECIMAL(18,10))"),
            (ColumnKind::Integer, _) if integer => format!("TRY_CAST({src} AS BIGINT)"),
            _ => self.cast(src),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Parquet,
    /// Made by a staging SQL file from raw exports (see [`staging`]).
    Staged,
    /// Usage events rolled up by another engine with
    /// `queries/_rollup/usage_events.sql` (Parquet; see [`events`]).
    Rollup,
}

/// One export found in the data directory.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// CSV records that start further down than their number says (after
    /// a quoted line break or a blank line): (record number, lines to add),
    /// in order. Empty for most files.
    #[serde(skip)]
    pub line_shifts: Vec<(u64, u64)>,
}

impl InputFile {
    pub fn new(path: PathBuf) -> InputFile {
        InputFile { path, bytes: 0, sha256: String::new(), line_shifts: Vec::new() }
    }

    /// The line a CSV record starts on, from its number (the header is 1).
    pub fn line_of(&self, record: u64) -> u64 {
        let shift = self.line_shifts.iter().take_while(|(from, _)| *from <= record).last().map_or(0, |(_, by)| *by);
        record + shift
    }
}

/// A table as loaded: where it came from and how many rows it has.
#[derive(Debug, Clone, Serialize)]
pub struct LoadedTable {
    pub table: &'static str,
    pub format: Option<Format>,
    /// The files read; empty when the (optional) table is missing.
    pub files: Vec<InputFile>,
    pub rows: u64,
    /// Contract columns absent from the export, loaded as all-null.
    pub missing_columns: Vec<&'static str>,
    /// Contract column -> column name in the export.
    #[serde(skip)]
    pub source_columns: BTreeMap<&'static str, String>,
    /// The table function that reads the export, with one `?` per file.
    #[serde(skip)]
    reader: String,
    /// The typed columns and flags of the load, and the raw-text columns
    /// they are computed from (see [`LoadedTable::create_lined`]).
    #[serde(skip)]
    typed: String,
    #[serde(skip)]
    raw: String,
    /// The quoted names of the `_raw_<column>` columns in `raw`.
    #[serde(skip)]
    raw_columns: Vec<String>,
    /// CSV lines that could not be parsed at all, by kind.
    #[serde(skip)]
    pub broken_lines: Vec<BrokenLines>,
    /// How many lines the CSV reader rejected (each counted once).
    #[serde(skip)]
    pub rejected_lines: u64,
    /// The plain-named links DuckDB reads, one per file of `files`.
    #[serde(skip)]
    links: Vec<PathBuf>,
    /// Read into aggregates, not stored (see [`events`]).
    #[serde(skip)]
    pub aggregated: bool,
    /// Made by a staging file from these raw exports (`files` is then the
    /// staging file; rows keep their raw position in `_row`).
    #[serde(skip)]
    pub staging: Option<std::sync::Arc<[staging::RawTable]>>,
    /// What the report's notes say of this table: its staging file's
    /// `-- note:` lines, rows left out because they name no customer.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// For the usage events: which files were read and which rollups reused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollups: Option<RollupUse>,
}

/// How the usage events of a run were read (see [`rollups`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RollupUse {
    pub files_read: usize,
    pub files_reused: usize,
    pub events_read: u64,
    pub events_reused: u64,
    /// Time spent reading and rolling up files, then combining summaries.
    pub read_ms: u64,
    pub combine_ms: u64,
}

/// One kind of unparsable CSV line (too many fields, bad quoting...).
#[derive(Debug, Clone)]
pub struct BrokenLines {
    pub kind: String,
    pub columns: Vec<String>,
    pub count: u64,
    /// `file line N: text of the line`, the first five.
    pub examples: Vec<String>,
}

impl LoadedTable {
    pub fn present(&self) -> bool {
        !self.files.is_empty()
    }

    /// Reads the export again, typed as at load, into the temporary table
    /// `_lined_<table>` with each row's file (`_file`, an index into
    /// `files`), position (`_line`: the CSV line, header = 1, or the Parquet
    /// row) and raw text (`_raw_<column>`). Only called when a run already
    /// fails, to point at the offending rows; normal runs read each file once.
    /// Returns the table's name.
    pub fn create_lined(&self, conn: &Connection) -> Result<String> {
        let name = format!("_lined_{}", self.table);
        let first = match self.format {
            Some(Format::Csv) => 2,
            _ => 1,
        };
        let keep_raw: String = self.raw_columns.iter().map(|c| format!(", {c}")).collect();
        // A staged row carries its raw position: `_row` (see [`staging`]).
        let sql = if self.staging.is_some() {
            format!(
                "CREATE OR REPLACE TEMP TABLE {name} AS \
                 SELECT {typed}{keep_raw}, coalesce(CAST(_row AS BIGINT) >> 40, -1) AS _file, \
                        coalesce(CAST(_row AS BIGINT) & 1099511627775, 0) AS _line FROM ( \
                     SELECT _row, {raw} FROM {reader})",
                typed = self.typed,
                raw = self.raw,
                reader = self.reader,
            )
        } else {
            format!(
                "CREATE OR REPLACE TEMP TABLE {name} AS \
                 SELECT * EXCLUDE (_n), _n - min(_n) OVER (PARTITION BY _file) + {first} AS _line FROM ( \
                     SELECT {typed}{keep_raw}, _file, _n FROM ( \
                         SELECT row_number() OVER () AS _n, file_index AS _file, {raw} FROM {reader}))",
                typed = self.typed,
                raw = self.raw,
                reader = self.reader,
            )
        };
        let paths: Vec<String> = self.links.iter().map(|p| p.display().to_string()).collect();
        conn.execute(&sql, duckdb::params_from_iter(paths.iter()))
            .map_err(Error::db(format!("re-reading {} to locate bad rows", self.source_name())))?;
        Ok(name)
    }

    /// Where a row of the lined table is, in words: `line 7` or
    /// `part-2.csv line 7` (`row 7` for Parquet).
    pub fn position(&self, file: i64, line: i64) -> String {
        if let Some(raws) = &self.staging {
            return match usize::try_from(file).ok().and_then(|f| raws.get(f >> 8).map(|raw| (raw, f & 0xff))) {
                Some((raw, part)) => raw.position(part, line),
                None => "a row the staging SQL made without a raw `_row`".to_string(),
            };
        }
        let file = file as usize;
        let unit = if self.format == Some(Format::Csv) { "line" } else { "row" };
        let line = match self.files.get(file) {
            Some(f) if self.format == Some(Format::Csv) => f.line_of(line.max(0) as u64) as i64,
            _ => line,
        };
        match self.files.as_slice() {
            [_] => format!("{unit} {line}"),
            files => {
                let name = files.get(file).and_then(|f| f.path.file_name()).map_or("?".into(), |n| n.to_string_lossy().to_string());
                format!("{name} {unit} {line}")
            }
        }
    }

    /// How to name this table's source in a message.
    pub fn source_name(&self) -> String {
        match self.files.as_slice() {
            [] => format!("{} (missing)", self.table),
            [one] => one.path.display().to_string(),
            [first, ..] => first.path.parent().unwrap_or(&first.path).display().to_string(),
        }
    }
}

/// Finds the files of every table in `dir`: `<table>.csv`, `<table>.parquet`
/// or a folder `<table>/` of parts, with the config's file-name mapping.
/// A contract table and its files, if the data directory has it.
pub type Found = (&'static TableSpec, Option<(Format, Vec<PathBuf>)>);

/// Tables in `staged` come from staging SQL and are not looked for.
pub fn discover(
    dir: &Path,
    mappings: &BTreeMap<String, TableMapping>,
    staged: &BTreeMap<&'static str, staging::StagedTable>,
) -> Result<Vec<Found>> {
    if !dir.is_dir() {
        return Err(Error::Input(format!(
            "data directory {} does not exist or is not a folder; set `data:` in the config or pass --data DIR",
            dir.display()
        )));
    }
    let mut found = Vec::new();
    for spec in TABLES {
        if let Some(table) = staged.get(spec.name) {
            found.push((spec, Some((Format::Staged, vec![table.output.clone()]))));
            continue;
        }
        let name = mappings.get(spec.name).and_then(|m| m.file.clone()).unwrap_or_else(|| spec.name.to_string());
        let mut located = locate(dir, &name)?;
        if spec.aggregated {
            located = with_rollup(dir, &name, located)?;
        }
        if located.is_none() && spec.required {
            return Err(Error::Input(format!(
                "required table `{}` not found in {}: expected {name}.csv, {name}.parquet or a folder {name}/ of parts",
                spec.name,
                dir.display()
            )));
        }
        found.push((spec, located));
    }
    Ok(found)
}

fn locate(dir: &Path, name: &str) -> Result<Option<(Format, Vec<PathBuf>)>> {
    let direct = dir.join(name);
    if let Some(format) = format_of(&direct) {
        if direct.is_file() {
            return Ok(Some((format, vec![direct])));
        }
    }
    let mut hits = Vec::new();
    for (ext, format) in [("csv", Format::Csv), ("parquet", Format::Parquet)] {
        let file = dir.join(format!("{name}.{ext}"));
        if file.is_file() {
            hits.push((format, vec![file]));
        }
    }
    if direct.is_dir() {
        let mut parts = Vec::new();
        collect_parts(&direct, &mut parts).map_err(Error::io("reading folder", &direct))?;
        parts.sort();
        let formats: Vec<Format> = parts.iter().filter_map(|p| format_of(p)).collect();
        match formats.first() {
            None => {
                return Err(Error::Input(format!("folder {} holds no .csv or .parquet parts", direct.display())));
            }
            Some(first) if formats.iter().any(|f| f != first) => {
                return Err(Error::Input(format!(
                    "folder {} mixes .csv and .parquet parts; all parts of one table must share one format",
                    direct.display()
                )));
            }
            Some(first) => hits.push((*first, parts.into_iter().filter(|p| format_of(p).is_some()).collect())),
        }
    }
    if hits.len() > 1 {
        return Err(Error::Input(format!(
            "table `{name}` is given more than once in {} (pick one of {name}.csv, {name}.parquet, {name}/)",
            dir.display()
        )));
    }
    Ok(hits.pop())
}

/// The usage events, or in their place a rollup another engine wrote
/// (`<name>_rollup.parquet` or a folder `<name>_rollup/` of Parquet parts).
fn with_rollup(dir: &Path, name: &str, events: Option<(Format, Vec<PathBuf>)>) -> Result<Option<(Format, Vec<PathBuf>)>> {
    let rollup_name = format!("{name}_rollup");
    let Some((format, paths)) = locate(dir, &rollup_name)? else { return Ok(events) };
    if events.is_some() {
        return Err(Error::Input(format!(
            "{} holds both the usage events and a rollup of them ({rollup_name}); keep one",
            dir.display()
        )));
    }
    if format != Format::Parquet {
        return Err(Error::Input(format!("the usage rollup {rollup_name} in {} must be Parquet, as an engine writes it", dir.display())));
    }
    Ok(Some((Format::Rollup, paths)))
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "csv" => Some(Format::Csv),
        "parquet" => Some(Format::Parquet),
        _ => None,
    }
}

fn collect_parts(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_parts(&path, out)?;
        } else if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether the parts of a table folder form one Hive layout: every file
/// under the same `key=value/` folder names. A mix is read without them.
fn hive_layout(paths: &[PathBuf]) -> bool {
    let keys = |p: &PathBuf| -> Vec<String> {
        p.parent()
            .map(|d| d.components().filter_map(|c| c.as_os_str().to_str()?.split_once('=').map(|(k, _)| k.to_string())).collect())
            .unwrap_or_default()
    };
    let first = paths.first().map(keys).unwrap_or_default();
    !first.is_empty() && paths.iter().all(|p| keys(p) == first)
}

/// The column names on the first line of a CSV file: comma-separated,
/// double quotes respected, a UTF-8 BOM and CR ignored.
fn csv_header(path: &Path) -> Result<Vec<String>> {
    use std::io::BufRead;
    let file = fs::File::open(path).map_err(Error::io("reading", path))?;
    let mut line = Vec::new();
    std::io::BufReader::new(file).read_until(b'\n', &mut line).map_err(Error::io("reading", path))?;
    let text = String::from_utf8_lossy(&line);
    let text = text.trim_start_matches('\u{feff}').trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return Err(Error::Input(format!("{}: the first line holds no column names", path.display())));
    }
    let mut names = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => names.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    names.push(current);
    Ok(names.into_iter().map(|n| n.trim().to_string()).collect())
}

/// Reads every table once into DuckDB. Missing optional tables become empty
/// tables of the right shape, so metric SQL never has to ask.
///
/// DuckDB expands glob characters in the paths it is given (`*.csv`,
/// `d[1]`), so it never sees the exports' own paths: each file is linked
/// under `scratch` with a plain name and read through the link. The files
/// read are then exactly the files listed in the manifest.
/// Raw exports named in the config are read and staged first (see
/// [`staging`]); the tables they make load like any other export.
pub fn load_all(conn: &Connection, config: &Config, data: &Path, scratch: &Path, store: &mut rollups::Store) -> Result<Loaded> {
    LONG_RECORD.store(config.limits.csv_line_mib * 1024 * 1024, std::sync::atomic::Ordering::Relaxed);
    let staged = staging::stage(config, data, scratch)?.unwrap_or_default();
    let found = discover(data, &config.tables, &staged.tables)?;
    // Checksums are for the manifest, record counts for the check that every
    // CSV record was read: both on another thread while DuckDB parses. An
    // events file whose stored rollup is reused is not read at all.
    let paths: Vec<(PathBuf, bool)> = found
        .iter()
        .flat_map(|(_, f)| f.iter().filter(|(format, _)| *format != Format::Staged).flat_map(|(format, p)| p.iter().map(|p| (p.clone(), *format == Format::Csv))))
        .filter(|(p, _)| store.unchanged(p).is_none())
        .chain(staged.tables.values().map(|t| (t.sql.clone(), false)))
        .collect();
    let scanner = std::thread::spawn(move || scan_files(&paths));
    let mut loaded = Vec::new();
    for (spec, files) in found {
        let mapping = config.tables.get(spec.name).cloned().unwrap_or_default();
        let started = std::time::Instant::now();
        let table = load_table(conn, spec, files, &mapping, &scratch.join("inputs"), store)?;
        if table.present() {
            crate::log::info(&format!("loaded {} ({} rows) in {} ms", table.table, table.rows, started.elapsed().as_millis()));
        }
        loaded.push(table);
    }
    let mut scans = scanner.join().map_err(|_| Error::Input("reading the input files failed".into()))??;
    for table in &mut loaded {
        if let Some(staged_by) = staged.tables.get(table.table) {
            // The staged file is the run's own; the input is the staging SQL.
            table.files = vec![InputFile::new(staged_by.sql.clone())];
            table.staging = Some(staged.raw.clone());
            table.notes.extend(staged_by.notes.iter().cloned());
        }
        account_for_files(table, &mut scans, store)?;
    }
    store.save(conn)?;
    Ok(Loaded { tables: loaded, raw: staged.raw.to_vec() })
}

/// Fills in each file's size and checksum (from the scan, or from the
/// rollup store for an events file not read again) and checks that the CSV
/// reader read every record of the files it read.
fn account_for_files(table: &mut LoadedTable, scans: &mut BTreeMap<PathBuf, FileScan>, store: &mut rollups::Store) -> Result<()> {
    let csv = table.format == Some(Format::Csv);
    let mut records = 0u64;
    let mut long = Vec::new();
    for (i, file) in table.files.iter_mut().enumerate() {
        if !scans.contains_key(&file.path) {
            if let Some(known) = store.reused(&file.path) {
                (file.bytes, file.sha256) = (known.bytes, known.sha256.clone());
                continue;
            }
            // Unchanged, yet rolled up again (the rollup SQL changed).
            if file.path.is_file() {
                scans.extend(scan_files(&[(file.path.clone(), csv)])?);
            }
        }
        if let Some(scan) = scans.get(&file.path) {
            file.bytes = scan.bytes;
            file.sha256 = scan.sha256.clone();
            if let Some(shape) = &scan.csv {
                file.line_shifts = shape.line_shifts.clone();
                records += shape.records.saturating_sub(1);
                long.extend(shape.long_records.iter().map(|(line, bytes)| (i, *line, *bytes)));
            }
        }
    }
    if csv {
        let read = table.rows - table.rollups.as_ref().map_or(0, |r| r.events_reused);
        let dropped = records.saturating_sub(read + table.rejected_lines);
        if dropped > 0 {
            table.broken_lines.push(dropped_lines(table, dropped, &long));
        }
    }
    if table.aggregated {
        let clean = table.broken_lines.is_empty() && table.rejected_lines == 0;
        let files = &table.files;
        store.confirm(clean, |path| files.iter().find(|f| f.path == path).map(|f| f.sha256.clone()).filter(|s| !s.is_empty()));
    }
    Ok(())
}

/// An empty table of every contract table, shaped as a load leaves it (the
/// usage aggregates included): to check SQL before any data is read.
pub fn empty_tables(conn: &Connection) -> Result<Vec<LoadedTable>> {
    TABLES.iter().map(|spec| load_empty(conn, spec)).collect()
}

/// Every contract table as loaded, and the raw exports staging read.
pub struct Loaded {
    pub tables: Vec<LoadedTable>,
    pub raw: Vec<staging::RawTable>,
}

/// Records the CSV reader dropped without a word (a cell of about 31 MiB or
/// more, unquoted, is skipped whole): bad input, never a missing row.
fn dropped_lines(table: &LoadedTable, dropped: u64, long: &[(usize, u64, u64)]) -> BrokenLines {
    let examples = long
        .iter()
        .take(5)
        .map(|(file, line, bytes)| {
            let at = table.position(*file as i64, *line as i64);
            format!("{at}: a record of {:.1} MiB", *bytes as f64 / (1024.0 * 1024.0))
        })
        .collect();
    BrokenLines {
        kind: format!(
            "{dropped} record(s) of the file were not read; a record longer than `limits.csv_line_mib` ({} MiB) is the usual cause",
            long_record() / (1024 * 1024)
        ),
        columns: Vec::new(),
        count: dropped,
        examples,
    }
}

/// DuckDB's message with the run's scratch links (what DuckDB read) named
/// as the user's files.
/// The SQL excerpt DuckDB appends (`LINE 1: ...`) is left out: it is ours,
/// not the user's.
fn in_user_terms(message: &str, links: &[String], paths: &[PathBuf]) -> String {
    let message = message.split("\nLINE ").next().unwrap_or(message).trim_end();
    let named = links.iter().zip(paths).fold(message.to_string(), |m, (link, path)| m.replace(link.as_str(), &path.display().to_string()));
    if named.contains("No magic bytes found") {
        format!("it is not a Parquet file (no Parquet footer): {named}")
    } else {
        named
    }
}

/// What a kind of line the CSV reader rejected means, in the user's terms.
fn reject_kind(kind: &str) -> String {
    match kind {
        "LINE SIZE OVER MAXIMUM" => format!(
            "a record longer than {} MiB, the most `limits.csv_line_mib` lets a record be; raise it for records this wide",
            long_record() / (1024 * 1024)
        ),
        "MISSING COLUMNS" => "fewer cells than the header has columns".into(),
        "TOO MANY COLUMNS" => "more cells than the header has columns".into(),
        "UNQUOTED VALUE" => "a quote inside a cell that is not itself quoted (RFC 4180: quote the cell, double the quote)".into(),
        "INVALID UNICODE" | "INVALID ENCODING" => "bytes that are not UTF-8 text".into(),
        other => other.to_lowercase(),
    }
}

/// What one pass over an input file learns: size, SHA-256 and, for CSV,
/// how many records it holds (quotes respected, blank lines skipped as the
/// reader skips them) and where the very long ones start.
struct FileScan {
    bytes: u64,
    sha256: String,
    csv: Option<CsvShape>,
}

#[derive(Default)]
struct CsvShape {
    /// Records including the header.
    records: u64,
    /// (line where the record starts, its length) of records over the limit.
    long_records: Vec<(u64, u64)>,
    /// See [`InputFile::line_shifts`].
    line_shifts: Vec<(u64, u64)>,
}

/// The longest CSV record read (`limits.csv_line_mib`), in bytes: longer
/// ones are rejected and named. One setting for the whole process, set by
/// [`load_all`] before any file is read (every CSV read of a run, raw
/// exports included, goes through it).
static LONG_RECORD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(2 * 1024 * 1024);

fn long_record() -> u64 {
    LONG_RECORD.load(std::sync::atomic::Ordering::Relaxed)
}

impl CsvShape {
    /// Feeds one chunk; `state` carries the record across chunks.
    fn feed(&mut self, chunk: &[u8], state: &mut CsvState) {
        let mut at = 0;
        while let Some(i) = memchr::memchr2(b'"', b'\n', &chunk[at..]) {
            let pos = at + i;
            let content = (pos - at) as u64;
            state.record_bytes += content;
            if content > 0 && !(content == 1 && chunk[pos - 1] == b'\r') {
                state.has_content = true;
            }
            if chunk[pos] == b'"' {
                state.quoted = !state.quoted;
                state.has_content = true;
                state.record_bytes += 1;
            } else {
                state.line += 1;
                if state.quoted {
                    state.record_bytes += 1;
                } else {
                    self.end_record(state);
                }
            }
            at = pos + 1;
        }
        let rest = &chunk[at..];
        state.record_bytes += rest.len() as u64;
        if rest.iter().any(|b| *b != b'\r') {
            state.has_content = true;
        }
    }

    fn end_record(&mut self, state: &mut CsvState) {
        if state.has_content {
            self.records += 1;
            let shift = state.record_line - self.records;
            if shift != self.line_shifts.last().map_or(0, |(_, by)| *by) {
                self.line_shifts.push((self.records, shift));
            }
            if state.record_bytes > long_record() && self.long_records.len() < 20 {
                self.long_records.push((state.record_line, state.record_bytes));
            }
        }
        state.has_content = false;
        state.record_bytes = 0;
        state.record_line = state.line + 1;
    }
}

struct CsvState {
    quoted: bool,
    has_content: bool,
    record_bytes: u64,
    /// Lines seen so far (newlines), and the line the current record started on.
    line: u64,
    record_line: u64,
}

fn scan_files(paths: &[(PathBuf, bool)]) -> Result<BTreeMap<PathBuf, FileScan>> {
    let mut out = BTreeMap::new();
    let mut buf = vec![0u8; 1 << 20];
    for (path, csv) in paths {
        let mut file = fs::File::open(path).map_err(Error::io("reading", path))?;
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        let mut shape = csv.then(CsvShape::default);
        let mut state = CsvState { quoted: false, has_content: false, record_bytes: 0, line: 0, record_line: 1 };
        loop {
            let n = file.read(&mut buf).map_err(Error::io("reading", path))?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            hasher.update(&buf[..n]);
            if let Some(shape) = &mut shape {
                shape.feed(&buf[..n], &mut state);
            }
        }
        if let Some(shape) = &mut shape {
            shape.end_record(&mut state);
        }
        out.insert(path.clone(), FileScan { bytes, sha256: hex(&hasher.finalize()), csv: shape });
    }
    Ok(out)
}

/// Characters DuckDB's file readers treat as a glob pattern.
fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', ']', '{', '}'])
}

/// Links each file of a table under `dir` with a name DuckDB reads
/// literally: `<i>.<ext>`, below the file's Hive `key=value/` folders when
/// the table has that layout. Returns the links and whether the Hive layout
/// survived (a key or value with glob characters is dropped, with a warning:
/// the contract's columns never come from folder names alone).
fn link_files(dir: &Path, table: &str, format: Format, paths: &[PathBuf], hive: bool) -> Result<(Vec<PathBuf>, bool)> {
    let root = dir.join(table);
    if root.exists() {
        fs::remove_dir_all(&root).map_err(Error::io("clearing", &root))?;
    }
    let hive_parts = |p: &Path| -> Vec<String> {
        p.parent()
            .map(|d| d.components().filter_map(|c| c.as_os_str().to_str().filter(|s| s.contains('=')).map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let keep_hive = hive && paths.iter().all(|p| hive_parts(p).iter().all(|c| !has_glob(c)));
    if hive && !keep_hive {
        crate::log::warn(&format!("table `{table}`: folder names with glob characters are not read as Hive partitions"));
    }
    let ext = match format {
        Format::Csv => "csv",
        Format::Parquet | Format::Staged | Format::Rollup => "parquet",
    };
    let mut links = Vec::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        let mut link = root.clone();
        if keep_hive {
            for part in hive_parts(path) {
                link.push(part);
            }
        }
        link.push(format!("{i}.{ext}"));
        let parent = link.parent().expect("a link has a folder");
        fs::create_dir_all(parent).map_err(Error::io("creating folder", parent))?;
        let target = std::path::absolute(path).map_err(Error::io("resolving", path))?;
        std::os::unix::fs::symlink(&target, &link).map_err(Error::io("linking", &link))?;
        links.push(link);
    }
    Ok((links, keep_hive))
}

/// A contract table's columns with their loaded types, for CREATE TABLE.
fn column_defs(spec: &TableSpec) -> String {
    spec.columns.iter().map(|c| format!("{} {}", ident(c.name), c.kind.sql_type())).collect::<Vec<_>>().join(", ")
}

/// How an export is read: its column names, the table function that reads
/// it (one `?` per file) and, for Parquet, each column's own type.
struct Reader {
    header: Vec<String>,
    reader: String,
    /// Parquet column types by export column name (empty for CSV: all text).
    types: BTreeMap<String, String>,
}

/// The reader of one table's files (`paths`, read through `path_list`).
/// CSV lines it cannot parse are recorded in `_rejects_<name>`.
fn reader_for(
    conn: &Connection,
    name: &str,
    source_label: &str,
    format: Format,
    paths: &[PathBuf],
    path_list: &[String],
    hive: bool,
) -> Result<Reader> {
    let placeholders = vec!["?"; path_list.len()].join(", ");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let (header, reader) = match format {
        Format::Csv => {
            // The dialect is fixed (comma, double quote) and the columns are
            // read from the header line, so DuckDB never guesses: a broken
            // line is recorded in the rejects table with its line number
            // instead of defeating the sniffer.
            let header = csv_header(&paths[0])?;
            for part in &paths[1..] {
                let other = csv_header(part)?;
                if other != header {
                    return Err(Error::Input(format!(
                        "parts of table `{}` have different columns: {} has {}, {} has {}",
                        name,
                        paths[0].display(),
                        header.join(","),
                        part.display(),
                        other.join(",")
                    )));
                }
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(dup) = header.iter().find(|h| !seen.insert(h.to_ascii_lowercase())) {
                return Err(Error::Input(format!("{source_label}: column `{dup}` appears twice in the header")));
            }
            let columns: Vec<String> = header.iter().map(|h| format!("{}: 'VARCHAR'", literal(h))).collect();
            let reader = format!(
                "read_csv([{placeholders}], header = true, auto_detect = false, columns = {{{}}}, delim = ',', \
                 quote = '\"', escape = '\"', hive_partitioning = {hive}, store_rejects = true, \
                 max_line_size = {}, rejects_table = {}, rejects_scan = {})",
                columns.join(", "),
                long_record(),
                literal(&format!("_rejects_{}", name)),
                literal(&format!("_reject_scans_{}", name)),
            );
            (header, reader)
        }
        Format::Parquet | Format::Staged | Format::Rollup => {
            let reader = format!("read_parquet([{placeholders}], union_by_name = true, hive_partitioning = {hive})");
            // The export's own column names, matched case-insensitively,
            // and their Parquet types.
            let sql = format!("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {reader})");
            let mut stmt = conn.prepare(&sql).map_err(Error::db(format!("reading the schema of {source_label}")))?;
            let rows = stmt
                .query_map(duckdb::params_from_iter(path_list.iter()), |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(|e| Error::Input(format!("cannot read {source_label}: {}", in_user_terms(&e.to_string(), path_list, paths))))?;
            let described: Vec<(String, String)> =
                rows.collect::<std::result::Result<_, _>>().map_err(Error::db(format!("reading the schema of {source_label}")))?;
            let header = described.iter().map(|(name, _)| name.clone()).collect();
            types = described.into_iter().collect();
            (header, reader)
        }
    };
    Ok(Reader { header, reader, types })
}

fn load_table(
    conn: &Connection,
    spec: &'static TableSpec,
    files: Option<(Format, Vec<PathBuf>)>,
    mapping: &TableMapping,
    links_dir: &Path,
    store: &mut rollups::Store,
) -> Result<LoadedTable> {
    let Some((format, paths)) = files else { return load_empty(conn, spec) };
    let source_label = if paths.len() == 1 { paths[0].display().to_string() } else { format!("{} parts of {}", paths.len(), spec.name) };
    let (links, hive) = link_files(links_dir, spec.name, format, &paths, hive_layout(&paths))?;
    let mut table = LoadedTable {
        table: spec.name,
        format: Some(format),
        files: paths.iter().map(|path| InputFile::new(path.clone())).collect(),
        links,
        ..empty_table(spec)
    };
    if format == Format::Rollup {
        table.rows = load_events(conn, spec, mapping, &mut table, hive, store)?;
        return Ok(table);
    }
    // File paths are bound as parameters, one per file, never pasted into SQL.
    let path_list: Vec<String> = table.links.iter().map(|p| p.display().to_string()).collect();
    let Reader { header, reader, types } = reader_for(conn, spec.name, &source_label, format, &paths, &path_list, hive)?;
    let plan = column_plan(spec, mapping, &header, &types, &source_label)?;
    let typed = plan.select(&reader);
    let ColumnPlan { inner, outer, raw_columns, missing, source_columns } = plan;
    (table.missing_columns, table.source_columns, table.raw_columns) = (missing, source_columns, raw_columns);
    (table.reader, table.typed, table.raw) = (reader, outer.join(", "), inner.join(", "));
    table.rows = if spec.aggregated {
        load_events(conn, spec, mapping, &mut table, hive, store)?
    } else {
        conn.execute(&format!("CREATE OR REPLACE TABLE {} AS {typed}", spec.name), duckdb::params_from_iter(path_list.iter())).map_err(|e| {
            Error::Input(format!("cannot load table `{}` from {source_label}: {}", spec.name, in_user_terms(&e.to_string(), &path_list, &paths)))
        })?;
        conn.query_row(&format!("SELECT count(*) FROM {}", spec.name), [], |r| r.get::<_, i64>(0))
            .map_err(Error::db(format!("counting {}", spec.name)))? as u64
    };
    // Only files read this run have rejected lines (see `rollups::Store::confirm`).
    if format == Format::Csv && table.rollups.as_ref().is_none_or(|r| r.files_read > 0) {
        (table.broken_lines, table.rejected_lines) = broken_lines(conn, spec.name, &paths, &table.links)?;
    }
    Ok(table)
}

/// The usage events, file by file: each file's summary is reused from the
/// store when the file has not changed, made otherwise (see [`events`] and
/// [`rollups`]); then all are combined, and files that share a customer's
/// month are rolled up again to merge it. Returns how many events there are.
fn load_events(
    conn: &Connection,
    spec: &'static TableSpec,
    mapping: &TableMapping,
    table: &mut LoadedTable,
    hive: bool,
    store: &mut rollups::Store,
) -> Result<u64> {
    let format = table.format.expect("a present table has a format");
    let source = |i: usize| EventSource::of(conn, spec, mapping, format, &table.files[i].path, &table.links[i], hive);
    // What a summary depends on besides its file: the SQL, and how the
    // table's columns are typed (from every file's schema, read once).
    let shape = rollups::shape(&format!("{format:?}\n{}\n{}", table.typed, table.raw));
    let mut used = RollupUse::default();
    let mut summaries = Vec::with_capacity(table.files.len());
    let started = std::time::Instant::now();
    for (i, file) in table.files.iter().enumerate() {
        let summary = match store.reuse(&file.path, &shape) {
            Some((summary, known)) => {
                (used.files_reused, used.events_reused) = (used.files_reused + 1, used.events_reused + known.events);
                summary
            }
            None => {
                let summary = store.target(&file.path, &shape)?;
                let read = source(i)?.roll_up(conn, &events::Keep::Summary(summary.clone()))?;
                if format != Format::Staged {
                    store.made(&file.path, &shape, &summary, read);
                }
                (used.files_read, used.events_read) = (used.files_read + 1, used.events_read + read);
                events::Stored::Loose(summary)
            }
        };
        summaries.push(summary);
    }
    used.read_ms = started.elapsed().as_millis() as u64;
    let started = std::time::Instant::now();
    // Files sharing a customer's month: rolled up again, rows kept, merged.
    let mut rows = Vec::new();
    for i in events::combine(conn, store.pack_for(&summaries), &summaries)? {
        let target = store.rows_target(i)?;
        source(i)?.roll_up(conn, &events::Keep::Rows(target.clone()))?;
        rows.push(target);
    }
    if !rows.is_empty() {
        events::merge(conn, &rows)?;
    }
    used.combine_ms = started.elapsed().as_millis() as u64;
    let total = used.events_read + used.events_reused;
    table.rollups = Some(used);
    Ok(total)
}

/// One events file as the rollup reads it: its typed SELECT (none for a
/// rollup an engine wrote) and its link, bound as the one `?`.
struct EventSource<'a> {
    typed: Option<(String, Vec<&'static str>)>,
    path: &'a Path,
    link: String,
}

impl<'a> EventSource<'a> {
    fn of(
        conn: &Connection,
        spec: &'static TableSpec,
        mapping: &TableMapping,
        format: Format,
        path: &'a Path,
        link: &Path,
        hive: bool,
    ) -> Result<EventSource<'a>> {
        let link = link.display().to_string();
        let typed = match format {
            Format::Rollup => None,
            _ => Some(part_select(conn, spec, mapping, format, path, &link, hive)?),
        };
        Ok(EventSource { typed, path, link })
    }

    fn roll_up(&self, conn: &Connection, keep: &events::Keep) -> Result<u64> {
        match &self.typed {
            Some((sql, flagged)) => events::roll_up(conn, sql, flagged, &self.link, keep),
            None => events::take_in(conn, &self.link, self.path, keep),
        }
    }
}

/// The typed SELECT of one events file (one `?`: its link) and the columns
/// that have a `_bad_` flag.
fn part_select(
    conn: &Connection,
    spec: &'static TableSpec,
    mapping: &TableMapping,
    format: Format,
    path: &Path,
    link: &str,
    hive: bool,
) -> Result<(String, Vec<&'static str>)> {
    let label = path.display().to_string();
    let Reader { header, reader, types } =
        reader_for(conn, spec.name, &label, format, std::slice::from_ref(&path.to_path_buf()), &[link.to_string()], hive)?;
    let plan = column_plan(spec, mapping, &header, &types, &label)?;
    let flagged = spec.columns.iter().filter(|c| c.kind.can_fail() && !plan.missing.contains(&c.name)).map(|c| c.name).collect();
    Ok((plan.select(&reader), flagged))
}

/// How each contract column is read from an export's columns: the typed
/// value and, where typing can fail, its raw text (`inner`), the columns
/// kept with their `_bad_` flags (`outer`), the contract columns the export
/// leaves out, and each column's name in the export. A required column
/// that is missing is an error naming the columns found.
struct ColumnPlan {
    inner: Vec<String>,
    outer: Vec<String>,
    raw_columns: Vec<String>,
    missing: Vec<&'static str>,
    source_columns: BTreeMap<&'static str, String>,
}

impl ColumnPlan {
    /// The typed SELECT over `reader`: the raw columns inside, typed outside.
    fn select(&self, reader: &str) -> String {
        format!("SELECT {} FROM (SELECT {} FROM {reader})", self.outer.join(", "), self.inner.join(", "))
    }
}

fn column_plan(
    spec: &'static TableSpec,
    mapping: &TableMapping,
    header: &[String],
    types: &BTreeMap<String, String>,
    source_label: &str,
) -> Result<ColumnPlan> {
    let mut inner = Vec::new();
    let mut outer = Vec::new();
    let mut raw_columns = Vec::new();
    let mut missing = Vec::new();
    let mut source_columns = BTreeMap::new();
    for column in spec.columns {
        let wanted = mapping.columns.get(column.name).map(String::as_str).unwrap_or(column.name);
        match header.iter().find(|h| h.eq_ignore_ascii_case(wanted)) {
            Some(actual) => {
                let name = ident(column.name);
                let typed = match types.get(actual) {
                    Some(source) => column.kind.cast_parquet(&ident(actual), source),
                    None => column.kind.cast(&ident(actual)),
                };
                inner.push(format!("{typed} AS {name}"));
                outer.push(name.clone());
                if column.kind.can_fail() {
                    // A one-byte flag for cells that did not convert; their value is
                    // read again only when a run fails (see `create_lined`). A typed
                    // Parquet value is kept as it is (only its presence matters).
                    let raw = ident(&format!("_raw_{}", column.name));
                    let kept = if types.contains_key(actual) { ident(actual) } else { format!("CAST({} AS VARCHAR)", ident(actual)) };
                    inner.push(format!("{kept} AS {raw}"));
                    raw_columns.push(raw.clone());
                    outer.push(format!("({name} IS NULL AND {raw} IS NOT NULL) AS {}", ident(&format!("_bad_{}", column.name))));
                }
                source_columns.insert(column.name, actual.clone());
            }
            None if column.may_be_absent => {
                outer.push(format!("CAST(NULL AS {}) AS {}", column.kind.sql_type(), ident(column.name)));
                missing.push(column.name);
            }
            None => {
                let hint = if wanted == column.name {
                    String::new()
                } else {
                    format!(" (mapped to `{wanted}` by the config)")
                };
                let why = if column.nullable {
                    " (its cells may be empty, but the column must be there: without it nothing would ever end)"
                } else {
                    ""
                };
                return Err(Error::Input(format!(
                    "table `{}` ({source_label}): required column `{}`{hint} is missing{why}; columns found: {}",
                    spec.name,
                    column.name,
                    header.join(", ")
                )));
            }
        }
    }
    Ok(ColumnPlan { inner, outer, raw_columns, missing, source_columns })
}

/// An optional table the data does not have: an empty table of its columns
/// (and empty usage aggregates), so metric SQL never has to ask.
fn load_empty(conn: &Connection, spec: &'static TableSpec) -> Result<LoadedTable> {
    let sql = format!("CREATE OR REPLACE TABLE {} ({})", spec.name, column_defs(spec));
    conn.execute_batch(&sql).map_err(Error::db(format!("creating empty table {}", spec.name)))?;
    if spec.aggregated {
        events::combine(conn, None, &[])?;
    }
    Ok(empty_table(spec))
}

/// A table with no files read yet.
fn empty_table(spec: &'static TableSpec) -> LoadedTable {
    LoadedTable {
        table: spec.name,
        format: None,
        files: Vec::new(),
        rows: 0,
        missing_columns: Vec::new(),
        source_columns: BTreeMap::new(),
        reader: String::new(),
        typed: String::new(),
        raw: String::new(),
        raw_columns: Vec::new(),
        broken_lines: Vec::new(),
        rejected_lines: 0,
        links: Vec::new(),
        aggregated: spec.aggregated,
        staging: None,
        notes: Vec::new(),
        rollups: None,
    }
}

/// The lines DuckDB's CSV reader rejected while loading `table`, grouped by
/// kind of error, with the first five of each; and how many lines that is.
fn broken_lines(conn: &Connection, table: &str, paths: &[PathBuf], links: &[PathBuf]) -> Result<(Vec<BrokenLines>, u64)> {
    let files = paths.len();
    let errors = ident(&format!("_rejects_{table}"));
    let scans = ident(&format!("_reject_scans_{table}"));
    let step = || Error::db(format!("reading the rejected lines of {table}"));
    let mut stmt = conn
        .prepare(&format!(
            "SELECT CAST(e.error_type AS VARCHAR), string_agg(DISTINCT e.column_name, ', ' ORDER BY e.column_name), \
                    count(DISTINCT (s.file_path, e.line)) \
             FROM {errors} AS e JOIN {scans} AS s USING (scan_id, file_id) GROUP BY 1 ORDER BY 1"
        ))
        .map_err(step())?;
    let kinds: Vec<(String, Option<String>, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(step())?
        .collect::<std::result::Result<_, _>>()
        .map_err(step())?;
    let mut out = Vec::new();
    for (kind, columns, count) in kinds {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT DISTINCT s.file_path, e.line, e.csv_line FROM {errors} AS e JOIN {scans} AS s USING (scan_id, file_id) \
                 WHERE CAST(e.error_type AS VARCHAR) = ? ORDER BY s.file_path, e.line LIMIT 5"
            ))
            .map_err(step())?;
        let examples = stmt
            .query_map([&kind], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?)))
            .map_err(step())?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(step())?
            .into_iter()
            .map(|(file, line, text)| {
                let text: String = text.unwrap_or_default().lines().next().unwrap_or_default().chars().take(120).collect();
                // DuckDB read the link; name the export.
                let file = links
                    .iter()
                    .position(|l| l.as_path() == Path::new(&file))
                    .and_then(|i| paths[i].file_name())
                    .map_or(file.clone(), |n| n.to_string_lossy().to_string());
                if files > 1 { format!("{file} line {line}: {text:?}") } else { format!("line {line}: {text:?}") }
            })
            .collect();
        out.push(BrokenLines {
            kind: reject_kind(&kind),
            columns: columns.map(|c| c.split(", ").map(str::to_string).collect()).unwrap_or_default(),
            count: count as u64,
            examples,
        });
    }
    let rejected: i64 = conn
        // A file read twice (see `load_events`) has its lines rejected twice.
        .query_row(&format!("SELECT count(DISTINCT (s.file_path, e.line)) FROM {errors} AS e JOIN {scans} AS s USING (scan_id, file_id)"), [], |r| r.get(0))
        .map_err(step())?;
    Ok((out, rejected as u64))
}
