//! The example API on 127.0.0.1:0, guarded against a [`Sigil`], and what it answers.

use std::sync::Arc;

use serde_json::Value;
use sigil_guard::{Guard, GuardBuilder, ManualClock, UnixTime};

use crate::sigil::{MESSAGES, NOW, Sigil};

pub(crate) struct Api {
    pub(crate) url: String,
    pub(crate) guard: Guard,
    pub(crate) clock: Arc<ManualClock>,
    http: reqwest::Client,
}

/// An answer: status, `WWW-Authenticate`, JSON body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) challenge: Option<String>,
    pub(crate) body: Value,
}

impl Answer {
    /// The challenge's `error`, or `-`.
    pub(crate) fn error(&self) -> String {
        self.challenge
            .as_deref()
            .unwrap_or_default()
            .split(", ")
            .find_map(|p| p.strip_prefix("error=\""))
            .map_or_else(|| "-".to_owned(), |e| e.trim_end_matches('"').to_owned())
    }
}

/// A guard for [`MESSAGES`] trusting `sigil` by discovery, on its own manual clock.
pub(crate) fn guard_for(sigil: &Sigil, clock: &Arc<ManualClock>) -> GuardBuilder {
    Guard::builder()
        .issuer(&sigil.issuer)
        .audience(MESSAGES)
        .clock(clock.clone())
}

impl Api {
    /// The API trusting `sigil`.
    pub(crate) async fn start(sigil: &Sigil) -> Api {
        let clock = Arc::new(ManualClock::new(UnixTime(NOW)));
        let guard = guard_for(sigil, &clock).build().await.unwrap();
        Api::serve(guard, clock).await
    }

    pub(crate) async fn serve(guard: Guard, clock: Arc<ManualClock>) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = messages_api::app(&guard);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Api {
            url,
            guard,
            clock,
            http: reqwest::Client::new(),
        }
    }

    /// `method path` with the bearer `token` (if any) and a JSON `body` (if any).
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
        Answer {
            status,
            challenge,
            body,
        }
    }

    /// `GET /api/messages` with `token`.
    pub(crate) async fn messages(&self, token: &str) -> Answer {
        self.send("GET", "/api/messages", Some(token), None).await
    }
}
