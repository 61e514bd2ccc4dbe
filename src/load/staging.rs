//! Raw exports and staging SQL: exports as the source system writes them
//! (cents, plan intervals, its own status words), named in the config's
//! `raw:`, reshaped into contract tables by one `SELECT` per table in the
//! `staging:` folder (`<table>.sql`), as a dbt staging model would.
//!
//! Staging runs in a database of its own, before the run's database loads
//! anything:
//!
//! 1. every raw export gets an empty table `raw.<name>` of its columns (the
//!    CSV header, or the Parquet schema) plus `_row`, where the row came
//!    from: `raw index << 48 | file index << 40 | line` (the CSV line, the
//!    header being line 1, or the Parquet row);
//! 2. every staging file is checked against those empty tables: one
//!    `SELECT`, producing the table's contract columns and `_row`, no more
//!    and no less; so a wrong file is refused before any data is read;
//! 3. the raw exports are read, each once, with the strict CSV reader;
//! 4. that database then loses all file access but to its output folder,
//!    and each staging query runs, in contract order (a query may read the
//!    tables staged before it), its result written to a Parquet file;
//! 5. the run's database loads those files as it loads any export, with the
//!    same rules; a broken rule names the staged table and column, the
//!    staging file, and the raw file and line of each example (`_row`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use duckdb::Connection;
use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::contract::{TableSpec, TABLES};
use crate::db::{ident, literal};
use crate::load::{broken_lines, column_defs, link_files, load_table, locate, reader_for, scan_files, Format, InputFile, Reader};

/// One raw export as read.
#[derive(Debug, Clone, Serialize)]
pub struct RawTable {
    pub name: String,
    pub format: Format,
    pub files: Vec<InputFile>,
    pub rows: u64,
}

impl RawTable {
    /// Where a row of this export is: its `file` index (bits 40–47 of
    /// `_row`) and `line`, as `subs.csv line 7`.
    pub fn position(&self, file: usize, line: i64) -> String {
        let unit = if self.format == Format::Csv { "line" } else { "row" };
        let path = self.files.get(file).map_or_else(|| format!("raw `{}`", self.name), |f| f.path.display().to_string());
        format!("{path} {unit} {line}")
    }
}

/// A contract table made by a staging file.
#[derive(Debug, Clone)]
pub struct StagedTable {
    /// The staging file.
    pub sql: PathBuf,
    /// Its result, for the run's database to load.
    pub output: PathBuf,
    /// Its `-- note:` lines: what the recipe wants every report made from
    /// it to say (a figure it can only approximate, say).
    pub notes: Vec<String>,
}

/// The `-- note: ...` comment lines of a staging file, each one note (a
/// note may go on over the comment lines right after it, indented).
pub fn notes_of(text: &str) -> Vec<String> {
    let mut notes: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines().map(str::trim) {
        let Some(comment) = line.strip_prefix("--") else {
            open = false;
            continue;
        };
        if let Some(note) = comment.trim_start().strip_prefix("note:") {
            notes.push(note.trim().to_string());
            open = true;
        } else if open && comment.starts_with("  ") && !comment.trim().is_empty() {
            let last = notes.last_mut().expect("open only after a note");
            last.push(' ');
            last.push_str(comment.trim());
        } else {
            open = false;
        }
    }
    notes
}

/// What staging made: the raw exports read and the tables staged.
#[derive(Debug, Default)]
pub struct Staged {
    pub raw: Arc<[RawTable]>,
    pub tables: BTreeMap<&'static str, StagedTable>,
}

/// The most files one raw export may have (`_row` keeps 8 bits for it).
const MAX_PARTS: usize = 256;

/// The staging files of `dir`: `<table>.sql` for contract tables; other
/// files (a README) are left alone, an `.sql` file of no table is an error.
pub fn staging_files(dir: &Path) -> Result<BTreeMap<&'static str, PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Input(format!("staging folder {} cannot be read ({e}); set `staging:` to the folder of `<table>.sql` files", dir.display()))
    })?;
    let mut out = BTreeMap::new();
    for entry in entries {
        let path = entry.map_err(Error::io("reading folder", dir))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("sql") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let Some(spec) = TABLES.iter().find(|t| t.name == stem) else {
            let names: Vec<_> = TABLES.iter().map(|t| format!("{}.sql", t.name)).collect();
            return Err(Error::Input(format!(
                "staging file {}: `{stem}` is not a table of the input contract; staging files are named after the table they make: {}",
                path.display(),
                names.join(", ")
            )));
        };
        out.insert(spec.name, path);
    }
    Ok(out)
}

/// Reads the raw exports and runs the staging files (see the module's
/// note). `None` when the config stages nothing.
pub fn stage(config: &Config, data: &Path, scratch: &Path) -> Result<Option<Staged>> {
    let Some(dir) = &config.staging else { return Ok(None) };
    let files = staging_files(dir)?;
    for table in files.keys() {
        if config.tables.get(*table).is_some_and(|m| m.renames()) {
            return Err(Error::Input(format!(
                "table `{table}` has both a staging file ({}) and a `tables.{table}` entry in the config; \
                 rename its columns in the staging SQL and remove the entry",
                files[table].display()
            )));
        }
    }
    let started = std::time::Instant::now();
    let temp = scratch.join("staging-temp");
    let output = scratch.join("staged");
    for folder in [&temp, &output] {
        std::fs::create_dir_all(folder).map_err(Error::io("creating folder", folder))?;
    }
    let conn = crate::db::connect(&config.memory_limit, &config.limits.spill, &temp)?;
    // The staging files are checked in an empty database with no file
    // access at all: binding a query that names a file would read it.
    let checker = crate::db::connect(&config.memory_limit, &config.limits.spill, &temp)?;
    checker
        .execute_batch("SET enable_external_access = false; SET lock_configuration = true;")
        .map_err(Error::db("locking the staging checker"))?;
    for db in [&conn, &checker] {
        db.execute_batch("CREATE SCHEMA raw").map_err(Error::db("creating the raw schema"))?;
    }

    // 1. The raw exports, as empty tables of their columns; the staging files.
    let mut raws = Vec::new();
    for (index, (name, path)) in config.raw.iter().enumerate() {
        let raw = declare_raw(&conn, index, name, &data.join(path), &scratch.join("inputs").join("raw"))?;
        checker.execute_batch(&raw.ddl).map_err(|e| Error::Input(format!("raw export `{name}` ({}): {e}", raw.label)))?;
        raws.push(raw);
    }
    let staging: Vec<(&'static TableSpec, PathBuf, String)> = TABLES
        .iter()
        .filter_map(|spec| files.get(spec.name).map(|path| (spec, path.clone())))
        .map(|(spec, path)| {
            let text = std::fs::read_to_string(&path).map_err(Error::io("reading", &path))?;
            Ok((spec, path, text))
        })
        .collect::<Result<_>>()?;
    // Contract tables the staging SQL reads without staging them (customers,
    // to match tickets by organisation name): declared for the check, loaded
    // as they are once it passes, and loaded again by the run (they are
    // small; the events cannot be read so).
    let unstaged = declare_unstaged(&checker, &staging, &files)?;
    // 2. Every staging file checked against them, before any data is read.
    let queries = check_all(&checker, &staging)?;
    drop(checker);
    // 3. The data: contract tables staging reads, the raw exports, each once.
    for spec in unstaged {
        let mapping = config.tables.get(spec.name).cloned().unwrap_or_default();
        let found = locate(data, mapping.file.as_deref().unwrap_or(spec.name))?;
        // Never the events (see `declare_unstaged`): no rollup is kept.
        let mut store = super::rollups::Store::open(scratch.join("staging-rollups"), super::rollups::Use::ReadOnly, scratch);
        load_table(&conn, spec, found, &mapping, &scratch.join("staging-inputs"), &mut store)?;
    }
    let read = read_raws(&conn, raws)?;
    let tables = run_staging(&conn, &staging, queries, &output, config.limits.statement_seconds)?;
    crate::log::info(&format!(
        "staged {} table(s) from {} raw export(s) in {} ms",
        tables.len(),
        read.len(),
        started.elapsed().as_millis()
    ));
    Ok(Some(Staged { raw: read.into(), tables }))
}

/// The contract tables the staging SQL reads without staging them
/// (customers, to match tickets by name), declared empty in the checker;
/// the usage events cannot be read so: they are never stored row by row.
fn declare_unstaged(
    checker: &Connection,
    staging: &[(&'static TableSpec, PathBuf, String)],
    files: &BTreeMap<&'static str, PathBuf>,
) -> Result<Vec<&'static TableSpec>> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (_, _, text) in staging {
        names.extend(tables_read(checker, text));
    }
    let unstaged: Vec<&'static TableSpec> = TABLES.iter().filter(|s| names.contains(s.name) && !files.contains_key(s.name)).collect();
    for spec in &unstaged {
        if spec.aggregated {
            return Err(Error::Input(format!(
                "staging SQL reads `{}`, which is never stored row by row; stage it from a raw export instead",
                spec.name
            )));
        }
        checker
            .execute_batch(&format!("CREATE TABLE main.{} ({})", ident(spec.name), column_defs(spec)))
            .map_err(Error::db(format!("declaring {} for the staging check", spec.name)))?;
    }
    Ok(unstaged)
}

/// Step 4: the staging database loses all file access but to `output`, then
/// each staging query runs, in contract order, its result written as
/// Parquet for the run's database to load.
fn run_staging(
    conn: &Connection,
    staging: &[(&'static TableSpec, PathBuf, String)],
    queries: Vec<String>,
    output: &Path,
    seconds: u64,
) -> Result<BTreeMap<&'static str, StagedTable>> {
    conn.execute_batch(&format!(
        "SET allowed_directories = [{}]; SET enable_external_access = false; SET lock_configuration = true;",
        literal(&format!("{}/", output.display()))
    ))
    .map_err(Error::db("locking the staging database's file access"))?;
    let mut tables = BTreeMap::new();
    for ((spec, path, text), query) in staging.iter().zip(queries) {
        let table = ident(spec.name);
        let sql = format!("CREATE OR REPLACE TABLE main.{table} AS SELECT * FROM {query}");
        let (done, stopped) = crate::db::time_limited(conn, seconds, || conn.execute_batch(&sql));
        done.map_err(|e| {
            Error::Input(if stopped {
                format!("staging file {}: ran longer than {seconds} s (`limits.statement_seconds`) and was stopped", path.display())
            } else {
                format!("staging file {}: {e}", path.display())
            })
        })?;
        let file = output.join(format!("{}.parquet", spec.name));
        conn.execute_batch(&format!("COPY main.{table} TO {} (FORMAT parquet)", literal(&file.display().to_string())))
            .map_err(Error::db(format!("writing the staged {}", spec.name)))?;
        tables.insert(spec.name, StagedTable { sql: path.clone(), output: file, notes: notes_of(text) });
    }
    Ok(tables)
}

/// Checks every staging file against the empty tables of `checker`, in
/// contract order (each staged table is declared for the files after it);
/// refuses them all at once, naming each file and what is wrong. Returns
/// each file's query, ready to run as a subquery.
fn check_all(checker: &Connection, staging: &[(&'static TableSpec, PathBuf, String)]) -> Result<Vec<String>> {
    let mut queries = Vec::new();
    let mut refused = Vec::new();
    for (spec, path, text) in staging {
        match check_query(checker, spec, text) {
            Ok(query) => {
                checker
                    .execute_batch(&format!("CREATE TABLE main.{} AS SELECT * FROM {query} LIMIT 0", ident(spec.name)))
                    .map_err(|e| Error::Input(format!("staging file {}: {e}", path.display())))?;
                queries.push(query);
            }
            Err(why) => refused.push(format!("{}: {why}", path.display())),
        }
    }
    if refused.is_empty() {
        return Ok(queries);
    }
    Err(Error::Input(format!(
        "{} staging file(s) do not make their table; nothing was read:\n  - {}",
        refused.len(),
        refused.join("\n  - ")
    )))
}

/// Reads every raw export into its table, the files hashed (and CSV
/// records counted) on another thread meanwhile.
fn read_raws(conn: &Connection, mut raws: Vec<PendingRaw>) -> Result<Vec<RawTable>> {
    let paths: Vec<(PathBuf, bool)> =
        raws.iter().flat_map(|r| r.paths.iter().map(|p| (p.clone(), r.format == Format::Csv))).collect();
    let scanner = std::thread::spawn(move || scan_files(&paths));
    for raw in &mut raws {
        fill_raw(conn, raw)?;
    }
    let scans = scanner.join().map_err(|_| Error::Input("reading the raw exports failed".into()))??;
    let mut read = Vec::new();
    for raw in raws {
        let mut records = 0u64;
        let mut files = Vec::new();
        for path in &raw.paths {
            let scan = &scans[path];
            records += scan.csv.as_ref().map_or(0, |c| c.records.saturating_sub(1));
            files.push(InputFile { bytes: scan.bytes, sha256: scan.sha256.clone(), ..InputFile::new(path.clone()) });
        }
        if raw.format == Format::Csv && records > raw.rows {
            return Err(Error::Input(format!(
                "raw export `{}` ({}): {} record(s) of the file were not read; a record longer than `limits.csv_line_mib` is the usual cause",
                raw.name,
                raw.label,
                records - raw.rows
            )));
        }
        read.push(RawTable { name: raw.name, format: raw.format, files, rows: raw.rows });
    }
    Ok(read)
}

/// A raw export being read.
struct PendingRaw {
    index: usize,
    name: String,
    label: String,
    format: Format,
    paths: Vec<PathBuf>,
    links: Vec<String>,
    reader: String,
    /// The CREATE TABLE of its empty table.
    ddl: String,
    rows: u64,
}

/// Finds a raw export's files and creates its empty table `raw.<name>`.
fn declare_raw(conn: &Connection, index: usize, name: &str, path: &Path, links_dir: &Path) -> Result<PendingRaw> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let (format, paths) = match locate(dir, &file_name) {
        Ok(Some(found)) if path.exists() => found,
        Ok(_) => {
            return Err(Error::Input(format!(
                "raw export `{name}`: {} not found (a .csv or .parquet file, or a folder of parts; relative to the data directory)",
                path.display()
            )))
        }
        Err(e) => return Err(Error::Input(format!("raw export `{name}`: {e}"))),
    };
    if paths.len() > MAX_PARTS {
        return Err(Error::Input(format!("raw export `{name}`: {} parts, at most {MAX_PARTS} are read", paths.len())));
    }
    let label = path.display().to_string();
    let key = format!("raw_{name}");
    // Folder names are not columns of a raw export: the SQL sees the files' own.
    let (links, _) = link_files(links_dir, name, format, &paths, false)?;
    let links: Vec<String> = links.iter().map(|p| p.display().to_string()).collect();
    let Reader { header, reader, types } = reader_for(conn, &key, &label, format, &paths, &links, false)?;
    if let Some(reserved) = header.iter().find(|h| h.eq_ignore_ascii_case("_row")) {
        return Err(Error::Input(format!("raw export `{name}` ({label}): column `{reserved}` is a name cs-report reserves for the raw row")));
    }
    let columns: Vec<String> = header
        .iter()
        .map(|h| format!("{} {}", ident(h), types.get(h).map_or("VARCHAR", String::as_str)))
        .chain(std::iter::once("_row BIGINT".to_string()))
        .collect();
    let ddl = format!("CREATE TABLE raw.{} ({})", ident(name), columns.join(", "));
    conn.execute_batch(&ddl).map_err(|e| Error::Input(format!("raw export `{name}` ({label}): {e}")))?;
    Ok(PendingRaw { index, name: name.to_string(), label, format, paths, links, reader, ddl, rows: 0 })
}

/// Reads a raw export into its table, each row with its `_row`.
fn fill_raw(conn: &Connection, raw: &mut PendingRaw) -> Result<()> {
    let first = if raw.format == Format::Csv { 2 } else { 1 };
    let sql = format!(
        "INSERT INTO raw.{name} SELECT * EXCLUDE (_n, _file), \
             (CAST({index} AS BIGINT) << 48) | (CAST(_file AS BIGINT) << 40) | (_n - min(_n) OVER (PARTITION BY _file) + {first}) \
         FROM (SELECT *, row_number() OVER () AS _n, file_index AS _file FROM {reader})",
        name = ident(&raw.name),
        index = raw.index,
        reader = raw.reader
    );
    raw.rows = conn
        .execute(&sql, duckdb::params_from_iter(raw.links.iter()))
        .map_err(|e| Error::Input(format!("cannot read raw export `{}` ({}): {e}", raw.name, raw.label)))? as u64;
    if raw.format == Format::Csv {
        let links: Vec<PathBuf> = raw.links.iter().map(PathBuf::from).collect();
        let (broken, _) = broken_lines(conn, &format!("raw_{}", raw.name), &raw.paths, &links)?;
        if let Some(b) = broken.first() {
            let columns = if b.columns.is_empty() { String::new() } else { format!(" (column {})", b.columns.join(", ")) };
            return Err(Error::Input(format!(
                "raw export `{}` ({}): {} line(s) do not parse as CSV with the header's columns{columns} ({}), e.g. {}",
                raw.name,
                raw.label,
                b.count,
                b.kind,
                b.examples.join("; ")
            )));
        }
    }
    crate::log::info(&format!("read raw export {} ({} rows)", raw.name, raw.rows));
    Ok(())
}

/// Checks a staging file: one SELECT whose result has the table's columns
/// (those an export may leave out may be left out) and `_row`, a whole
/// number. Returns the query wrapped for use as a subquery.
fn check_query(conn: &Connection, spec: &TableSpec, text: &str) -> std::result::Result<String, String> {
    let trimmed = crate::db::one_select(conn, text)?;
    let query = format!("(\n{trimmed}\n)");
    let mut stmt = conn.prepare(&format!("DESCRIBE SELECT * FROM {query}")).map_err(|e| e.to_string())?;
    let described: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let has = |name: &str| described.iter().any(|(c, _)| c.eq_ignore_ascii_case(name));
    let missing: Vec<&str> = spec.columns.iter().filter(|c| !c.may_be_absent && !has(c.name)).map(|c| c.name).collect();
    let extra: Vec<&str> = described
        .iter()
        .map(|(c, _)| c.as_str())
        .filter(|c| !c.eq_ignore_ascii_case("_row") && !spec.columns.iter().any(|s| s.name.eq_ignore_ascii_case(c)))
        .collect();
    let mut why = Vec::new();
    if !missing.is_empty() {
        why.push(format!("missing column(s) {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        why.push(format!("extra column(s) {} (not in the contract's {})", extra.join(", "), spec.name));
    }
    match described.iter().find(|(c, _)| c.eq_ignore_ascii_case("_row")) {
        None => why.push("no `_row`: select the raw table's `_row` so that bad rows can be traced to their raw line".into()),
        Some((_, kind)) if !matches!(kind.as_str(), "BIGINT" | "HUGEINT" | "INTEGER" | "UBIGINT") => {
            why.push(format!("`_row` is {kind}; it must be a raw table's `_row` as it is"))
        }
        Some(_) => {}
    }
    if why.is_empty() {
        Ok(query)
    } else {
        let columns: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        Err(format!("{} (table {} has {}, plus `_row`)", why.join("; "), spec.name, columns.join(", ")))
    }
}

/// The tables of the main schema a query names (CTE names included; they
/// match no contract table unless named like one). Empty when it does not
/// parse: [`check_query`] says why.
fn tables_read(conn: &Connection, text: &str) -> Vec<String> {
    fn walk(node: &serde_json::Value, out: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(map) => {
                let main = map.get("schema_name").and_then(|s| s.as_str()).is_some_and(|s| s.is_empty() || s == "main");
                if map.get("type").and_then(|t| t.as_str()) == Some("BASE_TABLE") && main {
                    if let Some(name) = map.get("table_name").and_then(|t| t.as_str()) {
                        out.push(name.to_ascii_lowercase());
                    }
                }
                map.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let trimmed = text.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let parsed: Option<String> =
        conn.query_row("SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", [trimmed], |r| r.get(0)).ok();
    let mut out = Vec::new();
    if let Some(tree) = parsed.and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok()) {
        walk(&tree, &mut out);
    }
    out
}
