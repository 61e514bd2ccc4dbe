//! Delivering a published report: `cs-report send` and `run --send` email
//! the period's `email.eml` (the message as published, readdressed) over
//! SMTP. Only a published report is sent; a report published from stale
//! exports only when `email.send_on` lists `stale` or `--allow-stale` asks;
//! the same report twice only with `--resend`. Each send is recorded in the
//! history store and listed in the period's manifest.

pub mod message;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::{Config, EmailConfig, SendOn};
use crate::error::{Error, Result};
use crate::model::manifest::Manifest;
use crate::model::period::Period;
use crate::model::rows::SendRecord;
use crate::publish::history::History;
use crate::publish::{period_folder, OutputRoot};
use message::Addressing;

/// What `cs-report send` (or `run --send`) was asked to do.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub period: Period,
    /// Recipients instead of the config's `to` and `cc`.
    pub to: Vec<String>,
    /// Check everything and show the message, but send nothing.
    pub dry_run: bool,
    /// Send a report that was already sent.
    pub resend: bool,
    /// Send a report published from stale exports.
    pub allow_stale: bool,
    /// Send only this owner's book of business.
    pub only_owner: Option<String>,
}

/// How a send ended.
#[derive(Debug)]
pub enum SendOutcome {
    Sent { message_id: String, recipients: Vec<String>, bytes: usize },
    /// `--dry-run`: what would have been sent.
    DryRun { subject: String, from: String, recipients: Vec<String>, bytes: usize, eml: PathBuf },
    /// Sent before (same run or same content), and `--resend` was not given.
    AlreadySent(SendRecord),
    /// Published from stale exports, and neither `send_on` nor
    /// `--allow-stale` allows sending it: why, in words.
    Stale(String),
    /// A book whose owner has no address in `owners`: never sent.
    NoAddress(String),
    /// The SMTP server refused this message (or could not be reached).
    Failed { message: String, recipients: Vec<String>, error: String },
}

/// The `email:` section, or an error saying how to add it.
pub fn email_config(config: &Config) -> Result<&EmailConfig> {
    config.email.as_ref().ok_or_else(|| {
        Error::Usage(format!(
            "no `email:` section in {}: add the SMTP server, sender and recipients (README, \"Email\") to send the summary",
            config.file_name()
        ))
    })
}


/// One message of a published period: the leadership summary, or a book.
struct Message {
    /// `summary` or `owner:<folder>`, as recorded in the history store.
    key: String,
    eml: PathBuf,
    /// The published message, as written by the run.
    stored: Vec<u8>,
    /// The book's owner address (its `To`), None for the summary.
    owner_to: Option<Vec<String>>,
}

/// The messages of a published folder that this send covers: the summary
/// (unless one owner is asked for), and each book with `email.owners` or
/// `--only-owner`.
fn messages(folder: &Path, email: &EmailConfig, only_owner: Option<&str>) -> Result<Vec<Message>> {
    let read = |eml: &Path| {
        std::fs::read(eml).map_err(|e| {
            Error::Input(format!("cannot read {} ({e}): rerun the period with this version of cs-report to write it", eml.display()))
        })
    };
    let mut out = Vec::new();
    if only_owner.is_none() {
        let eml = folder.join("email.eml");
        out.push(Message { key: "summary".into(), stored: read(&eml)?, eml, owner_to: None });
    }
    if !email.owners && only_owner.is_none() {
        return Ok(out);
    }
    let books = folder.join("owners");
    let mut names: Vec<String> = match std::fs::read_dir(&books) {
        Ok(entries) => entries.flatten().filter(|e| e.path().join("email.eml").is_file()).map(|e| e.file_name().to_string_lossy().to_string()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    if let Some(owner) = only_owner {
        let wanted = crate::report::book::folder_name(owner);
        if !names.contains(&wanted) {
            return Err(Error::Usage(format!(
                "no book of business for owner `{owner}` in {}: owners with a book are {}",
                books.display(),
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )));
        }
        names.retain(|n| *n == wanted);
    }
    for name in names {
        let eml = books.join(&name).join("email.eml");
        let stored = read(&eml)?;
        let to: Vec<String> = message::header_value(&stored, "To")
            .map(|v| v.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect())
            .unwrap_or_default();
        out.push(Message { key: format!("owner:{name}"), eml, stored, owner_to: Some(to) });
    }
    Ok(out)
}

/// Who a message goes to: `--to` when given, else the config's recipients
/// for the company report, else the owner's address for a book (`None`: the
/// owner has none).
fn addressing_for(msg: &Message, email: &EmailConfig, req: &SendRequest) -> Result<Option<Addressing>> {
    Ok(Some(match (&msg.owner_to, req.to.is_empty()) {
        (_, false) => Addressing::parse(&email.from, &req.to, &[])?,
        (None, true) => Addressing::parse(&email.from, &email.to, &email.cc)?,
        (Some(to), true) if to.is_empty() => return Ok(None),
        (Some(to), true) => Addressing::parse(&email.from, to, &[])?,
    }))
}

/// Records a sent message in the history store and lists it in the
/// manifest. Sent: from here on a failure must not read as "not sent"
/// (exit 3 invites a resend), so it is a warning.
fn record_sent(history: &History, folder: &Path, manifest: &mut Manifest, record: &SendRecord) {
    let message_id = &record.message_id;
    if let Err(e) = history.record_send(record) {
        crate::log::warn(&format!("the email was sent ({message_id}) but recording it in the history store failed: {e}"));
    }
    manifest.sends.push(record.clone());
    if let Err(e) = manifest.replace_in(folder) {
        crate::log::warn(&format!("the email was sent ({message_id}) but listing it in the manifest failed: {e}"));
    }
}

/// Sends the published report of `req.period`: the summary to the config's
/// recipients and, with `email.owners`, each book of business to its owner.
/// Each message is sent once (per run or content) and recorded as it goes,
/// so a retry after a failure sends only what is missing. One outcome per
/// message; a message that failed is `Failed` and the others still go.
pub fn send(config: &Config, req: &SendRequest) -> Result<Vec<SendOutcome>> {
    let email = email_config(config)?;
    let period = req.period;
    let folder = period_folder(&config.output, period);
    if !folder.join("manifest.json").is_file() {
        return Err(Error::Usage(format!(
            "no published report of {period} in {}: run `cs-report run --period {period}` first (a run that fails \
             or is refused publishes nothing, and nothing is sent for it)",
            config.output.display()
        )));
    }
    let password = smtp::password(email)?;
    crate::publish::fault::point("send.lock")?;
    let root = OutputRoot::open(&config.output, false)?;
    let history = &root.history;
    let mut manifest = Manifest::read(&folder)?;
    let stale = manifest.stale_tables();
    if !stale.is_empty() && !email.send_on.contains(&SendOn::Stale) && !req.allow_stale {
        return Ok(vec![SendOutcome::Stale(format!(
            "the report of {period} was published from stale exports ({}), so it is not sent: rerun the period once \
             they have caught up, or send it anyway with `cs-report send --period {period} --allow-stale` (or list \
             `stale` in `email.send_on`)",
            stale.join(", ")
        ))]);
    }
    let sent_before = history.sends(period)?;
    let mut outcomes = Vec::new();
    for msg in messages(&folder, email, req.only_owner.as_deref())? {
        let stored = &msg.stored;
        let fingerprint = message::fingerprint(stored);
        if !req.resend {
            if let Some(before) =
                sent_before.iter().find(|s| s.message == msg.key && (s.run_id == manifest.run.id || s.fingerprint == fingerprint))
            {
                outcomes.push(SendOutcome::AlreadySent(before.clone()));
                continue;
            }
        }
        let Some(addressing) = addressing_for(&msg, email, req)? else {
            outcomes.push(SendOutcome::NoAddress(msg.key.trim_start_matches("owner:").to_string()));
            continue;
        };
        let recipients: Vec<String> = addressing.recipients().iter().map(ToString::to_string).collect();
        let now = SystemTime::now();
        // How often this message went to these recipients before: the id
        // stays the same until a send completes (see `message::message_id`).
        let same = |s: &&SendRecord| s.message == msg.key && s.fingerprint == fingerprint && message::people(&s.recipients) == message::people(&recipients);
        let message_id = message::message_id(&addressing, period, &msg.key, &fingerprint, sent_before.iter().filter(same).count());
        let bytes = message::readdress(stored, &addressing, now, &message_id)?;
        if req.dry_run {
            outcomes.push(SendOutcome::DryRun {
                subject: message::header_value(stored, "Subject").unwrap_or_default(),
                from: addressing.from.to_string(),
                recipients,
                bytes: bytes.len(),
                eml: msg.eml.clone(),
            });
            continue;
        }
        let envelope = lettre::address::Envelope::new(Some(addressing.from.email.clone()), addressing.recipients())
            .map_err(|e| Error::Usage(format!("the message has no recipient: {e}")))?;
        let record = SendRecord {
            run_id: manifest.run.id.clone(),
            period: period.to_string(),
            message: msg.key.clone(),
            message_id: message_id.clone(),
            sent_at: chrono::DateTime::<chrono::Utc>::from(now).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            recipients: recipients.clone(),
            fingerprint,
        };
        history.begin_send(&record)?;
        if let Err(e) = smtp::send(email, password.clone(), &envelope, &bytes) {
            outcomes.push(SendOutcome::Failed { message: msg.key.clone(), recipients, error: e.to_string() });
            continue;
        }
        crate::publish::fault::point("send.sent")?;
        record_sent(history, &folder, &mut manifest, &record);
        outcomes.push(SendOutcome::Sent { message_id, recipients, bytes: bytes.len() });
    }
    Ok(outcomes)
}

/// Prints each outcome (stdout) and ends as the worst of them asks: a
/// failed message is exit 3 (the others were sent and recorded; `send`
/// again sends only what is missing); a stale report is `stale`'s error.
pub fn conclude(outcomes: Vec<SendOutcome>, stale: impl Fn(String) -> Result<()>) -> Result<()> {
    let mut failed = Vec::new();
    for outcome in outcomes {
        match outcome {
            SendOutcome::Stale(why) => stale(why)?,
            SendOutcome::Failed { message, recipients, error } => {
                println!("not sent: {message} to {}: {error}", recipients.join(", "));
                failed.push(format!("{message} ({error})"));
            }
            other => println!("{other}"),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Send(format!(
            "{} message(s) not sent: {}; the others were sent and recorded, so `cs-report send` again sends only these",
            failed.len(),
            failed.join("; ")
        )))
    }
}

impl std::fmt::Display for SendOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendOutcome::Sent { message_id, recipients, bytes } => {
                write!(f, "sent {message_id} ({} KB) to {}", bytes / 1024, recipients.join(", "))
            }
            SendOutcome::DryRun { subject, from, recipients, bytes, eml } => write!(
                f,
                "dry run, nothing sent: {subject:?} from {from} to {} ({} KB, {})",
                recipients.join(", "),
                bytes / 1024,
                eml.display()
            ),
            SendOutcome::Stale(why) => write!(f, "not sent: {why}"),
            SendOutcome::NoAddress(owner) => write!(f, "not sent: the book of {owner} has no address (no row in owners)"),
            SendOutcome::Failed { message, recipients, error } => {
                write!(f, "not sent: {message} to {}: {error}", recipients.join(", "))
            }
            SendOutcome::AlreadySent(s) => write!(
                f,
                "not sent again: this report of {} was sent at {} to {} ({}); pass --resend to send it again",
                s.period,
                s.sent_at,
                s.recipients.join(", "),
                s.message_id
            ),
        }
    }
}
