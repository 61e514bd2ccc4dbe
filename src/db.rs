//! The DuckDB session every stage works through: the run's in-memory
//! database and its scratch folder, connections set up the one way (UTC, no
//! extensions behind our back, the `utc_timestamp` macros), the file-access
//! lock-down, and small query helpers. It imports nothing of the stages.

use duckdb::Connection;

use crate::error::{Error, Result};

/// `utc_timestamp(text)`: an ISO 8601 timestamp (optional `T`, fraction, `Z`
/// or a `±hh:mm`, `±hhmm`, `±hh` offset) as a UTC TIMESTAMP, NULL when it does
/// not parse. DuckDB's TIMESTAMP cast ignores offsets and its TIMESTAMPTZ
/// cast is about twenty times slower, so offsets are read from their fixed
/// place at the end. Text with a sign after the time but no offset shape
/// there is NULL (reported as bad input), never a silently shifted time.
/// (Macro arguments are pasted, so each is a plain column, not an expression.)
///
/// For staging SQL, which exports write instants and flags in many ways:
/// `instant(v)` is unix seconds or ISO 8601 text (any offset, or
/// `YYYY-MM-DD HH:MM:SS -0700`) or a typed timestamp, as a UTC TIMESTAMP
/// (NULL when none of these); `truthy(v)` is whether a flag reads true
/// (`true`, `t`, `1`, `yes`, any case, or a BOOLEAN; empty is false).
const UTC_TIMESTAMP_MACROS: &str = r"
CREATE OR REPLACE MACRO utc_apply_offset(base, sign, hh, mm) AS (
    make_timestamp(epoch_us(TRY_CAST(base AS TIMESTAMP))
        - (CASE WHEN sign = '-' THEN -60000000 ELSE 60000000 END)
          * (TRY_CAST(hh AS BIGINT) * 60 + TRY_CAST(mm AS BIGINT)))
);
CREATE OR REPLACE MACRO utc_timestamp_offset(s) AS (
    CASE
        WHEN substr(s, length(s) - 5, 1) IN ('+', '-') AND substr(s, length(s) - 2, 1) = ':' THEN
            utc_apply_offset(left(s, length(s) - 6), substr(s, length(s) - 5, 1), substr(s, length(s) - 4, 2), right(s, 2))
        WHEN substr(s, length(s) - 4, 1) IN ('+', '-') THEN
            utc_apply_offset(left(s, length(s) - 5), substr(s, length(s) - 4, 1), substr(s, length(s) - 3, 2), right(s, 2))
        WHEN substr(s, length(s) - 2, 1) IN ('+', '-') THEN
            utc_apply_offset(left(s, length(s) - 3), substr(s, length(s) - 2, 1), right(s, 2), '00')
    END
);
CREATE OR REPLACE MACRO instant(v) AS (
    CASE
        WHEN regexp_full_match(trim(CAST(v AS VARCHAR)), '-?[0-9]+') THEN make_timestamp(CAST(trim(CAST(v AS VARCHAR)) AS BIGINT) * 1000000)
        ELSE CAST(coalesce(TRY_CAST(CAST(v AS VARCHAR) AS TIMESTAMPTZ),
                           try_strptime(trim(CAST(v AS VARCHAR)), '%Y-%m-%d %H:%M:%S %z')) AS TIMESTAMP)
    END
);
CREATE OR REPLACE MACRO truthy(v) AS (coalesce(lower(trim(CAST(v AS VARCHAR))) IN ('true', 't', '1', 'yes'), false));
CREATE OR REPLACE MACRO utc_timestamp(raw) AS (
    CASE
        WHEN contains(substr(raw, 17), '+') OR contains(substr(raw, 17), '-') THEN utc_timestamp_offset(raw)
        ELSE TRY_CAST(raw AS TIMESTAMP)
    END
);;
";

/// The run's database: in memory, spilling to a scratch folder of its own
/// (cron's working directory may not be writable) that goes with it.
pub struct Database {
    pub conn: Connection,
    // Declared after `conn`, so it is dropped after the connection closes.
    _scratch: Scratch,
}

impl Database {
    /// The run's own scratch folder (removed with the database).
    pub fn scratch(&self) -> &std::path::Path {
        &self._scratch.0
    }

    /// Ends the process's use of the database without tearing it down:
    /// freeing hundreds of megabytes table by table takes DuckDB a third of
    /// a second, the kernel reclaims it at exit at once. The scratch folder
    /// is still removed. For the end of a run, just before the process exits.
    pub fn abandon(self) {
        let Database { conn, _scratch } = self;
        std::mem::forget(conn);
    }
}

struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens the in-memory database a run works in. Extensions are never
/// installed or loaded behind our back.
pub fn open(memory_limit: &str, spill: &str) -> Result<Database> {
    sweep_dead_scratch();
    let scratch = std::env::temp_dir().join(format!("cs-report-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(Error::io("creating scratch folder", &scratch))?;
    let scratch = Scratch(scratch);
    let conn = connect(memory_limit, spill, &scratch.0)?;
    Ok(Database { conn, _scratch: scratch })
}

/// A new in-memory database spilling at most `spill` to `temp` (which the
/// caller owns), in UTC, with no extension installed or loaded behind our
/// back.
pub fn connect(memory_limit: &str, spill: &str, temp: &std::path::Path) -> Result<Connection> {
    let config = duckdb::Config::default()
        .enable_autoload_extension(false)
        .and_then(|c| c.with("autoinstall_known_extensions", "false"))
        .and_then(|c| c.max_memory(memory_limit))
        .and_then(|c| c.with("temp_directory", temp.to_string_lossy()))
        .and_then(|c| c.with("max_temp_directory_size", spill))
        .map_err(Error::db("configuring DuckDB"))?;
    let conn = Connection::open_in_memory_with_flags(config).map_err(Error::db("opening DuckDB"))?;
    // No automatic checkpoints: in memory they only rewrite tables, and one
    // landing mid-run stalled it for up to two seconds.
    conn.execute_batch("SET TimeZone = 'UTC'; SET checkpoint_threshold = '1TB';")
        .map_err(Error::db("setting the time zone and checkpoints"))?;
    conn.execute_batch(UTC_TIMESTAMP_MACROS).map_err(Error::db("defining utc_timestamp"))?;
    Ok(conn)
}

/// Caps the address space of this process at `bytes` (never raising a cap
/// that is already lower): a query that outgrows DuckDB's own accounting
/// then fails with an out-of-memory error instead of taking the machine.
pub fn cap_process_memory(bytes: u64) {
    let mut current = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_DATA, &mut current) != 0 {
            return;
        }
        let cap = bytes.min(current.rlim_max);
        if cap < current.rlim_cur {
            let wanted = libc::rlimit { rlim_cur: cap, rlim_max: current.rlim_max };
            libc::setrlimit(libc::RLIMIT_DATA, &wanted);
        }
    }
}

/// Runs `work`, which runs one statement on `conn`, and interrupts that
/// statement when it is still running after `seconds`. Returns what `work`
/// returned and whether it was stopped.
pub fn time_limited<T>(conn: &Connection, seconds: u64, work: impl FnOnce() -> T) -> (T, bool) {
    let handle = conn.interrupt_handle();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let stopped = wait.recv_timeout(std::time::Duration::from_secs(seconds)) == Err(std::sync::mpsc::RecvTimeoutError::Timeout);
        if stopped {
            handle.interrupt();
        }
        stopped
    });
    let out = work();
    let _ = done.send(());
    let stopped = watchdog.join().unwrap_or(false);
    (out, stopped)
}

/// Removes the scratch folders of runs that were killed before they could.
fn sweep_dead_scratch() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("cs-report-")).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !is_running_cs_report(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Shuts DuckDB's access to files once the exports are loaded, so no metric
/// SQL can read or write anything else.
pub fn lock_down(conn: &Connection) -> Result<()> {
    conn.execute_batch("SET enable_external_access = false; SET lock_configuration = true;")
        .map_err(Error::db("locking DuckDB's file access"))
}

/// `text` without trailing semicolons, if it is exactly one SELECT (or
/// WITH ... SELECT) statement; else why not, in words.
pub fn one_select<'a>(conn: &Connection, text: &'a str) -> std::result::Result<&'a str, String> {
    let body = text.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    if body.is_empty() {
        return Err("the file is empty; it must hold one SELECT".into());
    }
    let parsed: String = conn
        .query_row("SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", [body], |r| r.get(0))
        .map_err(|e| format!("cannot parse it: {e}"))?;
    let parsed: serde_json::Value = serde_json::from_str(&parsed).map_err(|e| format!("cannot parse it: {e}"))?;
    if parsed["error"].as_bool() != Some(false) {
        let message = parsed["error_message"].as_str().unwrap_or("it does not parse");
        return Err(if message.contains("Only SELECT") { "it must be one SELECT (or WITH ... SELECT), nothing else".into() } else { message.to_string() });
    }
    if parsed["statements"].as_array().map_or(0, Vec::len) != 1 {
        return Err("it must hold exactly one SELECT statement".into());
    }
    Ok(body)
}

/// Every row of a query, each turned into a `T` by `row`; errors name `step`.
pub fn query_all<T, P: duckdb::Params>(
    conn: &Connection,
    step: &str,
    sql: &str,
    params: P,
    row: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare(sql).map_err(Error::db(step))?;
    let rows = stmt.query_map(params, row).map_err(Error::db(step))?;
    rows.collect::<std::result::Result<_, _>>().map_err(Error::db(step))
}

/// Quotes an SQL string literal (for DuckDB options that take no parameter).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Quotes an SQL identifier (a column name from an export).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether `pid` is a live cs-report process (not a recycled PID of
/// something else).
pub fn is_running_cs_report(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(argv0).ends_with("cs-report")
        }
        // Without /proc, trust the lock: refusing is the safe mistake.
        Err(_) => !std::path::Path::new("/proc/self").exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Once the exports are loaded, SQL can neither read nor write files,
    /// nor load extensions, nor switch that off again.
    #[test]
    fn after_lock_down_sql_cannot_touch_files() {
        let db = open("1GB", "10GB").unwrap();
        lock_down(&db.conn).unwrap();
        for sql in [
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT * FROM read_text('/etc/hostname')",
            "COPY (SELECT 1) TO '/tmp/cs-report-escape.csv'",
            "INSTALL httpfs",
            "LOAD '/tmp/evil.duckdb_extension'",
            "SET enable_external_access = true",
        ] {
            let err = db.conn.execute_batch(sql).expect_err(sql).to_string();
            assert!(!err.is_empty(), "{sql}");
        }
        assert!(!std::path::Path::new("/tmp/cs-report-escape.csv").exists());
    }

    #[test]
    fn timestamps_with_offsets_become_utc() {
        let db = open("1GB", "10GB").unwrap();
        for (text, utc) in [
            ("2024-01-31 23:59:59", Some("2024-01-31 23:59:59")),
            ("2024-01-31T23:59:59Z", Some("2024-01-31 23:59:59")),
            ("2024-01-31T23:30:00-02:00", Some("2024-02-01 01:30:00")),
            ("2024-02-01T01:30:00+02:00", Some("2024-01-31 23:30:00")),
            ("2024-01-31T23:59:59.5+0530", Some("2024-01-31 18:29:59.5")),
            ("2024-01-31T10:00:00-02", Some("2024-01-31 12:00:00")),
            ("2024-01-31", Some("2024-01-31 00:00:00")),
            (" 2024-01-31T23:30:00-02:00", Some("2024-02-01 01:30:00")),
            ("2024-01-31T10:00:00+02:00 ", None),
            ("2024-01-31T10:00:00+2:00", None),
            ("2024-01-31 10:00:00.25", Some("2024-01-31 10:00:00.25")),
            ("31/01/2024 10:00", None),
            ("2024-02-30 10:00:00", None),
        ] {
            let got: Option<String> = db
                .conn
                .query_row("SELECT CAST(utc_timestamp(?) AS VARCHAR)", [text], |r| r.get(0))
                .unwrap();
            assert_eq!(got.as_deref(), utc, "{text}");
        }
    }
}
