//! The email as a MIME message (`email.eml`), and the same message
//! readdressed when it is sent.
//!
//! Structure: `multipart/mixed` [ `multipart/alternative` [ text/plain,
//! `multipart/related` [ text/html, image/png (`Content-ID`)… ] ],
//! text/csv attachment ]. The boundaries and the stored `Message-ID` come
//! from a hash of the content and the stored `Date` is the first moment
//! after the period, so a rerun on the same inputs writes the same file;
//! [`readdress`] sets the real date, the id ([`message_id`]) and the
//! recipients on sending.

use std::time::SystemTime;

use lettre::message::header::{self, ContentType, Headers};
use lettre::message::{Attachment, Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::Address;

use crate::error::{Error, Result};
use crate::model::text::sha256_bytes;
use crate::model::period::Period;
use crate::report::email::Email;

/// The sender of a message written without an `email:` config.
pub const DEFAULT_FROM: &str = "Customer success report <cs-report@localhost>";

/// Who a message is from and to.
#[derive(Debug, Clone)]
pub struct Addressing {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
}

impl Addressing {
    /// From checked address texts (the config was checked when loaded).
    pub fn parse(from: &str, to: &[String], cc: &[String]) -> Result<Addressing> {
        let one = |text: &str| text.parse::<Mailbox>().map_err(|e| Error::Usage(format!("{text:?} is not an email address ({e})")));
        Ok(Addressing {
            from: one(from)?,
            to: to.iter().map(|t| one(t)).collect::<Result<_>>()?,
            cc: cc.iter().map(|t| one(t)).collect::<Result<_>>()?,
        })
    }

    /// Every recipient, as the SMTP envelope lists them.
    pub fn recipients(&self) -> Vec<Address> {
        self.to.iter().chain(&self.cc).map(|m| m.email.clone()).collect()
    }
}

fn failed(what: impl std::fmt::Display) -> Error {
    Error::Input(format!("building the email: {what}"))
}

/// The domain of the sender, for message ids.
fn domain(addressing: &Addressing) -> String {
    addressing.from.email.domain().to_string()
}

/// The stored message: addressed as configured, dated the first moment
/// after the period, identified by its content.
pub fn compose(email: &Email, addressing: &Addressing, period: Period) -> Result<Vec<u8>> {
    let mut hasher_input = Vec::new();
    for part in [email.subject.as_bytes(), email.text.as_bytes(), email.html.as_bytes()] {
        hasher_input.extend_from_slice(part);
    }
    for image in &email.images {
        hasher_input.extend_from_slice(image.cid.as_bytes());
        hasher_input.extend_from_slice(&image.png);
    }
    for a in &email.attachments {
        hasher_input.extend_from_slice(a.file_name.as_bytes());
        hasher_input.extend_from_slice(&a.bytes);
    }
    let key = &sha256_bytes(&hasher_input)[..20];

    let mut related = MultiPart::related().boundary(format!("=_related_{key}")).singlepart(SinglePart::html(email.html.clone()));
    for image in &email.images {
        related = related.singlepart(
            Attachment::new_inline_with_name(image.cid.clone(), image.file_name.clone())
                .body(image.png.clone(), ContentType::parse("image/png").map_err(failed)?),
        );
    }
    let alternative = MultiPart::alternative()
        .boundary(format!("=_alternative_{key}"))
        .singlepart(SinglePart::plain(email.text.clone()))
        .multipart(related);
    let mut mixed = MultiPart::mixed().boundary(format!("=_mixed_{key}")).multipart(alternative);
    for a in &email.attachments {
        mixed = mixed.singlepart(
            Attachment::new(a.file_name.clone()).body(a.bytes.clone(), ContentType::parse(a.content_type).map_err(failed)?),
        );
    }

    let date: SystemTime = period.plus(1).first_day().and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().into();
    let mut builder = lettre::Message::builder()
        .from(addressing.from.clone())
        .subject(email.subject.clone())
        .date(date)
        .message_id(Some(format!("<cs-report.{period}.{key}@{}>", domain(addressing))))
        .user_agent(format!("cs-report {}", env!("CARGO_PKG_VERSION")));
    for m in &addressing.to {
        builder = builder.to(m.clone());
    }
    for m in &addressing.cc {
        builder = builder.cc(m.clone());
    }
    if addressing.to.is_empty() && addressing.cc.is_empty() {
        // No `email:` config: a message to no one, for reading; its envelope
        // (never used) names the sender.
        let envelope = lettre::address::Envelope::new(Some(addressing.from.email.clone()), vec![addressing.from.email.clone()])
            .map_err(failed)?;
        builder = builder.envelope(envelope);
    }
    Ok(builder.multipart(mixed).map_err(failed)?.formatted())
}

/// The header block and the body of a message (split at the first empty
/// line).
fn split(message: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = message.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((&message[..at + 2], &message[at + 2..]))
}

/// The value of a header field of a message (unfolded), if present.
pub fn header_value(message: &[u8], name: &str) -> Option<String> {
    let (head, _) = split(message)?;
    fields(head).into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The header fields, unfolded: (name, value).
fn fields(head: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(head);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.to_string(), value.trim_start().to_string()));
        }
    }
    out
}

/// What the body of a message is, independent of its addressing and date:
/// two messages with the same fingerprint say the same thing.
pub fn fingerprint(message: &[u8]) -> String {
    match split(message) {
        Some((head, body)) => {
            let subject = fields(head).into_iter().find(|(n, _)| n.eq_ignore_ascii_case("subject")).map(|(_, v)| v).unwrap_or_default();
            let mut bytes = subject.into_bytes();
            bytes.extend_from_slice(body);
            sha256_bytes(&bytes)
        }
        None => sha256_bytes(message),
    }
}

/// The stored message with the sender, the recipients, the date of sending
/// and a new message id; every other header and the body unchanged (the
/// message sent is the message published).
pub fn readdress(message: &[u8], addressing: &Addressing, now: SystemTime, message_id: &str) -> Result<Vec<u8>> {
    let (head, body) = split(message).ok_or_else(|| failed("email.eml has no header block"))?;
    let replaced = ["from", "to", "cc", "bcc", "date", "message-id"];
    let mut kept = Vec::new();
    // Keep the other fields byte for byte, folded lines included.
    let text = String::from_utf8_lossy(head);
    let mut keep = false;
    for line in text.split_inclusive("\r\n") {
        if !line.starts_with([' ', '\t']) {
            let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
            keep = !replaced.contains(&name.as_str());
        }
        if keep {
            kept.extend_from_slice(line.as_bytes());
        }
    }
    let mut headers = Headers::new();
    headers.set(header::From::from(Mailboxes::from(addressing.from.clone())));
    if !addressing.to.is_empty() {
        headers.set(header::To::from(addressing.to.iter().cloned().collect::<Mailboxes>()));
    }
    if !addressing.cc.is_empty() {
        headers.set(header::Cc::from(addressing.cc.iter().cloned().collect::<Mailboxes>()));
    }
    headers.set(header::Date::new(now));
    headers.set(header::MessageId::from(message_id.to_string()));
    let mut out = headers.to_string().into_bytes();
    out.extend_from_slice(&kept);
    out.extend_from_slice(body);
    Ok(out)
}

/// The Message-ID of one send: derived from the period, the message (the
/// summary or a book), its content, its recipients and how many times it
/// was sent to them before. A send that is retried after a crash between
/// the SMTP `DATA` and its record gets the same id, so a receiving server
/// can drop the duplicate; `--resend` after a completed send gets a new one.
pub fn message_id(addressing: &Addressing, period: Period, key: &str, fingerprint: &str, sent_before: usize) -> String {
    let recipients: Vec<String> = addressing.recipients().iter().map(ToString::to_string).collect();
    let seed = format!("{period}\n{key}\n{fingerprint}\n{}\n{sent_before}", people(&recipients).join(","));
    let digest = crate::model::text::sha256(&seed);
    format!("<cs-report.{period}.{}@{}>", &digest[..32], domain(addressing))
}

/// Recipients as a set: lower case, sorted. Two sends went to the same
/// people when these are equal.
pub fn people(recipients: &[String]) -> Vec<String> {
    let mut out: Vec<String> = recipients.iter().map(|r| r.to_ascii_lowercase()).collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::email::{Attachment as File, Image};

    fn email() -> Email {
        Email {
            subject: "Customer success report, October 2026: MRR 74.2k USD (−2.4 %)".into(),
            text: "MRR 74.2k USD\n".into(),
            html: "<p>MRR <img src=\"cid:mrr@cs-report\" width=\"576\" height=\"270\" alt=\"MRR\"></p>".into(),
            images: vec![Image { cid: "mrr@cs-report".into(), file_name: "mrr.png".into(), png: vec![0x89, b'P', b'N', b'G'] }],
            attachments: vec![File { file_name: "at-risk-2026-10.csv".into(), content_type: "text/csv; charset=utf-8", bytes: b"a,b\n".to_vec() }],
        }
    }

    #[test]
    fn the_stored_message_is_the_same_on_every_run_and_has_every_part() {
        let to = Addressing::parse("Reports <r@example.com>", &["lead@example.com".into()], &[]).unwrap();
        let period = Period::month("2026-10".parse().unwrap());
        let a = compose(&email(), &to, period).unwrap();
        assert_eq!(a, compose(&email(), &to, period).unwrap(), "deterministic");
        let text = String::from_utf8_lossy(&a);
        for needle in [
            "multipart/mixed",
            "multipart/alternative",
            "multipart/related",
            "text/plain",
            "text/html",
            "Content-ID: <mrr@cs-report>",
            "image/png",
            "filename=\"at-risk-2026-10.csv\"",
            "Date: Sun, 01 Nov 2026 00:00:00 +0000",
            "To: lead@example.com",
        ] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
        assert!(header_value(&a, "Message-ID").unwrap().starts_with("<cs-report.2026-10."));
    }

    #[test]
    fn readdressing_changes_the_envelope_headers_and_nothing_else() {
        let period = Period::month("2026-10".parse().unwrap());
        let stored = compose(&email(), &Addressing::parse(DEFAULT_FROM, &[], &[]).unwrap(), period).unwrap();
        let to = Addressing::parse("Reports <r@example.com>", &["a@example.com".into(), "b@example.com".into()], &["c@example.com".into()]).unwrap();
        let id = message_id(&to, period, "summary", &fingerprint(&stored), 0);
        let sent = readdress(&stored, &to, SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000), &id).unwrap();
        // The same send gets the same id; another recipient or a resend, another.
        assert_eq!(message_id(&to, period, "summary", &fingerprint(&stored), 0), id);
        assert_ne!(message_id(&to, period, "summary", &fingerprint(&stored), 1), id);
        let other = Addressing::parse("Reports <r@example.com>", &["a@example.com".into()], &[]).unwrap();
        assert_ne!(message_id(&other, period, "summary", &fingerprint(&stored), 0), id);
        assert_eq!(header_value(&sent, "To").unwrap(), "a@example.com, b@example.com");
        assert_eq!(header_value(&sent, "Cc").unwrap(), "c@example.com");
        assert!(header_value(&sent, "From").unwrap().contains("r@example.com"));
        assert_eq!(header_value(&sent, "Message-ID").unwrap(), id);
        assert!(id.ends_with("@example.com>"), "{id}");
        assert_eq!(header_value(&sent, "Subject"), header_value(&stored, "Subject"));
        assert_eq!(fingerprint(&sent), fingerprint(&stored), "same content");
        assert_eq!(split(&sent).unwrap().1, split(&stored).unwrap().1, "body byte for byte");
        assert_eq!(sent.windows(7).filter(|w| w.eq_ignore_ascii_case(b"\r\nDate:")).count(), 1);
    }
}
