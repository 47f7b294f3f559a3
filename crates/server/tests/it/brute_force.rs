//! Brute-force protection through real HTTP, as Auth0's: ten wrong passwords for one
//! identifier from one address, and the eleventh attempt is 429 `too_many_attempts` even with
//! the right password (an unknown email alike); another address is not blocked; racing
//! attempts get exactly the threshold; the settings (`/attack-protection/…`), the modes, the
//! allowlist, monitoring only; `/user-blocks` by identifier and by user; a password change
//! lifts a block, and so does the link mailed to the user (at most once an hour); the hosted
//! login page says what happened; an administrator's block is 401.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_server::ServeOptions;

use crate::app::{PASSWORD, TestApp};
use crate::browser::{Browser, authorize_url, urlencode};
use crate::management::{audience, call, token_for};
use crate::mfa::count;

const SCOPES: &[&str] = &[
    "read:attack_protection",
    "update:attack_protection",
    "read:users",
    "update:users",
];

const BLOCKED: &str = "Your account has been blocked after multiple consecutive login attempts. \
    We've sent you a notification via your preferred contact method with instructions on how \
    to unblock it.";

/// The test app behind a trusted proxy (the loopback), so `x-forwarded-for` names the client.
pub(crate) async fn proxied() -> TestApp {
    TestApp::start_served(ServeOptions {
        trusted_proxies: "127.0.0.1, ::1".parse().unwrap(),
        ..ServeOptions::default()
    })
    .await
}

/// The backend's password grant for `username` with `password`, from `ip`.
pub(crate) async fn login(
    app: &TestApp,
    username: &str,
    password: &str,
    ip: &str,
) -> (StatusCode, Value) {
    let (id, secret) = &app.backend;
    let response = app
        .http
        .post(app.url("oauth/token"))
        .header("x-forwarded-for", ip)
        .json(&json!({
            "grant_type": "password",
            "client_id": id.as_str(),
            "client_secret": secret.expose(),
            "username": username,
            "password": password,
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `(status, error)` of an answer.
fn verdict(answer: &(StatusCode, Value)) -> (StatusCode, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or("tokens"))
}

async fn patch(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "PATCH",
        "/attack-protection/brute-force-protection",
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn ten_failures_block_an_identifier_from_one_address_until_an_administrator_lifts_it() {
    let app = proxied().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, settings) = call(
        &app,
        "GET",
        "/attack-protection/brute-force-protection",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        settings,
        json!({"enabled": true, "shields": ["block", "user_notification"], "allowlist": [],
               "mode": "count_per_identifier_and_ip", "max_attempts": 10})
    );

    // An existing user and an unknown address answer alike: ten times invalid_grant, then
    // 429, the right password included.
    for who in ["ann@example.com", "nobody@example.com"] {
        for attempt in 1..=10 {
            let answer = login(&app, who, "wrong password", "203.0.113.7").await;
            assert_eq!(
                verdict(&answer),
                (StatusCode::FORBIDDEN, "invalid_grant"),
                "{who} #{attempt}"
            );
        }
        let blocked = login(&app, who, PASSWORD, "203.0.113.7").await;
        assert_eq!(
            verdict(&blocked),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            "{who}"
        );
        assert_eq!(blocked.1["error_description"], BLOCKED);
    }
    assert_eq!(count(&app, "limit_wc").await, 2);
    // Another address is not blocked: the right password works there.
    let elsewhere = login(&app, "ann@example.com", PASSWORD, "198.51.100.4").await;
    assert_eq!(verdict(&elsewhere), (StatusCode::OK, "tokens"));

    // The blocks, by identifier and by user.
    let by_identifier = "/user-blocks?identifier=Ann%40Example.com";
    let (status, blocks) = call(&app, "GET", by_identifier, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{blocks}");
    assert_eq!(
        blocks,
        json!({"blocked_for": [{"identifier": "ann@example.com", "ip": "203.0.113.7",
                                "connection": "Username-Password-Authentication"}]})
    );
    let by_user = format!("/user-blocks/{}", urlencode(app.ann.as_str()));
    let (_, same) = call(&app, "GET", &by_user, Some(&token), None).await;
    assert_eq!(same, blocks);
    let user = format!("/users/{}", urlencode(app.ann.as_str()));
    let (_, ann) = call(&app, "GET", &user, Some(&token), None).await;
    assert_eq!(ann["blocked_for"], blocks["blocked_for"], "{ann}");
    let (status, _) = call(&app, "GET", "/user-blocks", Some(&token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "identifier is required");

    // Lifted: the right password works from that address again.
    let (status, _) = call(&app, "DELETE", &by_user, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(count(&app, "ublkdu").await, 1);
    let (_, none) = call(&app, "GET", by_identifier, Some(&token), None).await;
    assert_eq!(none, json!({"blocked_for": []}));
    let works = login(&app, "ann@example.com", PASSWORD, "203.0.113.7").await;
    assert_eq!(verdict(&works), (StatusCode::OK, "tokens"));
    let (_, ann) = call(&app, "GET", &user, Some(&token), None).await;
    assert!(ann.get("blocked_for").is_none(), "{ann}");
    let unknown = "/user-blocks?identifier=nobody%40example.com";
    let (status, _) = call(&app, "DELETE", unknown, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, none) = call(&app, "GET", unknown, Some(&token), None).await;
    assert_eq!(none, json!({"blocked_for": []}));

    // An administrator's block is another thing: 401 unauthorized, with the right password.
    let bob = login(&app, "bob@example.com", PASSWORD, "203.0.113.8").await;
    assert_eq!(verdict(&bob), (StatusCode::UNAUTHORIZED, "unauthorized"));
    assert_eq!(bob.1["error_description"], "user is blocked");
}

#[tokio::test]
async fn racing_wrong_passwords_get_exactly_the_threshold() {
    let app = proxied().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, _) = patch(&app, &token, json!({"max_attempts": 5})).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    let (id, secret) = (app.backend.0.to_string(), app.backend.1.expose().to_owned());
    let mut racers = Vec::new();
    for _ in 0..20 {
        let (http, url) = (app.http.clone(), app.url("oauth/token"));
        let body = json!({
            "grant_type": "password", "client_id": id, "client_secret": secret,
            "username": "ann@example.com", "password": "wrong password",
        });
        racers.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .header("x-forwarded-for", "203.0.113.9")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }));
    }
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    let mut verdicts: Vec<(StatusCode, &str)> = answers.iter().map(verdict).collect();
    verdicts.sort();
    let mut want = vec![(StatusCode::FORBIDDEN, "invalid_grant"); 5];
    want.extend(vec![
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
        15
    ]);
    want.sort();
    assert_eq!(verdicts, want);
}

#[tokio::test]
async fn modes_the_allowlist_monitoring_and_a_password_change() {
    let app = proxied().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    // Refusals name the property.
    for (what, body) in [
        ("zero", json!({"max_attempts": 0})),
        ("a mode", json!({"mode": "count_per_ip"})),
        ("an address", json!({"allowlist": ["10.0.0.300"]})),
        ("a shield", json!({"shields": ["captcha"]})),
    ] {
        let (status, answer) = patch(&app, &token, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
    }
    let wrong = |ip: &'static str| login(&app, "ann@example.com", "wrong password", ip);
    let right = |ip: &'static str| login(&app, "ann@example.com", PASSWORD, ip);

    // Per identifier: failures from one address block every address.
    let (status, _) = patch(
        &app,
        &token,
        json!({"max_attempts": 2, "mode": "count_per_identifier", "allowlist": ["192.0.2.0/24"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(wrong("203.0.113.1").await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(right("198.51.100.2").await.0, StatusCode::TOO_MANY_REQUESTS);
    // The allowlist is never counted nor blocked.
    for _ in 0..3 {
        assert_eq!(wrong("192.0.2.10").await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(right("192.0.2.10").await.0, StatusCode::OK);
    // Raising the threshold lifts the block.
    let (status, _) = patch(&app, &token, json!({"max_attempts": 3})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(right("198.51.100.2").await.0, StatusCode::OK);

    // Monitoring only (no shield): counted and logged, never refused.
    let (status, _) = patch(&app, &token, json!({"shields": []})).await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..4 {
        assert_eq!(wrong("203.0.113.1").await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(right("203.0.113.1").await.0, StatusCode::OK);
    // Off: nothing is counted.
    let (status, _) = patch(
        &app,
        &token,
        json!({"enabled": false, "shields": ["block"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..4 {
        assert_eq!(wrong("203.0.113.1").await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(right("203.0.113.1").await.0, StatusCode::OK);

    // On again, blocked, then a password change lifts it.
    let (status, _) = patch(&app, &token, json!({"enabled": true})).await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..3 {
        wrong("203.0.113.1").await;
    }
    assert_eq!(right("203.0.113.1").await.0, StatusCode::TOO_MANY_REQUESTS);
    let user = format!("/users/{}", urlencode(app.ann.as_str()));
    let new_password = json!({"password": "A new passw0rd, long and fine"});
    let (status, answer) = call(&app, "PATCH", &user, Some(&token), Some(new_password)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let after = login(
        &app,
        "ann@example.com",
        "A new passw0rd, long and fine",
        "203.0.113.1",
    )
    .await;
    assert_eq!(verdict(&after), (StatusCode::OK, "tokens"));
}

#[tokio::test]
async fn the_hosted_login_page_says_the_account_is_blocked() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, _) = patch(&app, &token, json!({"max_attempts": 2})).await;
    assert_eq!(status, StatusCode::OK);
    let mut browser = Browser::new();
    let spa = app.spa.to_string();
    let start = browser.get(&authorize_url(&app, &spa, "")).await;
    let form = browser.get(start.location()).await;
    let mut page = form;
    for _ in 0..2 {
        let refused = browser
            .submit_login(&app, &page.field("tx"), "ann@example.com", "wrong password")
            .await;
        assert!(
            refused.body.contains("Wrong email or password."),
            "{}",
            refused.body
        );
        page = refused;
    }
    let blocked = browser
        .submit_login(&app, &page.field("tx"), "ann@example.com", PASSWORD)
        .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        blocked
            .body
            .contains("Your account has been blocked after multiple consecutive login"),
        "{}",
        blocked.body
    );
}

/// The `blocked_account` mails to `to` in the outbox.
async fn blocked_mails(app: &TestApp, to: &str) -> Vec<String> {
    let sent = app
        .store
        .outbox(Some(to), sigil_core::Page::first())
        .await
        .unwrap();
    sent.into_iter()
        .filter(|m| m.email.kind == "blocked_account")
        .map(|m| m.email.body)
        .collect()
}

#[tokio::test]
async fn the_user_is_mailed_a_link_that_lifts_the_block_at_most_once_an_hour() {
    let app = proxied().await;
    for _ in 0..10 {
        login(&app, "ann@example.com", "wrong password", "203.0.113.7").await;
        login(&app, "nobody@example.com", "wrong password", "203.0.113.7").await;
    }
    let mails = blocked_mails(&app, "ann@example.com").await;
    assert_eq!(mails.len(), 1);
    assert!(blocked_mails(&app, "nobody@example.com").await.is_empty());
    let link = mails[0]
        .split_whitespace()
        .find(|word| word.starts_with(&app.url("u/unblock?ticket=")))
        .unwrap_or_else(|| panic!("no link in {}", mails[0]))
        .to_owned();
    let blocked = login(&app, "ann@example.com", PASSWORD, "203.0.113.7").await;
    assert_eq!(blocked.0, StatusCode::TOO_MANY_REQUESTS);

    // The link lifts it, once.
    let mut browser = Browser::new();
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Your account is unblocked"),
        "{}",
        page.body
    );
    assert_eq!(count(&app, "ublkdu").await, 1);
    let works = login(&app, "ann@example.com", PASSWORD, "203.0.113.7").await;
    assert_eq!(verdict(&works), (StatusCode::OK, "tokens"));
    let again = browser.get(&link).await;
    assert!(
        again.body.contains("This link was used already."),
        "{}",
        again.body
    );

    // Blocked again within the hour: no second mail; an hour later, one more.
    for _ in 0..10 {
        login(&app, "ann@example.com", "wrong password", "203.0.113.7").await;
    }
    assert_eq!(blocked_mails(&app, "ann@example.com").await.len(), 1);
    app.clock.advance(3601);
    let user = format!("/user-blocks/{}", urlencode(app.ann.as_str()));
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, _) = call(&app, "DELETE", &user, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for _ in 0..10 {
        login(&app, "ann@example.com", "wrong password", "203.0.113.7").await;
    }
    assert_eq!(blocked_mails(&app, "ann@example.com").await.len(), 2);
}
