//! The command line of shared/spec/CONFIG.md, and what each command prints.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::deliver::{self, SendRequest};
use crate::error::{Error, Result};
use crate::log;
use crate::embedded::{QUERIES as EMBEDDED_QUERIES, TEMPLATES as EMBEDDED_TEMPLATES};
use crate::metrics::catalog::Catalog;
use crate::model::period::{Month, Period};
use crate::pipeline::{self, RunRequest};
use crate::sample::{self, SampleRequest};

/// The exit codes, for `--help` (and the README says the same).
const EXIT_CODES: &str = "\
Exit status:
  0   success: the report was published (or the command did what it says)
  1   the run finished but a check failed (the MRR identity, --fail-on-restatement); nothing was published
  2   it could not run: bad arguments, config or input (the message names file, line, column and rule)
  3   the report was published, but sending its email failed (SMTP); `cs-report send` sends it later
  75  not ready, try later: an export does not reach the end of the period yet, another run holds the lock, or the history store is busy

Every stderr line starts with an ISO timestamp and a level (ERROR, WARN, INFO); the first
line says what happened. stdout is for results only.";

#[derive(Debug, Parser)]
#[command(
    name = "cs-report",
    version,
    about = "Monthly customer-success and SaaS-metrics report from warehouse exports",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Print progress (INFO lines) to stderr as the run goes.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// What `run` and `validate` read: the config, the data and the period.
#[derive(Debug, clap::Args)]
pub struct Inputs {
    /// Config file (default: config/cs-report.yaml if present, else built-in defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory; overrides `data:` in the config.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Period to report: YYYY-MM, YYYY-Qn, YYYY, FYyyyy, FYyyyy-Qn,
    /// last-month, last-quarter or last-year (default: the last complete
    /// month, UTC); `validate` checks that its exports are fresh and its
    /// rates exist.
    #[arg(long)]
    period: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute a period's metrics and publish <output>/<period>/.
    Run {
        #[command(flatten)]
        inputs: Inputs,
        /// Output root; overrides `output:` in the config.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exit 1 and publish nothing if a number already published for the
        /// period would change.
        #[arg(long)]
        fail_on_restatement: bool,
        /// Publish even if an export does not reach the period's end (see
        /// `freshness:`); the report then says so in its first lines.
        #[arg(long)]
        allow_stale: bool,
        /// Publish even from a required export with no rows, or a period with
        /// no active customer that had some when last published.
        #[arg(long)]
        allow_empty: bool,
        /// Start a new history store on purpose where it is missing or
        /// unreadable next to published reports (restatements of those can
        /// then not be shown).
        #[arg(long)]
        new_history: bool,
        /// Read every usage events file again instead of reusing the rollups
        /// of files that have not changed (see the README's "Incremental
        /// months").
        #[arg(long)]
        full: bool,
        /// After publishing, email the summary as `cs-report send` would
        /// (per `email.send_on`; never a report sent before).
        #[arg(long)]
        send: bool,
    },
    /// Email the published report of a period (its email.eml) to the
    /// config's recipients, once.
    Send {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Period whose published report to send (as for `run --period`).
        #[arg(long)]
        period: String,
        /// Send to these addresses instead of `email.to` and `email.cc`
        /// (repeat the flag for more).
        #[arg(long = "to", value_name = "ADDR")]
        to: Vec<String>,
        /// Check everything and show what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send even though this report was sent before.
        #[arg(long)]
        resend: bool,
        /// Send a report that was published from stale exports.
        #[arg(long)]
        allow_stale: bool,
        /// Send only this owner's book of business (see `email.owners`).
        #[arg(long, value_name = "OWNER")]
        only_owner: Option<String>,
    },
    /// Check the exports against the input contract and their freshness,
    /// without computing metrics; exits as `run` would refuse (2 or 75).
    Validate {
        #[command(flatten)]
        inputs: Inputs,
    },
    /// Print the metric catalog: id, title, unit, versions, formula, and
    /// where each version's SQL comes from (built in, or the config's `queries:`).
    Metrics {
        /// Config file whose `queries:` folder adds metrics and versions
        /// (default: config/cs-report.yaml if present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write the built-in metrics (`<metric>/metric.yml`, `vN.sql`) into
        /// DIR as a starting point for a `queries:` folder, instead of printing.
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
    },
    /// Write the built-in report templates into DIR, as a starting point for
    /// a `templates:` folder (README, "Templates", lists their variables).
    Templates {
        #[arg(long, value_name = "DIR")]
        export: PathBuf,
    },
    /// Write a deterministic sample of every export.
    Sample {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 200)]
        customers: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Last month with data, YYYY-MM (default: the last complete month).
        #[arg(long)]
        end: Option<String>,
        /// Months of history.
        #[arg(long, default_value_t = 24)]
        months: u32,
        /// Multiplies the number of usage events.
        #[arg(long, default_value_t = 1.0)]
        usage_scale: f64,
    },
}

fn month_arg(value: Option<String>, flag: &str) -> Result<Month> {
    match value {
        Some(text) => text.parse().map_err(|e| Error::Usage(format!("{flag}: {e}"))),
        None => Ok(Month::last_complete()),
    }
}

/// `--period`: a period id, or the last complete month (UTC) when absent.
fn period_arg(value: Option<String>, config: &Config) -> Result<Period> {
    let today = chrono::Utc::now().date_naive();
    let text = value.unwrap_or_else(|| "last-month".to_string());
    Period::parse(&text, config.fiscal_year_start_month, today).map_err(|e| Error::Usage(format!("--period: {e}")))
}

fn config_with(config: Option<PathBuf>, data: Option<PathBuf>, out: Option<PathBuf>) -> Result<Config> {
    Config::load(config.as_deref(), &Overrides { data, output: out })
}

/// Writes `(relative path, text)` files under `dir`, refusing to overwrite
/// a file that is there with other content. Returns how many were written.
fn export_files<'a>(dir: &std::path::Path, files: impl Iterator<Item = &'a (&'a str, &'a str)>) -> Result<usize> {
    let mut written = 0;
    for (rel, text) in files {
        let path = dir.join(rel);
        if std::fs::read_to_string(&path).is_ok_and(|old| old != *text) {
            return Err(Error::Usage(format!("{} exists and differs from the built-in file; export into an empty folder", path.display())));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io("creating folder", parent))?;
        }
        std::fs::write(&path, text).map_err(Error::io("writing", &path))?;
        written += 1;
    }
    Ok(written)
}

/// Runs one command; what it prints for the user goes to stdout, progress
/// and errors to stderr.
pub fn execute(cli: Cli) -> Result<()> {
    log::set_verbose(cli.verbose);
    match cli.command {
        Command::Run { inputs, out, fail_on_restatement, allow_stale, allow_empty, new_history, full, send } => {
            run(inputs, out, [fail_on_restatement, allow_stale, allow_empty, new_history, full], send)?;
        }
        Command::Send { config, period, to, dry_run, resend, allow_stale, only_owner } => {
            let config = config_with(config, None, None)?;
            let period = period_arg(Some(period), &config)?;
            let outcomes = deliver::send(&config, &SendRequest { period, to, dry_run, resend, allow_stale, only_owner })?;
            // A stale report: nothing sent, as for a failed check (exit 1).
            deliver::conclude(outcomes, |why| Err(Error::Check(why)))?;
        }
        Command::Validate { inputs } => validate(inputs)?,
        Command::Metrics { config, export: Some(dir) } => {
            if config.is_some() {
                return Err(Error::Usage("--export writes the built-in metrics; it takes no --config".into()));
            }
            let written = export_files(&dir, EMBEDDED_QUERIES.iter().filter(|(path, _)| path.contains('/') && !path.starts_with('_')))?;
            println!("{}: {written} files of the built-in metrics (a metric's folder there may add versions, see the README)", dir.display());
        }
        Command::Metrics { config, export: None } => list_metrics(config)?,
        Command::Templates { export } => {
            let written = export_files(&export, EMBEDDED_TEMPLATES.iter())?;
            println!("{}: {written} built-in templates (set `templates:` to a folder holding the ones you change)", export.display());
        }
        Command::Sample { out, customers, seed, end, months, usage_scale } => {
            let end = month_arg(end, "--end")?;
            if months == 0 || customers == 0 {
                return Err(Error::Usage("--customers and --months must be at least 1".into()));
            }
            sample::generate(&SampleRequest { out: out.clone(), customers, seed, end, months, usage_scale })?;
            println!("{}: sample of {customers} customers, {months} months to {end}", out.display());
        }
    }
    Ok(())
}

/// `run`: compute and publish the period, then send it when asked.
fn run(inputs: Inputs, out: Option<PathBuf>, flags: [bool; 5], send: bool) -> Result<()> {
    let Inputs { config, data, period } = inputs;
    let [fail_on_restatement, allow_stale, allow_empty, new_history, full] = flags;
        let config = config_with(config, data, out)?;
        let period = period_arg(period, &config)?;
        if send {
            // Whatever would stop the send is found before the run.
            deliver::smtp::password(deliver::email_config(&config)?)?;
        }
        log::info(&format!("computing {period} from {}", config.data.as_ref().map_or("?".into(), |d| d.display().to_string())));
        let request = RunRequest { config, period, fail_on_restatement, allow_stale, allow_empty, new_history, full };
        let outcome = pipeline::run(&request)?;
        let config = request.config;
        for s in &outcome.stale {
            log::warn(&format!("published stale (--allow-stale): {s}"));
        }
        for u in &outcome.unavailable {
            log::warn(&format!("not available: {u}"));
        }
        // One line for cron's mail: what a reader of the report should know.
        if !outcome.warnings.is_empty() || outcome.restated > 0 {
            let first = outcome.warnings.first().map_or(String::new(), |w| format!(" (first: {w})"));
            log::warn(&format!(
                "published with {} data warning(s){first} and {} restated figure(s); see the report's notes",
                outcome.warnings.len(),
                outcome.restated
            ));
        }
        println!(
            "{}: {} metric rows, {} flagged",
            outcome.folder.display(),
            outcome.rows,
            outcome.flagged
        );
        if send {
            let request =
                SendRequest { period, to: Vec::new(), dry_run: false, resend: false, allow_stale: false, only_owner: None };
            // Published from stale exports and `send_on` does not list
            // `stale`: published as asked, not sent, said so.
            // Published already: whatever stops the send now (another
            // process took the lock meanwhile...) is a send that failed,
            // exit 3, never "nothing was done".
            let outcomes = deliver::send(&config, &request).map_err(|e| match e {
                Error::Send(_) => e,
                other => Error::Send(format!(
                    "the report of {period} is published in {}, but it was not sent: {other}",
                    outcome.folder.display()
                )),
            })?;
            deliver::conclude(outcomes, |why| {
                log::warn(&format!("not sent: {why}"));
                Ok(())
            })?;
        }
    Ok(())
}

/// `validate`: the summary of every export, then its problems or verdicts.
fn validate(inputs: Inputs) -> Result<()> {
    let Inputs { config, data, period } = inputs;
        let config = config_with(config, data, None)?;
        let period = period_arg(period, &config)?;
        let found = pipeline::validate(&config, period)?;
        for line in &found.lines {
            println!("{line}");
        }
        if !found.problems.is_empty() {
            return Err(pipeline::problems_error(&found.problems.iter().collect::<Vec<_>>()));
        }
        let stale: Vec<&crate::load::freshness::Verdict> = found.verdicts.iter().filter(|v| v.stale).collect();
        if !stale.is_empty() {
            return Err(crate::load::freshness::not_ready(&stale, period.last_month()));
        }
        println!("no problems found");
    Ok(())
}

/// `metrics`: the catalog, group by group, with where each version comes from.
fn list_metrics(config: Option<PathBuf>) -> Result<()> {
        let config = Config::load(config.as_deref(), &Overrides::default())?;
        let catalog = Catalog::load(config.queries.as_deref())?;
        for group in &catalog.groups {
            println!("## {}", group.title);
            for id in &group.metrics {
                let m = catalog.metric(id).expect("catalog lists its metrics");
                let versions: Vec<String> = m
                    .versions
                    .keys()
                    .map(|v| if *v == m.default_version { format!("{v}*") } else { v.clone() })
                    .collect();
                let unit = m.unit.as_str();
                println!("{:<26} {:<40} {:<8} {:<7} {}", m.id, m.title, unit, versions.join(","), m.formula);
                for v in m.versions.values().filter(|v| !v.builtin) {
                    println!("{:<26} {} from {} (sha256 {})", "", v.id, v.origin, &v.sha256[..12]);
                }
            }
            println!();
        }
        println!("* = default version; choose another under `metrics:` in the config.");
    Ok(())
}
