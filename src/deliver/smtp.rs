//! Sending over SMTP with lettre and rustls: STARTTLS (required, never
//! silently plain), implicit TLS, or plain to a relay on this machine. The
//! server's certificate is checked against Mozilla's roots (compiled in)
//! plus `email.smtp.ca_file` for a relay with a private CA.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use crate::config::{EmailConfig, TlsMode};
use crate::error::{Error, Result};

/// The password, read from the environment variable the config names; an
/// error before anything is sent when it is missing.
pub fn password(config: &EmailConfig) -> Result<Option<String>> {
    let Some(name) = &config.password_env else { return Ok(None) };
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(Some(value)),
        // The name is not printed: a password pasted into the config by
        // mistake must not reach a log.
        _ => Err(Error::Usage(
            "the SMTP password is read from the environment variable that `email.password_env` names, which is not \
             set or empty (its name is not shown, in case it is a password by mistake); export it in the environment \
             cron runs the job in"
                .into(),
        )),
    }
}

fn transport(config: &EmailConfig, password: Option<String>) -> Result<SmtpTransport> {
    let tls_parameters = || -> Result<TlsParameters> {
        let mut builder = TlsParameters::builder(config.host.clone());
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path).map_err(Error::io("reading the SMTP CA certificate (`email.smtp.ca_file`)", path))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                Error::Usage(format!("`email.smtp.ca_file` {}: not a PEM certificate ({e})", path.display()))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        builder.build_rustls().map_err(|e| Error::Send(format!("setting up TLS for {}: {e}", config.host)))
    };
    let tls = match config.tls {
        TlsMode::Starttls => Tls::Required(tls_parameters()?),
        TlsMode::Tls => Tls::Wrapper(tls_parameters()?),
        TlsMode::None => Tls::None,
    };
    let mut builder = SmtpTransport::builder_dangerous(config.host.as_str())
        .port(config.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(config.timeout_seconds)));
    if let (Some(user), Some(password)) = (&config.user, password) {
        builder = builder.credentials(Credentials::new(user.clone(), password)).authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(builder.build())
}

/// Sends one message; the error says which server and what it answered.
pub fn send(config: &EmailConfig, password: Option<String>, envelope: &Envelope, message: &[u8]) -> Result<()> {
    let transport = transport(config, password)?;
    transport.send_raw(envelope, message).map(|_| ()).map_err(|e| {
        let mut why = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            why.push_str(": ");
            why.push_str(&s.to_string());
            source = s.source();
        }
        let mode = match config.tls {
            TlsMode::Starttls => "STARTTLS",
            TlsMode::Tls => "TLS",
            TlsMode::None => "no TLS",
        };
        Error::Send(format!("sending through {}:{} ({mode}) failed: {why}", config.host, config.port))
    })
}
