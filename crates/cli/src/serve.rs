//! `sigil serve`: bootstraps an empty database (as `sigil init`), then serves HTTP until
//! SIGINT or SIGTERM, finishing the requests in flight.

use std::num::NonZeroUsize;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sigil_core::{SystemClock, SystemRng};
use sigil_jose::UnixTime;
use sigil_server::{App, HasherOptions, Secrets};

use crate::admin::validate;
use crate::storage::{self, Location};
use crate::{init, output};

/// `sigil serve`, with the page templates of `templates` (else of `<data-dir>/templates`
/// when that exists) and the password workers of `passwords`.
pub(crate) fn run(
    location: &Location,
    issuer: &str,
    listen: &str,
    templates: Option<&Path>,
    passwords: HasherOptions,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
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
        let done = init::initialise(location, opened, issuer, now, false).await?;
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
            passwords,
        )
        .await?;
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
        sigil_server::serve(listener, app, shutdown())
            .await
            .context("the server stopped")?;
        output::stderr("sigil: stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// `--password-workers`: a whole number, 1 or more.
pub(crate) fn password_workers(text: &str) -> Result<NonZeroUsize, String> {
    text.trim()
        .parse::<NonZeroUsize>()
        .map_err(|_| "give a whole number of workers, 1 or more".to_owned())
}

/// `--password-queue-timeout`: seconds, 0 or more, at most an hour (e.g. `2` or `0.5`).
pub(crate) fn queue_timeout(text: &str) -> Result<Duration, String> {
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
