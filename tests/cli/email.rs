//! The executive summary by email: `email.eml` as written by the run, and
//! sending it to a real SMTP server on loopback (aiosmtpd, which `make test`
//! installs): STARTTLS with login, implicit TLS, once per report, failures
//! with their own exit code and the report left published.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailparse::{DispositionType, MailHeaderMap, ParsedMail};

use crate::support::*;

const PASSWORD_ENV: &str = "CS_REPORT_TEST_SMTP_PASSWORD";
const PASSWORD: &str = "s3cret pass";

/// A config with data, output and an `email:` section for a server on
/// loopback.
fn config(s: &Scenario, smtp: &str) -> PathBuf {
    let ca = fixtures().join("smtp/ca.pem");
    s.write(
        "cs-report.yaml",
        &format!(
            "data: data\noutput: out\nemail:\n  smtp: {{host: 127.0.0.1, {smtp}, ca_file: {ca}, timeout_seconds: 20}}\n  user: reports\n  \
             password_env: {PASSWORD_ENV}\n  from: \"Customer success report <reports@example.com>\"\n  to: [ceo@example.com, cfo@example.com]\n  \
             cc: [cs-team@example.com]\n",
            ca = ca.display()
        ),
    )
}

/// Checks the structure every email has and returns its HTML part.
fn check_structure(bytes: &[u8], period: &str) -> String {
    let mail = mailparse::parse_mail(bytes).unwrap();
    assert_eq!(mail.ctype.mimetype, "multipart/mixed");
    let alternative = &mail.subparts[0];
    assert_eq!(alternative.ctype.mimetype, "multipart/alternative");
    assert_eq!(alternative.subparts[0].ctype.mimetype, "text/plain");
    let related = &alternative.subparts[1];
    assert_eq!(related.ctype.mimetype, "multipart/related");
    let html_part = &related.subparts[0];
    assert_eq!(html_part.ctype.mimetype, "text/html");
    let html = html_part.get_body().unwrap();
    assert!(html.len() < 100 * 1024, "the HTML is {} bytes: Gmail clips it", html.len());
    for banned in ["<style", "data:", "<svg", "<script", "http://", "https://"] {
        assert!(!html.contains(banned), "the email HTML holds {banned}");
    }
    assert!(html.contains(r#"<meta name="color-scheme" content="light only">"#));
    assert!(html.contains("style=") && html.contains("background-color: #ffffff"), "CSS inlined, white background");
    // Every cid: of the HTML is an image part of the message, with a size.
    let images: Vec<&ParsedMail> = related.subparts[1..].iter().collect();
    assert!(images.len() >= 4, "{} images", images.len());
    let cids: Vec<&str> = html.split("src=\"cid:").skip(1).map(|rest| rest.split('"').next().unwrap()).collect();
    assert_eq!(cids.len(), images.len());
    for (cid, image) in cids.iter().zip(&images) {
        assert_eq!(image.ctype.mimetype, "image/png");
        assert_eq!(image.headers.get_first_value("Content-ID").unwrap(), format!("<{cid}>"));
        assert!(image.get_body_raw().unwrap().starts_with(b"\x89PNG"), "{cid} is a PNG");
        let at = html.find(&format!("\"cid:{cid}\"")).unwrap();
        let tag = &html[html[..at].rfind("<img").unwrap()..at + html[at..].find('>').unwrap()];
        assert!(tag.contains("width=\"576\"") && tag.contains("height=\"270\"") && tag.contains("alt=\""), "{cid}: {tag}");
    }
    // The at-risk list, attached.
    let csv = &mail.subparts[1];
    assert_eq!(csv.ctype.mimetype, "text/csv");
    let disposition = csv.get_content_disposition();
    assert_eq!(disposition.disposition, DispositionType::Attachment);
    assert_eq!(disposition.params["filename"], format!("at-risk-{period}.csv"));
    let body = csv.get_body().unwrap();
    assert!(body.starts_with("customer_id,name,segment,region,mrr,health,"), "{body}");
    assert!(body.lines().count() > 1);
    html
}

#[test]
fn the_run_writes_the_email_as_a_complete_message() {
    let s = sample_scenario();
    let cfg = config(&s, "port: 2525, tls: starttls");
    let out = s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-06"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = s.out().join("2025-06");
    let eml = fs::read(dir.join("email.eml")).unwrap();
    let html = check_structure(&eml, "2025-06");
    let mail = mailparse::parse_mail(&eml).unwrap();
    let header = |name: &str| mail.headers.get_first_value(name).unwrap();
    assert_eq!(header("To"), "ceo@example.com, cfo@example.com");
    assert_eq!(header("Cc"), "cs-team@example.com");
    assert!(header("From").contains("reports@example.com"));

    // The subject and the figures, rounded the way people read them, from
    // the published numbers.
    let metrics = Metrics::read(&dir.join("metrics.csv"));
    let mrr = metrics.get("mrr", "all", "all").unwrap();
    let series = fs::read_to_string(dir.join("series.csv")).unwrap();
    let row = series.lines().find(|l| l.starts_with("2025-06,mrr,v1,all,all,")).unwrap();
    let header_row: Vec<&str> = series.lines().next().unwrap().split(',').collect();
    let change_pct: f64 = row.split(',').nth(header_row.iter().position(|c| *c == "change_pct").unwrap()).unwrap().parse().unwrap();
    let rounded = if mrr >= 1e6 { format!("{:.1}M", mrr / 1e6) } else { format!("{:.1}k", mrr / 1e3) };
    let rounded = rounded.replace(".0k", "k").replace(".0M", "M");
    let sign = if change_pct > 0.0 { "+" } else if change_pct < 0.0 { "−" } else { "" };
    let expected = format!("Customer success report, June 2025: MRR {rounded} USD ({sign}{:.1} %)", change_pct.abs());
    assert_eq!(header("Subject"), expected);
    assert!(html.contains(&format!("MRR is <strong>{rounded} USD</strong>")), "{html}");

    let text = mail.subparts[0].subparts[0].get_body().unwrap();
    assert!(text.contains(&format!("MRR {rounded} USD")), "{text}");
    assert!(text.contains("at-risk-2025-06.csv"));
    // A value on few survey answers carries its caveat.
    let low_sample = fs::read_to_string(dir.join("metrics.csv")).unwrap().lines().any(|l| l.contains(",nps,") && l.contains(",all,all,") && l.ends_with(",true"));
    assert_eq!(text.contains("few survey answers"), low_sample);

    // The same inputs give the same message.
    let again = s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-06"]);
    assert!(again.status.success());
    assert!(fs::read(dir.join("email.eml")).unwrap() == eml, "email.eml changed on rerun");
}

#[test]
fn a_restated_report_says_so_first() {
    let s = Scenario::fixture("revenue");
    s.run("2024-03", &[]);
    s.edit("subscriptions.csv", "month,100,USD", "month,120,USD");
    s.run("2024-03", &[]);
    let eml = fs::read(s.out().join("2024-03/email.eml")).unwrap();
    let mail = mailparse::parse_mail(&eml).unwrap();
    // Without an `email:` section the message is addressed to no one.
    assert!(mail.headers.get_first_value("To").is_none());
    let text = mail.subparts[0].subparts[0].get_body().unwrap();
    let first = text.lines().filter(|l| !l.trim().is_empty()).nth(1).unwrap();
    assert!(first.starts_with("RESTATED: 1"), "{text}");
    assert!(text.contains("Restated since last report") && text.contains("  - March 2024: Monthly recurring revenue 1.73k USD -> 1.75k USD (+20 USD)"), "{text}");
    let html = mail.subparts[0].subparts[1].subparts[0].get_body().unwrap();
    assert!(html.find("Restated.").unwrap() < html.find("Headline numbers").unwrap());
}

/// The aiosmtpd server of `tests/fixtures/smtp/server.py`, on a free port.
struct SmtpServer {
    child: Child,
    port: u16,
    spool: tempfile::TempDir,
}

/// The Python that has aiosmtpd (Debian's, which `make test` installs it for).
fn python_with_aiosmtpd() -> PathBuf {
    for candidate in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(candidate).args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success());
        if ok {
            return PathBuf::from(candidate);
        }
    }
    panic!("the SMTP tests need aiosmtpd and it is not installed: `make test` installs it (apt-get install python3-aiosmtpd)");
}

impl SmtpServer {
    fn start(mode: &str) -> SmtpServer {
        let spool = tempfile::tempdir().unwrap();
        let port_file = spool.path().join("port");
        let script = fixtures().join("smtp/server.py");
        let mail = spool.path().join("mail");
        fs::create_dir(&mail).unwrap();
        let child = Command::new(python_with_aiosmtpd())
            .arg(script)
            .args([mode, port_file.to_str().unwrap(), mail.to_str().unwrap(), "reports", PASSWORD])
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the SMTP server starts");
        let started = Instant::now();
        while !port_file.is_file() {
            assert!(started.elapsed() < Duration::from_secs(20), "the SMTP server did not start in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let port = fs::read_to_string(&port_file).unwrap().trim().parse().unwrap();
        SmtpServer { child, port, spool }
    }

    /// The messages received: (bytes, envelope as the server saw it).
    fn received(&self) -> Vec<(Vec<u8>, serde_json::Value)> {
        let mail = self.spool.path().join("mail");
        (1..)
            .map(|n| (mail.join(format!("{n}.eml")), mail.join(format!("{n}.json"))))
            .take_while(|(eml, _)| eml.is_file())
            .map(|(eml, json)| (fs::read(eml).unwrap(), serde_json::from_str(&fs::read_to_string(json).unwrap()).unwrap()))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A relay speaking `mode` (`starttls` or `tls`), the sample scenario and
/// a config that sends through the relay.
fn relay(mode: &str) -> (SmtpServer, Scenario, PathBuf) {
    let server = SmtpServer::start(mode);
    let s = sample_scenario();
    let cfg = config(&s, &format!("port: {}, tls: {mode}", server.port));
    (server, s, cfg)
}

/// `run --send` of 2025-06 with `env`.
fn run_send(s: &Scenario, cfg: &Path, env: &[(&str, &str)]) -> std::process::Output {
    s.cs_report_env(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-06", "--send"], env)
}

fn send(s: &Scenario, cfg: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["send", "--config", cfg.to_str().unwrap(), "--period", "2025-06"];
    args.extend_from_slice(extra);
    s.cs_report_env(&args, &[(PASSWORD_ENV, PASSWORD)])
}

#[test]
fn run_send_delivers_over_starttls_with_login_once_and_resend_sends_again() {
    let (server, s, cfg) = relay("starttls");
    let out = run_send(&s, &cfg, &[(PASSWORD_ENV, PASSWORD)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("sent <cs-report.2025-06."), "{stdout}");

    let received = server.received();
    assert_eq!(received.len(), 1);
    let (bytes, envelope) = &received[0];
    assert_eq!(envelope["rcpt_tos"], serde_json::json!(["ceo@example.com", "cfo@example.com", "cs-team@example.com"]));
    assert_eq!(envelope["mail_from"], "reports@example.com");
    assert_eq!(envelope["tls"], true);
    assert_eq!(envelope["login"], "reports");
    check_structure(bytes, "2025-06");
    let mail = mailparse::parse_mail(bytes).unwrap();
    let stored = mailparse::parse_mail(&fs::read(s.out().join("2025-06/email.eml")).unwrap()).unwrap().headers.get_first_value("Subject");
    assert_eq!(mail.headers.get_first_value("Subject"), stored, "the message sent is the one published");
    let message_id = mail.headers.get_first_value("Message-ID").unwrap();

    // Recorded in the manifest and the history store.
    let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.out().join("2025-06/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["sends"][0]["message_id"], message_id.as_str());
    assert_eq!(manifest["sends"][0]["recipients"].as_array().unwrap().len(), 3);
    assert!(folder_is_complete(&s.out().join("2025-06")));
    let db = duckdb::Connection::open(s.out().join("history.duckdb")).unwrap();
    let recorded: String = db.query_row("SELECT message_id FROM sends", [], |r| r.get(0)).unwrap();
    assert_eq!(recorded, message_id);
    drop(db);

    // Once: a second send, and a rerun of the same inputs with --send, send nothing.
    let again = send(&s, &cfg, &[]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("not sent again"), "{}", String::from_utf8_lossy(&again.stdout));
    let rerun = run_send(&s, &cfg, &[(PASSWORD_ENV, PASSWORD)]);
    assert!(rerun.status.success());
    assert!(String::from_utf8_lossy(&rerun.stdout).contains("not sent again"));
    assert_eq!(server.received().len(), 1);

    // A dry run shows and sends nothing; --resend to another address sends.
    let dry = send(&s, &cfg, &["--resend", "--dry-run", "--to", "me@example.com"]);
    assert!(dry.status.success());
    assert!(String::from_utf8_lossy(&dry.stdout).contains("dry run, nothing sent"));
    assert_eq!(server.received().len(), 1);
    let resent = send(&s, &cfg, &["--resend", "--to", "me@example.com"]);
    assert!(resent.status.success(), "{}", String::from_utf8_lossy(&resent.stderr));
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].1["rcpt_tos"], serde_json::json!(["me@example.com"]));
    let second = mailparse::parse_mail(&received[1].0).unwrap();
    assert_eq!(second.headers.get_first_value("To").unwrap(), "me@example.com");
    assert!(second.headers.get_first_value("Cc").is_none());
    assert_ne!(second.headers.get_first_value("Message-ID").unwrap(), message_id);
}

#[test]
fn send_delivers_over_implicit_tls() {
    let (server, s, cfg) = relay("tls");
    let out = s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-06"]);
    assert!(out.status.success());
    assert!(server.received().is_empty(), "run without --send sends nothing");
    let sent = send(&s, &cfg, &[]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1["tls"], true);
    check_structure(&received[0].0, "2025-06");
}

#[test]
fn smtp_failures_exit_3_and_leave_the_report_published() {
    let (server, s, cfg) = relay("starttls");
    // A wrong password: the server refuses the login.
    let out = run_send(&s, &cfg, &[(PASSWORD_ENV, "wrong")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{}", server.port)) && err.contains("stays published"), "{err}");
    assert!(folder_is_complete(&s.out().join("2025-06")));
    assert!(server.received().is_empty());
    // Nothing recorded as sent, so a later send goes out.
    let sent = send(&s, &cfg, &[]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert_eq!(server.received().len(), 1);
    drop(server);

    // No server at all.
    let gone = send(&s, &cfg, &["--resend"]);
    assert_eq!(gone.status.code(), Some(3), "{}", String::from_utf8_lossy(&gone.stderr));
    // A certificate nobody vouches for: no ca_file, so only the public roots.
    let server = SmtpServer::start("tls");
    let text = fs::read_to_string(&cfg).unwrap();
    let ca_line = text.lines().find(|l| l.contains("smtp:")).unwrap().to_string();
    let untrusted = s.write("untrusted.yaml", &text.replace(&ca_line, &format!("  smtp: {{host: 127.0.0.1, port: {}, tls: tls}}", server.port)));
    let refused = send(&s, &untrusted, &["--resend"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(server.received().is_empty());
}

#[test]
fn nothing_is_sent_for_a_stale_report_or_without_the_password() {
    let (server, s, cfg) = relay("starttls");
    // The password is checked before the run: nothing is published.
    let out = s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-06", "--send"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // Which key, not what it says: it could be a password by mistake.
    assert!(err.contains("email.password_env") && !err.contains(PASSWORD_ENV), "{err}");
    assert!(!s.out().join("2025-06").exists());

    // Usage that stops early in the month: stale, published with
    // --allow-stale, not sent unless asked.
    let usage = s.data().join("usage_events.csv");
    let text = fs::read_to_string(&usage).unwrap();
    let kept: String = text.lines().filter(|l| !l.contains(",2025-06-2") && !l.contains(",2025-06-3")).map(|l| format!("{l}\n")).collect();
    fs::write(&usage, kept).unwrap();
    let env = [(PASSWORD_ENV, PASSWORD)];
    let out = s.cs_report_env(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-06", "--send", "--allow-stale"], &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("not sent") && err.contains("stale"), "{err}");
    assert!(server.received().is_empty());
    let refused = send(&s, &cfg, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(server.received().is_empty());
    let eml = fs::read(s.out().join("2025-06/email.eml")).unwrap();
    let subject = mailparse::parse_mail(&eml).unwrap().headers.get_first_value("Subject").unwrap();
    assert!(subject.starts_with("[stale data] "), "{subject}");
    let asked = send(&s, &cfg, &["--allow-stale"]);
    assert!(asked.status.success(), "{}", String::from_utf8_lossy(&asked.stderr));
    assert_eq!(server.received().len(), 1);

    // No published report: nothing to send.
    let none = s.cs_report_env(&["send", "--config", cfg.to_str().unwrap(), "--period", "2025-05"], &env);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no published report of 2025-05"));
}

/// The files under `dir` (the history store included) that hold `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_holding(&path, needle));
        } else if fs::read(&path).unwrap().windows(needle.len()).any(|w| w == needle.as_bytes()) {
            out.push(path);
        }
    }
    out
}

/// Issue 27, cases 3 and 6: a password pasted into `password_env` is never
/// printed nor kept; a sent password is in no output; a login over a
/// connection that is not encrypted is refused unless the config allows it.
#[test]
fn secrets_reach_no_output_or_log_and_no_login_goes_unencrypted() {
    let (server, s, cfg) = relay("starttls");
    let sent = run_send(&s, &cfg, &[(PASSWORD_ENV, PASSWORD)]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert_eq!(server.received().len(), 1);
    let logs = format!("{}{}", String::from_utf8_lossy(&sent.stdout), String::from_utf8_lossy(&sent.stderr));
    assert!(!logs.contains(PASSWORD) && files_holding(&s.out(), PASSWORD).is_empty());

    // The password itself written as the variable's name: a valid name...
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, text.replace(PASSWORD_ENV, "Hunter2Secret")).unwrap();
    let run = s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-05"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let refused = s.cs_report(&["send", "--config", cfg.to_str().unwrap(), "--period", "2025-05"]);
    assert_eq!(refused.status.code(), Some(2));
    for output in [&run, &refused] {
        let logs = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(!logs.contains("Hunter2Secret"), "{logs}");
    }
    assert_eq!(files_holding(&s.out(), "Hunter2Secret"), Vec::<PathBuf>::new());
    // ... or not a name at all.
    fs::write(&cfg, text.replace(PASSWORD_ENV, "\"hunter2 ok!\"")).unwrap();
    let bad = s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-05"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("email.password_env") && !err.contains("hunter2"), "{err}");

    // No TLS with a login: refused unless allowed on purpose.
    let plain = text.replace(&format!("port: {}, tls: starttls", server.port), "port: 2525, tls: none");
    fs::write(&cfg, &plain).unwrap();
    let refused = s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-05"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("email.smtp.allow_insecure_auth"), "{err}");
    fs::write(&cfg, plain.replace("tls: none", "tls: none, allow_insecure_auth: true")).unwrap();
    let allowed = s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-05"]);
    assert!(allowed.status.success(), "{}", String::from_utf8_lossy(&allowed.stderr));
}

/// Books of business (issue 13): with `email.owners`, every owner with an
/// address gets their own book, once; a refused recipient is exit 3 and a
/// retry sends only what is missing.
#[test]
fn each_owner_gets_their_book_once_and_a_retry_sends_only_what_failed() {
    let (server, s, cfg) = relay("starttls");
    let text = fs::read_to_string(&cfg).unwrap() + "  owners: true\n";
    fs::write(&cfg, text).unwrap();
    let owners = fs::read_to_string(s.data().join("owners.csv")).unwrap();
    assert!(owners.contains("ben.okafor@example.com"), "{owners}");
    // Ben's mailbox refuses mail at first.
    fs::write(server.spool.path().join("reject"), "ben.okafor@example.com\n").unwrap();
    let run = run_send(&s, &cfg, &[(PASSWORD_ENV, PASSWORD)]);
    assert_eq!(run.status.code(), Some(3), "{}", String::from_utf8_lossy(&run.stderr));
    let received = server.received();
    let rcpts: Vec<String> = received.iter().map(|(_, e)| e["rcpt_tos"][0].as_str().unwrap().to_string()).collect();
    assert_eq!(rcpts, ["ceo@example.com", "ana.silva@example.com", "chloe.martin@example.com"], "summary first, then each book");
    // Each book carries its owner's accounts only: Ana's is addressed to her
    // and says so.
    let ana = mailparse::parse_mail(&received[1].0).unwrap();
    assert_eq!(ana.headers.get_first_value("To").unwrap(), "ana.silva@example.com");
    assert!(ana.headers.get_first_value("Subject").unwrap().starts_with("Your accounts, June 2025 (Ana Silva)"));
    // Her at-risk attachment lists her accounts only, and the summary's
    // lists accounts of every manager.
    let owner_of: std::collections::BTreeMap<String, String> = fs::read_to_string(s.data().join("customers.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| (l.split(',').next().unwrap().to_string(), l.rsplit(',').next().unwrap().to_string()))
        .collect();
    let at_risk_ids = |mail: &ParsedMail<'_>| -> Vec<String> {
        fn find<'a>(m: &'a ParsedMail<'a>) -> Option<&'a ParsedMail<'a>> {
            if m.get_content_disposition().disposition == DispositionType::Attachment {
                return Some(m);
            }
            m.subparts.iter().find_map(find)
        }
        let csv = find(mail).expect("an at-risk attachment").get_body().unwrap();
        csv.lines().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect()
    };
    let ana_ids = at_risk_ids(&ana);
    assert!(!ana_ids.is_empty());
    assert!(ana_ids.iter().all(|id| owner_of[id] == "ana.silva"), "{ana_ids:?}");
    let summary = mailparse::parse_mail(&received[0].0).unwrap();
    let owners: std::collections::BTreeSet<&str> = at_risk_ids(&summary).iter().map(|id| owner_of[id].as_str()).collect::<Vec<_>>().into_iter().collect();
    assert!(owners.len() > 1, "{owners:?}");
    // The dry run lists what is left; a retry sends only Ben's.
    fs::remove_file(server.spool.path().join("reject")).unwrap();
    let dry = send(&s, &cfg, &["--dry-run"]);
    let listed = String::from_utf8_lossy(&dry.stdout);
    assert!(listed.contains("dry run, nothing sent") && listed.contains("ben.okafor@example.com"), "{listed}");
    assert_eq!(listed.matches("not sent again").count(), 3, "{listed}");
    let retry = send(&s, &cfg, &[]);
    assert!(retry.status.success(), "{}", String::from_utf8_lossy(&retry.stderr));
    let received = server.received();
    assert_eq!(received.len(), 4);
    assert_eq!(received[3].1["rcpt_tos"], serde_json::json!(["ben.okafor@example.com"]));
    // Everything sent once: nothing more; --only-owner resends one book.
    let again = send(&s, &cfg, &[]);
    assert!(again.status.success());
    assert_eq!(server.received().len(), 4);
    let one = send(&s, &cfg, &["--only-owner", "chloe.martin", "--resend"]);
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    assert_eq!(server.received().len(), 5);
    assert_eq!(server.received()[4].1["rcpt_tos"], serde_json::json!(["chloe.martin@example.com"]));
    let db = duckdb::Connection::open(s.out().join("history.duckdb")).unwrap();
    let keys: i64 = db.query_row("SELECT count(DISTINCT message) FROM sends", [], |r| r.get(0)).unwrap();
    assert_eq!(keys, 4, "the summary and three books");
}

/// `run` of 2025-06 on the sample with an `email:` section to a relay on
/// loopback and `extra` keys of it (indented as under `email:`).
fn run_with_email(extra: &str) -> (Scenario, std::process::Output) {
    let s = sample_scenario();
    s.write(
        "cs-report.yaml",
        &format!("data: data\noutput: out\nemail:\n  smtp: {{host: 127.0.0.1, tls: none}}\n  from: reports@example.com\n  to: [ceo@example.com]\n{extra}"),
    );
    let done = s.cs_report(&["run", "--config", "cs-report.yaml", "--period", "2025-06"]);
    (s, done)
}

#[test]
fn the_email_links_to_or_attaches_the_full_report_and_lists_the_data_notes() {
    let (s, done) = run_with_email("  report_url: \"https://reports.example.com/cs/{path}\"\n  attach_report: true\n");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let folder = s.dir.path().join("out/2025-06");
    let bytes = fs::read(folder.join("email.eml")).unwrap();
    let mail = mailparse::parse_mail(&bytes).unwrap();
    let text = mail.subparts[0].subparts[0].get_body().unwrap();
    assert!(text.contains("https://reports.example.com/cs/2025-06/report.html"), "{text}");
    // The sample's surveys have few answers: the notes say so.
    assert!(text.contains("Data notes") && text.contains("too few to read much into"), "{text}");
    let html = mail.subparts[0].subparts[1].subparts[0].get_body().unwrap();
    assert!(html.contains(r#"<a href="https://reports.example.com/cs/2025-06/report.html""#), "link in the HTML part");
    let report = mail
        .subparts
        .iter()
        .find(|p| p.get_content_disposition().params.get("filename").map(String::as_str) == Some("report-2025-06.html"))
        .expect("report.html attached");
    assert_eq!(report.get_body_raw().unwrap(), fs::read(folder.join("report.html")).unwrap());
    // A book links to its own report.
    let owners = fs::read_dir(folder.join("owners")).unwrap().next().unwrap().unwrap().path();
    let book = fs::read(owners.join("email.eml")).unwrap();
    let book_text = mailparse::parse_mail(&book).unwrap().subparts[0].subparts[0].get_body().unwrap();
    let name = owners.file_name().unwrap().to_string_lossy().to_string();
    assert!(book_text.contains(&format!("https://reports.example.com/cs/2025-06/owners/{name}/report.html")), "{book_text}");
}

#[test]
fn a_report_url_without_its_path_is_refused() {
    let (_, done) = run_with_email("  report_url: \"https://reports.example.com/latest\"\n");
    assert_eq!(done.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&done.stderr).contains("email.report_url"));
}

/// Issue 27, case 5: a crash between the SMTP `DATA` and the send's record
/// makes the next send reuse the Message-ID, so the receiving server can
/// drop the duplicate; a completed send is not repeated, and `--resend`
/// is a new message with a new id.
#[test]
fn a_send_retried_after_a_crash_reuses_its_message_id() {
    let (server, s, cfg) = relay("starttls");
    s.cs_report(&["run", "--config", cfg.to_str().unwrap(), "--period", "2025-06"]);
    let env = [(PASSWORD_ENV, PASSWORD), ("CS_REPORT_FAULT", "kill:send.sent")];
    let crashed = s.cs_report_env(&["send", "--config", cfg.to_str().unwrap(), "--period", "2025-06"], &env);
    assert_eq!(crashed.status.code(), Some(137), "{}", String::from_utf8_lossy(&crashed.stderr));
    let id = |bytes: &[u8]| mailparse::parse_mail(bytes).unwrap().headers.get_first_value("Message-ID").unwrap();
    let first = id(&server.received()[0].0);
    let retried = send(&s, &cfg, &[]);
    assert!(retried.status.success(), "{}", String::from_utf8_lossy(&retried.stderr));
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(id(&received[1].0), first, "the retry carries the same Message-ID");
    let again = send(&s, &cfg, &[]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("not sent again"));
    assert_eq!(server.received().len(), 2);
    let resent = send(&s, &cfg, &["--resend"]);
    assert!(resent.status.success());
    let received = server.received();
    assert_eq!(received.len(), 3);
    assert_ne!(id(&received[2].0), first, "a resend asked for is a new message");
}

/// Issue 27, case 4: `run --send` that published, then finds the output
/// root taken by another process, is a send that failed (3), never "try
/// later, nothing done" (75).
#[test]
fn run_send_that_published_and_then_finds_the_lock_taken_exits_3() {
    let (server, s, cfg) = relay("starttls");
    let env = [(PASSWORD_ENV, PASSWORD), ("CS_REPORT_FAULT", "busy:send.lock")];
    let out = run_send(&s, &cfg, &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("is published in") && err.contains("not sent") && err.contains("cs-report send"), "{err}");
    assert!(folder_is_complete(&s.out().join("2025-06")));
    assert!(server.received().is_empty());
    let sent = send(&s, &cfg, &[]);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert_eq!(server.received().len(), 1);
}
