//! A fake OpenID Connect issuer whose keys, answers and availability the test controls, and
//! an API behind a guard that trusts it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sigil_guard::{Auth, Guard, GuardBuilder, ManualClock, RequirePermission, RequireScope};
use sigil_jose::{Algorithm, JwkSet, KeySpec, PrivateKey, SigningKey, UnixTime};

pub(crate) const NOW: i64 = 1_800_000_000;
pub(crate) const API: &str = "https://api.example.com/";

/// A signing key with its kid, and the JWK the issuer publishes for it.
pub(crate) struct Key {
    pub(crate) signer: SigningKey,
    pub(crate) jwk: Value,
}

impl Key {
    pub(crate) fn new(alg: Algorithm, kid: &str) -> Key {
        let private = PrivateKey::generate(KeySpec::for_algorithm(alg)).unwrap();
        let jwk = private
            .public_key()
            .unwrap()
            .to_jwk()
            .with_kid(kid)
            .with_alg(alg)
            .unwrap();
        Key {
            signer: SigningKey::new(private, alg)
                .unwrap()
                .with_kid(Some(kid.to_owned())),
            jwk: serde_json::to_value(JwkSet::from_iter([jwk])).unwrap()["keys"][0].clone(),
        }
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.signer.sign(claims).unwrap()
    }
}

#[derive(Default)]
struct Published {
    keys: Vec<Value>,
    /// Answer 503 to everything.
    down: bool,
    /// The `issuer` the discovery document states (the real one by default).
    issuer: Option<String>,
    /// The JWKS body instead of the keys, when set.
    raw_jwks: Option<String>,
}

pub(crate) struct Issuer {
    pub(crate) url: String,
    published: Arc<Mutex<Published>>,
    fetches: Arc<AtomicUsize>,
    fetched: Arc<tokio::sync::Notify>,
}

#[derive(Clone)]
struct Shared {
    url: String,
    published: Arc<Mutex<Published>>,
    fetches: Arc<AtomicUsize>,
    fetched: Arc<tokio::sync::Notify>,
}

impl Issuer {
    /// An issuer publishing `keys`, serving on a fresh port.
    pub(crate) async fn start(keys: &[&Key]) -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let shared = Shared {
            url: url.clone(),
            published: Arc::new(Mutex::new(Published {
                keys: keys.iter().map(|k| k.jwk.clone()).collect(),
                ..Published::default()
            })),
            fetches: Arc::new(AtomicUsize::new(0)),
            fetched: Arc::new(tokio::sync::Notify::new()),
        };
        let router = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Issuer {
            url,
            published: shared.published,
            fetches: shared.fetches,
            fetched: shared.fetched,
        }
    }

    pub(crate) fn publish(&self, keys: &[&Key]) {
        self.published.lock().unwrap().keys = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    pub(crate) fn set_down(&self, down: bool) {
        self.published.lock().unwrap().down = down;
    }

    pub(crate) fn state_issuer(&self, issuer: &str) {
        self.published.lock().unwrap().issuer = Some(issuer.to_owned());
    }

    pub(crate) fn serve_raw_jwks(&self, body: &str) {
        self.published.lock().unwrap().raw_jwks = Some(body.to_owned());
    }

    /// How many times the JWKS was asked for.
    pub(crate) fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Waits until the JWKS has been asked for `n` times in all (5 s at most, then fails).
    pub(crate) async fn wait_for_fetches(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let notified = self.fetched.notified();
                if self.fetches() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the guard fetched the JWKS {} times, not {n}",
                self.fetches()
            )
        });
    }

    /// A guard for [`API`] trusting this issuer, on `clock`.
    pub(crate) fn guard(&self, clock: &Arc<ManualClock>) -> GuardBuilder {
        Guard::builder()
            .issuer(&self.url)
            .audience(API)
            .clock(clock.clone())
    }

    /// Claims of a valid access token for [`API`], as of [`NOW`].
    pub(crate) fn claims(&self) -> Value {
        json!({
            "iss": self.url, "sub": "auth0|ann", "aud": [API, format!("{}userinfo", self.url)],
            "iat": NOW, "exp": NOW + 3600, "azp": "client-1",
            "scope": "openid read:messages", "permissions": ["read:messages", "read:stats"],
        })
    }
}

async fn discovery(State(shared): State<Shared>) -> Response {
    let published = shared.published.lock().unwrap();
    if published.down {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let issuer = published.issuer.clone().unwrap_or(shared.url.clone());
    Json(json!({"issuer": issuer, "jwks_uri": format!("{}jwks", shared.url)})).into_response()
}

async fn jwks(State(shared): State<Shared>) -> Response {
    let response = {
        let published = shared.published.lock().unwrap();
        if published.down {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else if let Some(raw) = &published.raw_jwks {
            raw.clone().into_response()
        } else {
            Json(json!({"keys": published.keys})).into_response()
        }
    };
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    shared.fetched.notify_waiters();
    response
}

/// An API behind `guard`: `/any` needs a valid token, `/read` the scope `read:messages`,
/// `/read-write` both scopes, `/read-or-write` either, `/stats` the permission `read:stats`,
/// `/admin` the permissions `read:stats` and `admin`, `/handler` checks `write:messages` in the
/// handler.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) url: String,
    http: reqwest::Client,
}

/// What the API answered.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) challenge: Option<String>,
    pub(crate) body: Value,
}

impl Answer {
    /// The `error` of the challenge, or `-` when it has none.
    pub(crate) fn error(&self) -> String {
        let challenge = self.challenge.as_deref().unwrap_or_default();
        challenge
            .split(", ")
            .find_map(|p| p.strip_prefix("error=\""))
            .map(|e| e.trim_end_matches('"').to_owned())
            .unwrap_or_else(|| "-".to_owned())
    }
}

impl Api {
    pub(crate) async fn start(guard: &Guard) -> Api {
        let router = axum::Router::new()
            .route("/any", get(whoami))
            .route(
                "/read",
                get(whoami).route_layer(RequireScope::all(["read:messages"])),
            )
            .route(
                "/read-write",
                get(whoami).route_layer(RequireScope::all(["read:messages", "write:messages"])),
            )
            .route(
                "/read-or-write",
                get(whoami).route_layer(RequireScope::any(["read:messages", "write:messages"])),
            )
            .route(
                "/stats",
                get(whoami).route_layer(RequirePermission::any(["read:stats", "admin"])),
            )
            .route(
                "/admin",
                get(whoami).route_layer(RequirePermission::all(["read:stats", "admin"])),
            )
            .route("/handler", get(in_handler))
            .route_layer(guard.layer());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Api {
            url,
            http: reqwest::Client::new(),
        }
    }

    /// GETs `path` with `authorization` as the header, if any.
    pub(crate) async fn get(&self, path: &str, authorization: Option<&str>) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.json().await.unwrap();
        Answer {
            status,
            challenge,
            body,
        }
    }

    /// GETs `path` with the bearer `token`.
    pub(crate) async fn call(&self, path: &str, token: &str) -> Answer {
        self.get(path, Some(&format!("Bearer {token}"))).await
    }
}

async fn whoami(auth: Auth) -> Json<Value> {
    Json(json!({"sub": auth.sub, "scope": auth.scope.0}))
}

async fn in_handler(auth: Auth) -> Response {
    match auth.require_scope(&sigil_guard::Requirement::all(["write:messages"])) {
        Ok(()) => Json(json!({"sub": auth.sub})).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// A manual clock at [`NOW`].
pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(UnixTime(NOW)))
}
