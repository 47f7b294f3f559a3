//! `messages-api`: the example API, pointed at any issuer.
//!
//! ```text
//! cargo run -p messages-api -- --issuer http://127.0.0.1:8787/ --audience https://messages.example.com/ --listen 127.0.0.1:3010
//! ```
//! Each option may come from the environment instead: `ISSUER`, `AUDIENCE`, `LISTEN`.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use sigil_guard::Guard;

/// An example API protected by sigil-guard: /api/public, /api/private (any valid token),
/// GET /api/messages (read:messages), POST /api/messages (write:messages).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The issuer whose access tokens the API accepts, exactly as tokens carry it (Sigil's and
    /// Auth0's end in /). Its discovery document names the JWKS.
    #[arg(long, env = "ISSUER")]
    issuer: String,
    /// The API's identifier: tokens must carry it in `aud`.
    #[arg(long, env = "AUDIENCE")]
    audience: String,
    /// Where to listen.
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:3010")]
    listen: SocketAddr,
    /// Remember up to this many verified tokens (0: verify every request).
    #[arg(long, env = "TOKEN_CACHE", default_value_t = 0)]
    token_cache: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("messages-api: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let guard = Guard::builder()
        .issuer(&args.issuer)
        .audience(&args.audience)
        .token_cache(args.token_cache)
        .build()
        .await
        .map_err(|e| {
            format!(
                "cannot start: {e}; is the issuer running at {}?",
                args.issuer
            )
        })?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    eprintln!(
        "messages-api: listening on http://{address}/ (issuer {}, audience {})",
        guard.issuer(),
        args.audience
    );
    axum::serve(listener, messages_api::app(&guard))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| format!("stopped: {e}"))
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
