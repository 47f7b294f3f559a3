//! The server's log output: `tracing` events to standard output, as JSON lines (for log
//! shippers) or as readable text (on a terminal), filtered by `--log` in `EnvFilter` syntax.
//!
//! What Sigil logs never holds a secret: requests are logged by route template (never the raw
//! path or query), secrets are types whose `Debug` is `[redacted]`, and the admin client's
//! credentials are named by their file, never printed, by `sigil serve`.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Readable text, one event per line with its request's fields.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// A `--log` filter, checked when the command line is read.
pub(crate) fn parse_filter(text: &str) -> Result<String, String> {
    EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|e| {
            format!(
                "{e}; write a level (info, debug) or targets with levels (sigil_server=debug,info)"
            )
        })
}

/// Installs the process's log output. `format` defaults to text on a terminal and JSON
/// otherwise.
pub(crate) fn install(format: Option<LogFormat>, filter: &str) -> anyhow::Result<()> {
    let terminal = std::io::stdout().is_terminal();
    let format = format.unwrap_or(if terminal {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    });
    let filter = EnvFilter::try_new(filter)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let installed = match format {
        LogFormat::Pretty => builder.with_ansi(terminal).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the log output: {e}"))
}
