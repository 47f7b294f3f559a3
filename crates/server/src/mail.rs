//! Mail delivery over SMTP. Every node runs [`run`]: it finds where mail goes (the provider
//! `/api/v2/emails/provider` configured, else the operator's `--smtp-url`), then draws due
//! messages from the outbox and sends them through lettre (rustls on aws-lc-rs), following
//! `sigil_core::mail`'s rules (leases, retries, give-up). With neither configured, mail stays
//! queued (`sigil outbox`), and the worker says so once.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use sigil_core::Store;
use sigil_core::mail::{self, Mailer, Outcome, RetryPlan};
use sigil_core::model::{EmailProvider, OutgoingEmail};
use zeroize::Zeroizing;

use crate::App;

/// How long one SMTP exchange may take (connect, TLS, login, message).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The operator's mail settings (`sigil serve --smtp-url`, `--mail-from`, `--smtp-ca-file`).
#[derive(Clone, Debug)]
pub struct MailOptions {
    /// The relay to use when the Management API configured none.
    pub relay: Option<SmtpRelay>,
    /// The `From` address when the provider names none [default: `no-reply@<issuer host>`].
    pub from: Option<String>,
    /// Certificates (PEM) trusted besides the system's, for relays with a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// When failed attempts are tried again.
    pub retry: RetryPlan,
    /// Time between two looks at the queue.
    pub poll: Duration,
}

impl Default for MailOptions {
    fn default() -> Self {
        MailOptions {
            relay: None,
            from: None,
            ca_pem: None,
            retry: RetryPlan::default(),
            poll: Duration::from_secs(1),
        }
    }
}

impl MailOptions {
    /// The operator's settings, each checked in turn: `relay` a URL as [`SmtpRelay::parse`]
    /// takes, `from` a bare address, `ca_file` a readable file of PEM certificates. An error
    /// names the setting (as `--smtp-url` …) but never repeats a value that may hold a
    /// password.
    pub fn new(
        relay: Option<&str>,
        from: Option<&str>,
        ca_file: Option<&std::path::Path>,
        retry_first_seconds: i64,
    ) -> Result<Self, String> {
        let relay = relay
            .map(|url| SmtpRelay::parse(url).map_err(|e| format!("--smtp-url: {e}")))
            .transpose()?;
        if let Some(from) = from {
            from.parse::<lettre::Address>().map_err(|e| {
                format!("--mail-from: {from:?} is not an address ({e}); write login@example.com")
            })?;
        }
        let ca_pem = ca_file
            .map(|path| {
                std::fs::read(path).map_err(|e| {
                    format!(
                        "cannot read --smtp-ca-file {}: {e}; give a PEM file of CA certificates",
                        path.display()
                    )
                })
            })
            .transpose()?;
        if let Some(pem) = &ca_pem {
            let readable = Certificate::from_pem(pem).is_ok()
                && String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----");
            if !readable {
                return Err(
                    "--smtp-ca-file holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                        .to_owned(),
                );
            }
        }
        Ok(MailOptions {
            relay,
            from: from.map(str::to_owned),
            ca_pem,
            retry: RetryPlan {
                first: retry_first_seconds,
            },
            ..MailOptions::default()
        })
    }
}

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// TLS from the first byte (`smtps://`, port 465).
    Implicit,
    /// STARTTLS, required: no mail goes out over a connection that did not upgrade.
    StartTls,
    /// None (`?tls=none`): for a relay on the same host only.
    Off,
}

/// An SMTP relay and the account to log in with.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpRelay {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// Login (`AUTH`); empty: none.
    pub user: String,
    /// Its password.
    pub pass: Zeroizing<String>,
}

impl std::fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRelay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl SmtpRelay {
    /// `smtp://[user:password@]host[:port][?tls=none]` (STARTTLS required, port 587 unless
    /// given) or `smtps://[user:password@]host[:port]` (implicit TLS, port 465). User and
    /// password are percent-decoded.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text)
            .map_err(|e| format!("not a URL ({e}); write smtp://user:password@host:587"))?;
        let (mut tls, default_port) = match url.scheme() {
            "smtp" => (SmtpTls::StartTls, 587),
            "smtps" => (SmtpTls::Implicit, 465),
            other => {
                return Err(format!(
                    "the scheme is {other}; write smtp:// (STARTTLS) or smtps:// (implicit TLS)"
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        for (key, value) in url.query_pairs() {
            match (&*key, &*value) {
                ("tls", "none") if tls == SmtpTls::StartTls => tls = SmtpTls::Off,
                ("tls", "required") => {}
                _ => {
                    return Err(format!(
                        "unknown parameter {key}={value}; the only one is tls=none (smtp:// only)"
                    ));
                }
            }
        }
        if url.path() != "" && url.path() != "/" {
            return Err("the URL has a path; write smtp://user:password@host:port".to_owned());
        }
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|decoded| decoded.into_owned())
                .map_err(|_| "the user or password is not valid percent-encoded UTF-8")
        };
        Ok(SmtpRelay {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            user: decode(url.username())?,
            pass: Zeroizing::new(decode(url.password().unwrap_or_default())?),
        })
    }

    /// The relay a Management API provider names: port 465 is implicit TLS, any other
    /// STARTTLS, required.
    fn of(provider: &EmailProvider) -> Self {
        SmtpRelay {
            host: provider.smtp.host.clone(),
            port: provider.smtp.port,
            tls: if provider.smtp.port == 465 {
                SmtpTls::Implicit
            } else {
                SmtpTls::StartTls
            },
            user: provider.smtp.user.clone(),
            pass: provider.smtp.pass.clone(),
        }
    }
}

/// Where mail goes now, and from whom.
#[derive(Clone, PartialEq, Eq)]
struct Route {
    relay: SmtpRelay,
    from: String,
    headers: Vec<(String, String)>,
    /// Which setting chose it, for the logs.
    source: &'static str,
}

async fn route<S: Store>(app: &App<S>, options: &MailOptions) -> Result<Option<Route>, String> {
    let stored = app
        .store()
        .email_provider()
        .await
        .map_err(|e| format!("cannot read the mail provider: {e}"))?;
    let default_from = || {
        options
            .from
            .clone()
            .unwrap_or_else(|| format!("no-reply@{}", host_of(app.issuer())))
    };
    Ok(match stored {
        Some(provider) if provider.enabled => Some(Route {
            relay: SmtpRelay::of(&provider),
            from: provider
                .default_from_address
                .clone()
                .unwrap_or_else(default_from),
            headers: provider.headers,
            source: "the Management API's email provider",
        }),
        _ => options.relay.clone().map(|relay| Route {
            relay,
            from: default_from(),
            headers: Vec::new(),
            source: "--smtp-url",
        }),
    })
}

fn host_of(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Sends over one relay.
struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    headers: Vec<HeaderValue>,
}

impl SmtpMailer {
    fn new(route: &Route, ca_pem: Option<&[u8]>) -> Result<Self, String> {
        let relay = &route.relay;
        let tls = || -> Result<TlsParameters, String> {
            let mut params = TlsParameters::builder(relay.host.clone());
            if let Some(pem) = ca_pem {
                let roots = Certificate::from_pem(pem)
                    .map_err(|e| format!("the --smtp-ca-file cannot be read: {e}"))?;
                params = params.add_root_certificate(roots);
            }
            params
                .build_rustls()
                .map_err(|e| format!("cannot set up TLS: {e}"))
        };
        let tls = match relay.tls {
            SmtpTls::Implicit => Tls::Wrapper(tls()?),
            SmtpTls::StartTls => Tls::Required(tls()?),
            SmtpTls::Off => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
            .port(relay.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if !relay.user.is_empty() {
            builder = builder.credentials(Credentials::new(
                relay.user.clone(),
                relay.pass.as_str().to_owned(),
            ));
        }
        let from: Mailbox = route
            .from
            .parse()
            .map_err(|e| format!("the From address {:?} is not valid: {e}", route.from))?;
        let headers = route
            .headers
            .iter()
            .map(|(name, value)| {
                HeaderName::new_from_ascii(name.clone())
                    .map(|name| HeaderValue::new(name, value.clone()))
                    .map_err(|e| format!("the header {name:?} cannot be sent: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
            headers,
        })
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail, message_id: &str) -> Outcome {
        let to: Mailbox = match email.to.parse() {
            Ok(to) => to,
            Err(e) => return Outcome::Permanent(format!("the recipient is not an address: {e}")),
        };
        // The template's sender, else the provider's; one that is not an address (a
        // template's mistake) does not stop the mail.
        let from = match email.from.as_deref().map(str::parse::<Mailbox>) {
            Some(Ok(from)) => from,
            Some(Err(e)) => {
                tracing::warn!(kind = %email.kind, error = %e, "the template's From is not an address; the provider's is used");
                self.from.clone()
            }
            None => self.from.clone(),
        };
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(message_id.to_owned()));
        for header in &self.headers {
            builder = builder.raw_header(header.clone());
        }
        let built = match &email.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.body.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(email.body.clone()),
        };
        let message = match built {
            Ok(message) => message,
            Err(e) => return Outcome::Permanent(format!("the message cannot be built: {e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Outcome::Sent,
            Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
            Err(e) => Outcome::Transient(e.to_string()),
        }
    }
}

/// What the worker is doing, as last logged: each change is logged once.
#[derive(Debug, PartialEq, Eq)]
enum Doing {
    /// Sending through a relay.
    Sending {
        relay: String,
        port: u16,
        source: &'static str,
    },
    /// Leaving mail queued: nothing is configured.
    Queuing,
    /// Paused by an error (the provider cannot be read, or cannot be used).
    Paused(String),
}

impl Doing {
    fn log(&self) {
        match self {
            Doing::Sending {
                relay,
                port,
                source,
            } => tracing::info!(%relay, port, source, "delivering mail over SMTP"),
            Doing::Queuing => tracing::warn!(
                "no mail provider is configured: mail stays in the outbox (sigil outbox); set \
                 --smtp-url or POST /api/v2/emails/provider"
            ),
            Doing::Paused(error) => {
                tracing::error!(%error, "mail delivery paused; trying again every second")
            }
        }
    }
}

/// Delivers mail for ever; the caller aborts the task at shutdown.
pub(crate) async fn run<S: Store + Clone>(app: App<S>, options: MailOptions) {
    let host = host_of(app.issuer());
    let mut current: Option<(Route, SmtpMailer)> = None;
    let mut said: Option<Doing> = None;
    loop {
        let doing = match route(&app, &options).await {
            Ok(Some(route)) => {
                if current.as_ref().is_none_or(|(r, _)| *r != route) {
                    current = SmtpMailer::new(&route, options.ca_pem.as_deref())
                        .map(|mailer| (route, mailer))
                        .map_err(|e| said_once(&mut said, Doing::Paused(e)))
                        .ok();
                }
                current.as_ref().map(|(route, _)| Doing::Sending {
                    relay: route.relay.host.clone(),
                    port: route.relay.port,
                    source: route.source,
                })
            }
            Ok(None) => {
                current = None;
                Some(Doing::Queuing)
            }
            Err(e) => {
                current = None;
                Some(Doing::Paused(e))
            }
        };
        if let Some(doing) = doing {
            said_once(&mut said, doing);
        }
        if let Some((_, mailer)) = &current {
            drain(&app, mailer, &host, options.retry).await;
        }
        tokio::time::sleep(options.poll).await;
    }
}

/// Logs `doing` unless it is what was said last.
fn said_once(said: &mut Option<Doing>, doing: Doing) {
    if said.as_ref() != Some(&doing) {
        doing.log();
        *said = Some(doing);
    }
}

/// Passes until the queue holds nothing due.
async fn drain<S: Store>(app: &App<S>, mailer: &SmtpMailer, host: &str, retry: RetryPlan) {
    loop {
        let mut lease = [0u8; 16];
        app.rng().fill(&mut lease);
        let lease: String = lease.iter().map(|b| format!("{b:02x}")).collect();
        match mail::deliver_due(app.store(), mailer, || app.now(), &lease, host, retry).await {
            Ok(pass) => {
                app.metrics().mail_pass(&pass);
                if pass.total() > 0 {
                    tracing::info!(
                        sent = pass.sent,
                        retry = pass.retried,
                        failed = pass.failed,
                        lost_leases = pass.lost_leases,
                        "mail delivered"
                    );
                }
                if pass.total() < mail::BATCH {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "mail delivery failed; trying again later");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls() {
        let r = SmtpRelay::parse("smtp://sigil:p%40ss@mail.example.com").unwrap();
        assert_eq!(
            (
                r.host.as_str(),
                r.port,
                r.tls,
                r.user.as_str(),
                r.pass.as_str()
            ),
            ("mail.example.com", 587, SmtpTls::StartTls, "sigil", "p@ss")
        );
        let r = SmtpRelay::parse("smtps://mail.example.com").unwrap();
        assert_eq!(
            (r.port, r.tls, r.user.as_str()),
            (465, SmtpTls::Implicit, "")
        );
        let r = SmtpRelay::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.tls),
            ("127.0.0.1", 2525, SmtpTls::Off)
        );
        assert_eq!(SmtpRelay::parse("smtp://[::1]:25").unwrap().host, "::1");
        for bad in [
            "mail.example.com",
            "http://mail.example.com",
            "smtps://mail.example.com?tls=none",
            "smtp://mail.example.com?starttls=no",
            "smtp://mail.example.com/path",
            "smtp://:25",
        ] {
            assert!(SmtpRelay::parse(bad).is_err(), "{bad}");
        }
        assert!(
            !format!("{:?}", SmtpRelay::parse("smtp://u:secret@h").unwrap()).contains("secret")
        );
    }
}
