//! An example API protected by `sigil-guard`, the resource-server half of Sigil's quick start
//! (and of Auth0's API quick starts, whose routes and answers it follows):
//!
//! | route | needs |
//! |---|---|
//! | `GET /api/public` | nothing |
//! | `GET /api/private` | any valid access token for the API |
//! | `GET /api/messages` | the `read:messages` scope |
//! | `POST /api/messages` | the `write:messages` scope; body `{"text": "…"}` |
//!
//! Messages live in memory and are gone when the process stops.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sigil_guard::{Auth, Guard, RequireScope};

/// The longest message accepted, in characters.
pub const MAX_TEXT: usize = 1000;

/// A posted message.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    /// Its number, from 1.
    pub id: u64,
    /// What was said.
    pub text: String,
    /// The token's `sub`.
    pub author: String,
}

#[derive(Deserialize)]
struct NewMessage {
    text: String,
}

#[derive(Clone, Default)]
struct Messages(Arc<Mutex<Vec<Message>>>);

/// The API's routes, guarded by `guard`.
pub fn app(guard: &Guard) -> Router {
    let read = get(list).route_layer(RequireScope::all(["read:messages"]));
    let write = post(create).route_layer(RequireScope::all(["write:messages"]));
    Router::new()
        .route("/api/private", get(private))
        .route("/api/messages", read.merge(write))
        .route_layer(guard.layer())
        .route("/api/public", get(public))
        .with_state(Messages::default())
}

async fn public() -> Json<serde_json::Value> {
    Json(json!({
        "message": "Hello from a public endpoint! You don't need to be authenticated to see this."
    }))
}

async fn private(auth: Auth) -> Json<serde_json::Value> {
    Json(json!({
        "message": "Hello from a private endpoint! You need to be authenticated to see this.",
        "sub": auth.sub,
    }))
}

async fn list(State(messages): State<Messages>) -> Json<Vec<Message>> {
    Json(lock(&messages).clone())
}

async fn create(
    State(messages): State<Messages>,
    auth: Auth,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Response {
    let text = match body {
        Ok(Json(new)) => new.text,
        Err(e) => return bad_request(&e.body_text()),
    };
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return bad_request(&format!("text must have 1 to {MAX_TEXT} characters"));
    }
    let mut all = lock(&messages);
    let message = Message {
        id: all.len() as u64 + 1,
        text: text.to_owned(),
        author: auth.sub.clone(),
    };
    all.push(message.clone());
    (StatusCode::CREATED, Json(message)).into_response()
}

fn bad_request(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_request", "error_description": description})),
    )
        .into_response()
}

/// The messages, even if a handler panicked while holding them (they are plain data).
fn lock(messages: &Messages) -> std::sync::MutexGuard<'_, Vec<Message>> {
    messages.0.lock().unwrap_or_else(|e| e.into_inner())
}
