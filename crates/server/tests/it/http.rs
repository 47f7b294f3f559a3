//! What every answer and connection gets, whatever the route: a request id, the client's
//! address behind trusted proxies only, deadlines for slow headers and bodies, a cap on
//! connections, and the caching and sniffing headers per route family.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::StatusCode;
use sigil_server::ServeOptions;

use crate::app::{PASSWORD, TestApp};

fn options(trusted: &str) -> ServeOptions {
    ServeOptions {
        trusted_proxies: trusted.parse().unwrap(),
        ..ServeOptions::default()
    }
}

async fn request_id(app: &TestApp, sent: Option<&str>) -> String {
    let mut request = app.http.get(app.url("healthz"));
    if let Some(id) = sent {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn is_made_here(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn a_request_id_is_taken_only_from_a_trusted_proxy_and_only_when_plain() {
    let nobody = TestApp::start().await;
    let made = request_id(&nobody, None).await;
    assert!(is_made_here(&made), "{made}");
    assert_ne!(made, request_id(&nobody, None).await, "ids are fresh");
    let ignored = request_id(&nobody, Some("from-a-stranger")).await;
    assert!(is_made_here(&ignored), "an untrusted peer's id: {ignored}");

    let proxied = TestApp::start_served(options("127.0.0.1")).await;
    assert_eq!(
        request_id(&proxied, Some("lb-42.a_b:c")).await,
        "lb-42.a_b:c"
    );
    for bad in ["two words", &"x".repeat(65)] {
        let id = request_id(&proxied, Some(bad)).await;
        assert!(is_made_here(&id), "{bad:?} became {id}");
    }
}

/// The address the password grant records as the user's `last_ip`.
async fn last_ip_after_login(app: &TestApp, forwarded: &[(&str, &str)]) -> Option<String> {
    let mut request = app.http.post(app.url("oauth/token")).form(&[
        (
            "grant_type",
            "http://auth0.com/oauth/grant-type/password-realm",
        ),
        ("realm", "Username-Password-Authentication"),
        ("username", "ann@example.com"),
        ("password", PASSWORD),
        ("client_id", app.backend.0.as_str()),
        ("client_secret", app.backend.1.expose()),
    ]);
    for (name, value) in forwarded {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sigil_core::Store::user(&app.store, &app.ann)
        .await
        .unwrap()
        .unwrap()
        .last_ip
}

#[tokio::test]
async fn the_client_address_comes_from_forwarding_headers_only_behind_a_trusted_proxy() {
    let headers = [("x-forwarded-for", "6.6.6.6, 198.51.100.7")];
    let nobody = TestApp::start().await;
    assert_eq!(
        last_ip_after_login(&nobody, &headers).await.as_deref(),
        Some("127.0.0.1"),
        "an untrusted peer's header is not believed"
    );
    let proxied = TestApp::start_served(options("127.0.0.0/8")).await;
    assert_eq!(
        last_ip_after_login(&proxied, &headers).await.as_deref(),
        Some("198.51.100.7"),
        "the right-most hop no trusted proxy vouches for"
    );
    let rfc7239 = [("forwarded", "for=\"[2001:db8::7]:1234\"")];
    assert_eq!(
        last_ip_after_login(&proxied, &rfc7239).await.as_deref(),
        Some("2001:db8::7")
    );
}

/// Writes `bytes` to a fresh connection to `app`, then reads until the server closes it;
/// returns what it answered and how long the connection stayed open (a read deadline of
/// `limit` ends the wait).
fn held_open(app: &TestApp, bytes: &[u8], limit: Duration) -> (String, Duration) {
    let address = app.base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(limit)).unwrap();
    stream.write_all(bytes).unwrap();
    let clock = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        clock.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_and_stalled_bodies_are_cut_off() {
    let app = TestApp::start_served(ServeOptions {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    })
    .await;
    let limit = Duration::from_secs(8);
    let (half_header, open) = tokio::task::block_in_place(|| {
        held_open(&app, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", limit)
    });
    assert!(
        open < limit,
        "half a header held the connection for {open:?}"
    );
    assert!(!half_header.contains("200 OK"), "{half_header}");

    let stalled = b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant";
    let (answer, open) = tokio::task::block_in_place(|| held_open(&app, stalled, limit));
    assert!(
        open < limit,
        "a stalled body held the connection for {open:?}"
    );
    let status_line = answer.lines().next().unwrap_or_default();
    assert!(
        status_line.contains(" 408 ") || status_line.contains(" 400 "),
        "a stalled body is refused, not served: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_cap_wait_for_one_to_close() {
    let app = TestApp::start_served(ServeOptions {
        max_connections: 2,
        ..ServeOptions::default()
    })
    .await;
    let address = app
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let first = TcpStream::connect(&address).unwrap();
    let second = TcpStream::connect(&address).unwrap();
    // Both are accepted (and idle); a third is not served while they stay open.
    let mut third = TcpStream::connect(&address).unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::task::block_in_place(|| third.read(&mut buf));
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    tokio::task::block_in_place(|| third.read_to_string(&mut answer)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(second);
}

#[tokio::test]
async fn personal_data_is_never_cached_and_json_never_sniffed() {
    let app = TestApp::start().await;
    let token = crate::app::post(
        &app,
        crate::app::Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", app.machine.0.to_string()),
            ("client_secret", app.machine.1.expose().to_owned()),
            ("audience", format!("{}api/v2/", app.base)),
        ]),
        None,
    )
    .await
    .2["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // (path, bearer, expected Cache-Control)
    let cases = [
        ("userinfo", None, Some("no-store")),
        ("api/v2/users", Some(token.as_str()), Some("no-store")),
        ("api/v2/users", None, Some("no-store")),
        (".well-known/openid-configuration", None, None),
    ];
    for (path, bearer, cache) in cases {
        let mut request = app.http.get(app.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let headers = response.headers();
        assert_eq!(
            headers["x-content-type-options"], "nosniff",
            "{path}: {headers:?}"
        );
        if let Some(cache) = cache {
            assert_eq!(headers["cache-control"], cache, "{path}");
        } else {
            assert!(
                headers.get("cache-control").is_none_or(|v| v != "no-store"),
                "{path}: public metadata stays cacheable"
            );
        }
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS under an http issuer"
        );
    }
}

/// Auth0's `auth0-forwarded-for` on the password grants: believed only from a confidential
/// client that trusts the header, never from a public one or without the switch.
#[tokio::test]
async fn auth0_forwarded_for_counts_only_for_a_client_that_trusts_it() {
    let app = TestApp::start().await;
    let header = [("auth0-forwarded-for", "203.0.113.9")];
    assert_eq!(
        last_ip_after_login(&app, &header).await.as_deref(),
        Some("127.0.0.1"),
        "the switch is off by default"
    );
    let mut backend = sigil_core::Store::client(&app.store, &app.backend.0)
        .await
        .unwrap()
        .unwrap();
    backend.settings.is_token_endpoint_ip_header_trusted = true;
    sigil_core::Store::update_client(&app.store, &backend)
        .await
        .unwrap();
    // The token endpoint's cache keeps the old client for up to its TTL: move past it.
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    assert_eq!(
        last_ip_after_login(&app, &header).await.as_deref(),
        Some("203.0.113.9")
    );
    // A public client's header is never believed, switch or not.
    let mut native = sigil_core::Store::client(&app.store, &app.native)
        .await
        .unwrap()
        .unwrap();
    native.settings.is_token_endpoint_ip_header_trusted = true;
    sigil_core::Store::update_client(&app.store, &native)
        .await
        .unwrap();
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    let response = app
        .http
        .post(app.url("oauth/token"))
        .header("auth0-forwarded-for", "198.51.100.1")
        .json(&serde_json::json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "realm": "Username-Password-Authentication",
            "username": "ann@example.com",
            "password": PASSWORD,
            "client_id": app.native.as_str(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let user = sigil_core::Store::user(&app.store, &app.ann)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.last_ip.as_deref(), Some("127.0.0.1"));
}

/// A database that cannot serve (here: its pool closed) is answered 503
/// `temporarily_unavailable` with `Retry-After` (a hosted page: a page saying so), never 500,
/// and `/readyz` is not ready, while
/// `/healthz` and the JWKS (from memory) still answer.
#[tokio::test]
async fn an_unavailable_database_is_a_503_to_try_again() {
    let app = TestApp::start().await;
    let token =
        crate::management::token_for(&app, &crate::management::audience(&app), &["read:users"])
            .await;
    app.store.database().close().await;
    // Past the key ring's lifetime: a reload fails, and the ring in memory is used meanwhile.
    app.clock.advance(sigil_server::KEYS_TTL + 1);
    let (status, headers, body) = crate::app::post(
        &app,
        crate::password::login(&app, serde_json::json!({})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(headers["retry-after"], "5");
    let users = app
        .http
        .get(app.url("api/v2/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(users.headers().contains_key("retry-after"));
    let body: serde_json::Value = users.json().await.unwrap();
    assert_eq!(body["errorCode"], "temporarily_unavailable");
    // A hosted page says so too, with the same hint.
    let page = app
        .http
        .get(app.url(&format!(
            "authorize?response_type=code&client_id={}&redirect_uri=x",
            app.native.as_str()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.headers()["retry-after"], "5");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("cannot reach its database")
    );
    let ready = app.http.get(app.url("readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let alive = app.http.get(app.url("healthz")).send().await.unwrap();
    assert_eq!(alive.status(), StatusCode::OK);
    let jwks = app
        .http
        .get(app.url(".well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
}
