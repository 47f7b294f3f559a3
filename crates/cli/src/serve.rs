//! `sigil serve`: bootstraps an empty database (as `sigil init`), then serves HTTP until
//! SIGINT or SIGTERM, then drains: `/readyz` turns not ready, and the requests in flight
//! finish.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sigil_core::housekeeping::RetentionDays;
use sigil_core::{SystemClock, SystemRng};
use sigil_jose::UnixTime;
use sigil_server::{
    App, HasherOptions, Housekeeping, MailOptions, MetricsOptions, Secrets, ServeOptions,
    TrustedProxies,
};

use crate::admin::validate;
use crate::init::Caller;
use crate::logging::{self, LogFormat};
use crate::storage::{self, Location};
use crate::{init, output};

/// `sigil serve`'s own options.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Directory of page templates (`login.html`, `base.html`, …) replacing the built-in
    /// ones of the same name [default: <data-dir>/templates, when it exists]
    #[arg(long, env = "SIGIL_TEMPLATES", value_name = "DIR")]
    pub(crate) templates: Option<PathBuf>,
    /// The longest the Actions bound to a trigger may run for one login or exchange, all
    /// together; one that runs longer fails it
    #[arg(long, env = "SIGIL_ACTIONS_TIMEOUT", value_name = "SECONDS", default_value = "20", value_parser = actions_timeout)]
    actions_timeout: Duration,
    /// The hosts Actions' fetch may ever reach, as comma-separated patterns (api.example.com,
    /// *.example.com, * for any; http://host to allow plain HTTP) and CIDR blocks of private
    /// networks to open (10.1.0.0/16); the tenant setting actions_egress narrows it.
    /// [default: none, no egress]
    #[arg(long, env = "SIGIL_ACTIONS_EGRESS", value_name = "HOST,…", value_parser = parse_egress)]
    actions_egress: Option<sigil_server::Egress>,
    /// Allow connections to other identity providers over plain http to a loopback address
    /// (127.0.0.1, ::1, localhost): for tests and local development only; otherwise every
    /// upstream URL must be https.
    #[arg(long, env = "SIGIL_FEDERATION_ALLOW_HTTP_LOOPBACK")]
    federation_allow_http_loopback: bool,
    /// Point a preset connection strategy at another base URL than its provider's, as
    /// STRATEGY=URL (google-oauth2=https://google.example.test), repeatable or
    /// comma-separated: for stand-ins in tests and sovereign clouds. A connection's own
    /// options can never do this.
    #[arg(long, env = "SIGIL_FEDERATION_ENDPOINT", value_name = "STRATEGY=URL", value_delimiter = ',', value_parser = parse_preset_endpoint)]
    federation_endpoint: Vec<(&'static str, reqwest::Url)>,
    /// The base URL of Twilio's API for SMS connections that send through Twilio: another
    /// service that speaks it, or a stand-in in tests [default: https://api.twilio.com]
    #[arg(long, env = "SIGIL_TWILIO_URL", value_name = "URL", value_parser = parse_http_url)]
    twilio_url: Option<reqwest::Url>,
    /// A MaxMind DB file (GeoLite2 or GeoIP2, City or Country) that places callers' addresses
    /// for the Actions' event.request.geoip [default: none, geoip is {}]
    #[arg(long, env = "SIGIL_GEOIP_DB", value_name = "FILE")]
    geoip_db: Option<PathBuf>,
    /// The operator's breached-password list, made by `sigil breached-passwords import`
    /// [default: <data dir>/breached-passwords.filter when it exists]
    #[arg(long, env = "SIGIL_BREACHED_PASSWORDS_FILTER", value_name = "FILE")]
    breached_passwords_filter: Option<PathBuf>,
    /// A k-anonymity range API to ask about passwords on no local list, as Have I Been Pwned's:
    /// GET <URL><first five hex digits of the SHA-1> answers SUFFIX:COUNT lines (only the
    /// five digits leave Sigil; an error or a slow answer lets the password through, with a
    /// warning) [default: none]
    #[arg(long, env = "SIGIL_BREACHED_PASSWORDS_RANGE_URL", value_name = "URL", value_parser = parse_http_url)]
    breached_passwords_range_url: Option<reqwest::Url>,
    /// Threads that run Actions (tenant code) [default: the number of cores]
    #[arg(long, env = "SIGIL_ACTIONS_WORKERS", value_name = "N", value_parser = password_workers)]
    actions_workers: Option<NonZeroUsize>,
    /// Threads that hash and check passwords, each keeping 19 MiB of argon2 memory
    /// [default: the number of cores]
    #[arg(long, env = "SIGIL_PASSWORD_WORKERS", value_name = "N", value_parser = password_workers)]
    password_workers: Option<NonZeroUsize>,
    /// The longest a login, signup or password change waits for a password worker; one
    /// that would wait longer is answered 503 (try again) at once. 0: never wait
    #[arg(long, env = "SIGIL_PASSWORD_QUEUE_TIMEOUT", value_name = "SECONDS", default_value = "2", value_parser = queue_timeout)]
    password_queue_timeout: Duration,
    /// Log lines as readable text or as JSON objects [default: pretty on a terminal, json
    /// otherwise]
    #[arg(long, env = "SIGIL_LOG_FORMAT", value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    /// What to log, in EnvFilter syntax: a level (error, warn, info, debug, trace) or targets
    /// with levels (sigil_server=debug,info).
    #[arg(long, env = "SIGIL_LOG", value_name = "FILTER", default_value = "info", value_parser = logging::parse_filter)]
    log: String,
    /// Proxies whose Forwarded / X-Forwarded-For / X-Request-Id headers are believed, as
    /// comma-separated addresses or CIDR blocks (10.0.0.0/8,::1) [default: none]
    #[arg(long, env = "SIGIL_TRUSTED_PROXIES", value_name = "CIDR,…", value_parser = parse_proxies)]
    trusted_proxies: Option<TrustedProxies>,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, env = "SIGIL_HEADER_TIMEOUT", value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Seconds a client may pause while sending a request body.
    #[arg(long, env = "SIGIL_BODY_TIMEOUT", value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,
    /// Connections served at once; more wait until one closes.
    #[arg(long, env = "SIGIL_MAX_CONNECTIONS", value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// On SIGTERM, seconds `/readyz` answers 503 while requests are still served, so that a
    /// load balancer stops sending new ones first.
    #[arg(long, env = "SIGIL_DRAIN_SECONDS", value_name = "SECONDS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=300))]
    drain_seconds: u64,
    /// Write a tenant log event (`/api/v2/logs`) for every login and token exchange, as
    /// Auth0 does; `off` leaves only the other events (Management API writes, logouts,
    /// password changes, …).
    #[arg(long, env = "SIGIL_TENANT_EVENTS", value_name = "on|off", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    tenant_events: bool,
    /// Record metrics and serve them at /metrics (Prometheus text format).
    #[arg(long, env = "SIGIL_METRICS", value_name = "on|off", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    metrics: bool,
    /// Serve /metrics on this address of its own instead of the main listener (recommended,
    /// so the public port need not expose it), e.g. 127.0.0.1:9187.
    #[arg(long, env = "SIGIL_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Seconds between two purges of expired rows (codes, sessions, refresh tokens, tickets,
    /// assertion jtis) and of jobs and log events past their retention.
    #[arg(long, env = "SIGIL_PURGE_INTERVAL", value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    purge_interval: u64,
    /// Days the tenant's log events (`/api/v2/logs`) are kept.
    #[arg(long, env = "SIGIL_LOG_RETENTION_DAYS", value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    log_retention_days: u32,
    /// Days finished Management API jobs (and user-export files) are kept.
    #[arg(long, env = "SIGIL_JOB_RETENTION_DAYS", value_name = "DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    job_retention_days: u32,
    /// The SMTP relay mail goes through unless the Management API configured an email
    /// provider: smtp://user:password@host:587 (STARTTLS, required) or
    /// smtps://user:password@host:465 (implicit TLS); ?tls=none only for a relay on this
    /// host. Prefer the environment variable: the URL holds a password.
    /// [default: none; mail stays in the outbox, see sigil outbox]
    #[arg(
        long,
        env = "SIGIL_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) smtp_url: Option<String>,
    /// The From address of the mail Sigil sends [default: the email provider's
    /// default_from_address, else no-reply@<issuer host>]
    #[arg(long, env = "SIGIL_MAIL_FROM", value_name = "ADDRESS")]
    pub(crate) mail_from: Option<String>,
    /// A PEM file of CA certificates to trust, besides the system's, for the SMTP relay's
    /// TLS certificate (a private relay).
    #[arg(long, env = "SIGIL_SMTP_CA_FILE", value_name = "FILE")]
    pub(crate) smtp_ca_file: Option<PathBuf>,
    /// Seconds before a failed delivery is tried again; later tries wait 5, 30, 120, 360 and
    /// 720 times as long, until a day has passed since the mail was queued.
    #[arg(long, env = "SIGIL_MAIL_RETRY_SECONDS", value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    mail_retry_seconds: u64,
    /// Days mail is kept in the outbox once it was sent or given up on.
    #[arg(long, env = "SIGIL_MAIL_RETENTION_DAYS", value_name = "DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    mail_retention_days: u32,
    /// Then, seconds the requests in flight may take to finish before the process exits.
    #[arg(long, env = "SIGIL_SHUTDOWN_GRACE", value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=300))]
    shutdown_grace: u64,
}

fn on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("give on or off".to_owned()),
    }
}

fn parse_egress(text: &str) -> Result<sigil_server::Egress, String> {
    text.parse()
        .map_err(|e: sigil_core::egress::PatternError| e.to_string())
}

/// `--federation-endpoint STRATEGY=URL`.
fn parse_preset_endpoint(text: &str) -> Result<(&'static str, reqwest::Url), String> {
    let (name, url) = text.split_once('=').ok_or_else(|| {
        "give STRATEGY=URL, such as google-oauth2=http://127.0.0.1:9001".to_owned()
    })?;
    let strategy = sigil_core::model::Strategy::parse(name.trim())
        .filter(|s| {
            s.is_federated()
                && !matches!(
                    s,
                    sigil_core::model::Strategy::Oidc | sigil_core::model::Strategy::OAuth2
                )
        })
        .ok_or_else(|| {
            format!("{name} is not a preset strategy (google-oauth2, github, waad, okta, …)")
        })?;
    let url = reqwest::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| format!("{url} is not an absolute http(s) URL"))?;
    Ok((strategy.as_str(), url))
}

/// An absolute http(s) URL.
fn parse_http_url(text: &str) -> Result<reqwest::Url, String> {
    reqwest::Url::parse(text.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| format!("{text} is not an absolute http(s) URL"))
}

fn parse_proxies(text: &str) -> Result<TrustedProxies, String> {
    text.parse()
        .map_err(|e: sigil_server::ProxyListError| e.to_string())
}

impl ServeArgs {
    fn actions(&self) -> sigil_server::ActionLimits {
        let defaults = sigil_server::ActionLimits::default();
        sigil_server::ActionLimits {
            execution: self.actions_timeout,
            workers: self
                .actions_workers
                .map_or(defaults.workers, NonZeroUsize::get),
            egress: Arc::new(self.actions_egress.clone().unwrap_or_default()),
            ..defaults
        }
    }

    fn federation(&self) -> sigil_core::federation::Policy {
        sigil_core::federation::Policy {
            urls: sigil_core::federation::UrlPolicy {
                allow_http_loopback: self.federation_allow_http_loopback,
            },
            presets: sigil_core::federation::PresetEndpoints(
                self.federation_endpoint.iter().cloned().collect(),
            ),
        }
    }

    /// The password workers' settings, with the operator's breached-password list read.
    fn hasher(&self, location: &Location) -> anyhow::Result<HasherOptions> {
        let default_filter = location.data_dir().join(crate::breached::FILTER_FILE);
        let filter = match &self.breached_passwords_filter {
            Some(path) => Some(crate::breached::read_filter(path)?),
            None if default_filter.is_file() => {
                Some(crate::breached::read_filter(&default_filter)?)
            }
            None => None,
        };
        if let Some(filter) = &filter {
            tracing::info!(hashes = filter.count(), "breached-password list loaded");
        }
        Ok(HasherOptions {
            workers: self
                .password_workers
                .unwrap_or_else(HasherOptions::default_workers),
            queue_timeout: self.password_queue_timeout,
            breached_filter: filter.map(Arc::new),
            breached_range_url: self.breached_passwords_range_url.clone(),
        })
    }

    /// The mail settings, checked, with the CA file read.
    fn mail(&self) -> anyhow::Result<MailOptions> {
        MailOptions::new(
            self.smtp_url.as_deref(),
            self.mail_from.as_deref(),
            self.smtp_ca_file.as_deref(),
            i64::try_from(self.mail_retry_seconds).unwrap_or(60),
        )
        .map_err(anyhow::Error::msg)
    }

    fn options(&self, mail: MailOptions) -> ServeOptions {
        ServeOptions {
            trusted_proxies: self.trusted_proxies.clone().unwrap_or_default(),
            header_timeout: Duration::from_secs(self.header_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            drain: Duration::from_secs(self.drain_seconds),
            grace: Duration::from_secs(self.shutdown_grace),
            metrics: MetricsOptions {
                enabled: self.metrics,
                listen: self.metrics_listen,
            },
            housekeeping: Housekeeping {
                every: Duration::from_secs(self.purge_interval),
                retention: RetentionDays {
                    logs: self.log_retention_days,
                    jobs: self.job_retention_days,
                    mail: self.mail_retention_days,
                },
            },
            mail,
        }
    }
}

/// `sigil serve`, with the page templates of `args.templates` (else of `<data-dir>/templates`
/// when that exists).
pub(crate) fn run(
    location: &Location,
    issuer: &str,
    listen: &str,
    args: &ServeArgs,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    logging::install(args.log_format, &args.log)?;
    let mail = args.mail()?;
    let geoip = args
        .geoip_db
        .as_deref()
        .map(sigil_server::GeoIp::open)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let templates = args.templates.as_deref();
    let hasher = args.hasher(location)?;
    validate::issuer(issuer)?;
    let default_templates = location.data_dir().join("templates");
    let templates = match templates {
        Some(dir) if !dir.is_dir() => anyhow::bail!(
            "the templates directory {} does not exist; give --templates an existing directory",
            dir.display()
        ),
        Some(dir) => Some(dir.to_owned()),
        None => default_templates.is_dir().then_some(default_templates),
    };
    storage::with_init(location, now, async |opened| {
        let done = init::initialise(location, opened, issuer, now, Caller::Serve).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| {
                format!("cannot listen on {listen}; choose another --listen address")
            })?;
        let app = App::new(
            opened.store.clone(),
            done.issuer.clone(),
            Arc::new(SystemClock),
            Arc::new(SystemRng),
            Secrets::derive(|purpose| opened.store.derived_key(purpose)),
            templates.as_deref(),
            hasher.clone(),
            args.actions(),
        )
        .await?;
        if !args.tenant_events {
            app.disable_tenant_events();
        }
        // An operator who moves a preset's endpoints (tests, sovereign clouds) is told so at
        // every start: logins to that provider go where they say.
        for (strategy, url) in &args.federation_endpoint {
            tracing::warn!(
                strategy,
                %url,
                "the {strategy} preset's endpoints are moved by --federation-endpoint"
            );
        }
        app.set_federation_policy(args.federation());
        if let Some(url) = args.twilio_url.clone() {
            app.set_twilio_url(url);
        }
        if let Some(database) = geoip {
            app.set_geoip(database);
        }
        let address = listener
            .local_addr()
            .context("cannot read the listening address")?;
        output::stderr(&format!(
            "sigil: serving http://{address}/ (issuer {}, database {}{})",
            done.issuer,
            location.describe(),
            templates
                .as_ref()
                .map(|dir| format!(", templates {}", dir.display()))
                .unwrap_or_default()
        ));
        tracing::info!(%address, issuer = %done.issuer, "serving");
        sigil_server::serve(listener, app, args.options(mail), shutdown())
            .await
            .context("the server stopped")?;
        output::stderr("sigil: stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// `--actions-timeout`: 1 to 60 whole seconds.
fn actions_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(seconds @ 1..=60) => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "'{text}' is not a whole number of seconds from 1 to 60"
        )),
    }
}

/// `--password-workers`: a whole number, 1 or more.
fn password_workers(text: &str) -> Result<NonZeroUsize, String> {
    text.trim()
        .parse::<NonZeroUsize>()
        .map_err(|_| "give a whole number of workers, 1 or more".to_owned())
}

/// `--password-queue-timeout`: seconds, 0 or more, at most an hour (e.g. `2` or `0.5`).
fn queue_timeout(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| (0.0..=3600.0).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "give a number of seconds from 0 to 3600, such as 2 or 0.5".to_owned())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
