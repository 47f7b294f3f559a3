//! Busy password workers: with one worker and a queue timeout of 0, a request that finds the
//! worker taken is refused at once, 503 with `Retry-After` (`temporarily_unavailable` on the
//! Authentication and Management APIs, the busy page on the hosted pages), and every other
//! request gets its usual answer. Which requests find the worker taken depends on timing, so
//! these tests assert only that every answer is one of the two, and send bursts until both
//! were seen (the first burst nearly always shows both: a check takes tens of milliseconds).

use std::num::NonZeroUsize;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER, SET_COOKIE};
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_server::HasherOptions;

use crate::app::{PASSWORD, TestApp};
use crate::browser::{Browser, authorize_url};
use crate::management::{audience, token_for};

/// One worker, and no waiting for it.
fn no_queue() -> HasherOptions {
    HasherOptions {
        workers: NonZeroUsize::MIN,
        queue_timeout: Duration::ZERO,
        ..HasherOptions::default()
    }
}

/// Bursts sent before giving up on seeing both a busy and a usual answer.
const BURSTS: usize = 5;
/// Requests in a burst.
const BURST: usize = 16;

/// An answer: status, headers, body.
type Answer = (StatusCode, HeaderMap, String);

/// Sends `requests` all at once and collects the answers.
async fn burst(requests: Vec<reqwest::RequestBuilder>) -> Vec<Answer> {
    let sent: Vec<_> = requests
        .into_iter()
        .map(|request| {
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let (status, headers) = (response.status(), response.headers().clone());
                (status, headers, response.text().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for answer in sent {
        answers.push(answer.await.unwrap());
    }
    answers
}

/// Sends bursts of `requests()` until some answer was busy and some was not (at most
/// [`BURSTS`]), checking each answer with `busy` (true for a correct busy answer, false for
/// a usual one; it panics on anything else).
async fn until_both(
    requests: impl Fn() -> Vec<reqwest::RequestBuilder>,
    busy: impl Fn(&Answer) -> bool,
) {
    let (mut busy_seen, mut usual_seen) = (false, false);
    for _ in 0..BURSTS {
        for answer in burst(requests()).await {
            if busy(&answer) {
                busy_seen = true;
            } else {
                usual_seen = true;
            }
        }
        if busy_seen && usual_seen {
            return;
        }
    }
    panic!("after {BURSTS} bursts: busy answers {busy_seen}, usual answers {usual_seen}");
}

/// Whether `answer` is the 503 with `Retry-After: 1` (the timeout, at least a second).
fn is_503(answer: &Answer) -> bool {
    let (status, headers, body) = answer;
    if *status != StatusCode::SERVICE_UNAVAILABLE {
        return false;
    }
    assert_eq!(headers[RETRY_AFTER], "1", "{body}");
    true
}

/// Turns brute-force protection and suspicious-IP throttling off: these bursts of wrong
/// passwords from one address are about the workers, and would be blocked after ten (and
/// throttled after a hundred).
async fn without_brute_force_protection(app: &TestApp) {
    let mut settings = app
        .store
        .tenant_settings()
        .await
        .unwrap()
        .unwrap_or_default();
    settings.brute_force.enabled = false;
    settings.suspicious_ip.enabled = false;
    let now = sigil_core::UnixTime(app.clock_now());
    app.store.put_tenant_settings(&settings, now).await.unwrap();
}

#[tokio::test]
async fn password_grants_on_a_taken_worker_are_refused_with_503_and_the_rest_answered() {
    let app = TestApp::start_with(None, no_queue()).await;
    without_brute_force_protection(&app).await;
    let grant = |username: &str, password: &str| {
        app.http.post(app.url("oauth/token")).json(&json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": app.native.to_string(),
            "username": username,
            "password": password,
            "realm": "Username-Password-Authentication",
        }))
    };
    // Right and wrong passwords, and a user who does not exist (checked against the decoy).
    let requests = || {
        (0..BURST)
            .map(|i| match i % 3 {
                0 => grant("ann@example.com", PASSWORD),
                1 => grant("ann@example.com", "wrong"),
                _ => grant("nobody@example.com", PASSWORD),
            })
            .collect()
    };
    until_both(requests, |answer| {
        let (status, headers, text) = answer;
        let body: Value = serde_json::from_str(text).unwrap();
        if is_503(answer) {
            assert_eq!(body["error"], "temporarily_unavailable", "{body}");
            assert_eq!(headers["cache-control"], "no-store");
            return true;
        }
        match *status {
            StatusCode::OK => assert!(body["access_token"].is_string(), "{body}"),
            StatusCode::FORBIDDEN => {
                assert_eq!(body["error"], "invalid_grant", "{body}");
                assert_eq!(body["error_description"], "Wrong email or password.");
            }
            other => panic!("{other}: {body}"),
        }
        false
    })
    .await;

    // Once the burst is answered the worker is free again.
    let answers = burst(vec![grant("ann@example.com", PASSWORD)]).await;
    assert_eq!(answers[0].0, StatusCode::OK, "{}", answers[0].2);
}

#[tokio::test]
async fn the_hosted_login_page_shows_the_busy_page_when_the_worker_is_taken() {
    let app = TestApp::start_with(None, no_queue()).await;
    without_brute_force_protection(&app).await;
    let mut browser = Browser::new();
    let start = browser
        .get(&authorize_url(&app, &app.native.to_string(), ""))
        .await;
    let form = browser.get(start.location()).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let tx = form.field("tx");
    // The form's cookies (the CSRF half), as the browser would send them with each post.
    let cookies: Vec<String> = [&start.headers, &form.headers]
        .into_iter()
        .flat_map(|headers| headers.get_all(SET_COOKIE))
        .filter_map(|v| v.to_str().unwrap().split(';').next().map(str::to_owned))
        .collect();
    let cookies = cookies.join("; ");
    let requests = || {
        (0..BURST)
            .map(|_| {
                app.http
                    .post(app.url("u/login"))
                    .header("cookie", &cookies)
                    .form(&[
                        ("tx", tx.as_str()),
                        ("username", "ann@example.com"),
                        ("password", "wrong"),
                    ])
            })
            .collect()
    };
    until_both(requests, |answer| {
        let (status, _, body) = answer;
        if is_503(answer) {
            assert!(body.contains("The server is busy"), "{body}");
            assert!(body.contains("try again"), "{body}");
            return true;
        }
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("Wrong email or password."), "{body}");
        false
    })
    .await;
}

#[tokio::test]
async fn management_api_password_writes_on_a_taken_worker_are_refused_in_auth0s_shape() {
    let app = TestApp::start_with(None, no_queue()).await;
    let token = token_for(&app, &audience(&app), &["create:users"]).await;
    let n = std::sync::atomic::AtomicUsize::new(0);
    let requests = || {
        (0..BURST)
            .map(|_| {
                let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                app.http
                    .post(app.url("api/v2/users"))
                    .bearer_auth(&token)
                    .json(&json!({
                        "connection": "Username-Password-Authentication",
                        "email": format!("user{i}@example.com"),
                        "password": "Another-fine-pass 42",
                    }))
            })
            .collect()
    };
    until_both(requests, |answer| {
        let (status, _, text) = answer;
        let body: Value = serde_json::from_str(text).unwrap();
        if is_503(answer) {
            assert_eq!(body["statusCode"], 503, "{body}");
            assert_eq!(body["errorCode"], "temporarily_unavailable", "{body}");
            assert_eq!(body["error"], "Service Unavailable", "{body}");
            return true;
        }
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        false
    })
    .await;
}
