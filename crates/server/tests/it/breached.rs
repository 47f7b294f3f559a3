//! Breached-password detection through real HTTP, as Auth0's: off by default; turned on, a
//! breached password (Auth0's `AUTH0-TEST-` ones, the operator's imported list, or a range API
//! the operator names) is refused at signup, at a reset and through the Management API as each
//! stage's shields say, and at a login with 401 `password_leaked` (the user mailed a link,
//! once an hour); each is logged (`signup_pwd_leak`, `reset_pwd_leak`, `pwd_leak`); the range
//! API only ever sees five hex digits, and its failure lets passwords through.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::attack_protection::breached::{BreachedFilter, key_of_hex, sha1_hex};
use sigil_server::HasherOptions;

use crate::app::TestApp;
use crate::management::{audience, call, token_for};
use crate::mfa::count;

const SCOPES: &[&str] = &[
    "read:attack_protection",
    "update:attack_protection",
    "update:users",
    "create:users",
];

/// Passwords on the operator's (test) list.
const LISTED: [&str; 3] = [
    "Listed-Horse-Battery-1",
    "Listed-Staple-Correct-2",
    "Listed-Orbit-Lamp-3",
];
/// A password on no list.
const FRESH: &str = "Vq7-Unlisted-Fjord-Tiger";

const LEAKED: &str = "This login attempt has been blocked because the password you're using \
    was previously disclosed through a data breach (not in this application). Please check \
    your email for more information.";

async fn with_list() -> TestApp {
    let keys = LISTED
        .iter()
        .filter_map(|p| key_of_hex(&sha1_hex(p)))
        .collect();
    let filter = BreachedFilter::build(keys).unwrap();
    TestApp::start_with(
        None,
        HasherOptions {
            breached_filter: Some(Arc::new(filter)),
            ..HasherOptions::default()
        },
    )
    .await
}

async fn patch(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "PATCH",
        "/attack-protection/breached-password-detection",
        Some(token),
        Some(body),
    )
    .await
}

async fn signup(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("dbconnections/signup"))
        .json(&json!({
            "client_id": app.native.to_string(),
            "connection": "Username-Password-Authentication",
            "email": email, "password": password,
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    let (status, _, body) = crate::app::post(
        app,
        crate::password::login(app, json!({"username": username, "password": password})),
        None,
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn breached_passwords_are_refused_where_the_settings_say() {
    let app = with_list().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, defaults) = call(
        &app,
        "GET",
        "/attack-protection/breached-password-detection",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        defaults,
        json!({"enabled": false, "shields": [], "admin_notification_frequency": ["immediately"],
               "method": "standard",
               "stage": {"pre-user-registration": {"shields": []},
                         "pre-change-password": {"shields": []}}})
    );
    // Off: a listed password signs up (an account to log in with below).
    let (status, body) = signup(&app, "dee@example.com", LISTED[0]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = patch(
        &app,
        &token,
        json!({"enabled": true, "shields": ["block", "user_notification"],
               "stage": {"pre-user-registration": {"shields": ["block"]},
                         "pre-change-password": {"shields": ["block"]}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Signups: the imported list, Auth0's test prefix, the bundled common list; a fresh one.
    for (password, refused) in [
        (LISTED[1], true),
        ("AUTH0-TEST-anything-at-all", true),
        (FRESH, false),
    ] {
        let email = format!("s{}@example.com", password.len());
        let (status, body) = signup(&app, &email, password).await;
        if refused {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{password}: {body}");
            assert_eq!(body["error"], "invalid_password", "{body}");
            assert_eq!(body["name"], "PasswordLeakedError", "{body}");
        } else {
            assert_eq!(status, StatusCode::OK, "{password}: {body}");
        }
    }
    assert_eq!(count(&app, "signup_pwd_leak").await, 2);

    // A login with the (right) breached password: 401 password_leaked, the user mailed once.
    for _ in 0..2 {
        let (status, body) = login(&app, "dee@example.com", LISTED[0]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(
            (&body["error"], &body["error_description"]),
            (&json!("password_leaked"), &json!(LEAKED))
        );
    }
    assert_eq!(count(&app, "pwd_leak").await, 2);
    let mails: Vec<_> = sigil_core::Store::outbox(
        &app.store,
        Some("dee@example.com"),
        sigil_core::Page::first(),
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|m| m.email.kind == "breached_password")
    .collect();
    assert_eq!(mails.len(), 1, "one notice an hour");
    assert!(mails[0].email.body.contains("u/reset-password?ticket="));
    // A wrong password is just wrong.
    let (status, _) = login(&app, "dee@example.com", "not it").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The Management API: a breached new password is refused, a fresh one set.
    let ann = app.ann.to_string();
    for (password, want) in [(LISTED[2], 400), (FRESH, 200)] {
        let answer = call(
            &app,
            "PATCH",
            &format!("/users/{ann}"),
            Some(&token),
            Some(json!({"password": password})),
        )
        .await;
        assert_eq!(answer.0.as_u16(), want, "{password}: {}", answer.1);
    }
    let (status, _) = login(&app, "ann@example.com", FRESH).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&app, "reset_pwd_leak").await, 1);

    // Without the block shield at a login, it is only logged.
    let (status, _) = patch(&app, &token, json!({"shields": []})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = login(&app, "dee@example.com", LISTED[0]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(count(&app, "pwd_leak").await, 3);
}

#[tokio::test]
async fn the_settings_refuse_what_sigil_cannot_do() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    // (what, body, the property named)
    let cases = [
        (
            "an unknown shield",
            json!({"shields": ["captcha"]}),
            "shields",
        ),
        (
            "a digest",
            json!({"admin_notification_frequency": ["daily"]}),
            "admin_notification_frequency",
        ),
        ("Credential Guard", json!({"method": "enhanced"}), "method"),
        (
            "a login shield at signup",
            json!({"stage": {"pre-user-registration": {"shields": ["user_notification"]}}}),
            "stage.pre-user-registration.shields",
        ),
        (
            "an unknown stage",
            json!({"stage": {"pre-login": {}}}),
            "stage",
        ),
    ];
    for (what, body, property) in cases {
        let (status, answer) = patch(&app, &token, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(property),
            "{what}: {answer}"
        );
    }
}

/// A fake k-anonymity range API: answers the suffixes of `listed` under their prefixes, and
/// records every path asked for.
async fn range_api(listed: &[&str]) -> (String, Arc<Mutex<Vec<String>>>) {
    let hashes: Vec<String> = listed.iter().map(|p| sha1_hex(p)).collect();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&seen);
    let router = axum::Router::new().route(
        "/range/{prefix}",
        axum::routing::get(
            move |axum::extract::Path(prefix): axum::extract::Path<String>| {
                let hashes = hashes.clone();
                let recorded = Arc::clone(&recorded);
                async move {
                    recorded.lock().unwrap().push(prefix.clone());
                    let mut body = String::from("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n");
                    for hash in hashes.iter().filter(|h| h.starts_with(&prefix)) {
                        body.push_str(&format!("{}:42\r\n", &hash[5..]));
                    }
                    body
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/range/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, seen)
}

#[tokio::test]
async fn a_range_api_sees_only_five_hex_digits_and_its_failure_lets_passwords_through() {
    let (url, seen) = range_api(&["Range-Listed-Password-9"]).await;
    let app = TestApp::start_with(
        None,
        HasherOptions {
            breached_range_url: Some(url.parse().unwrap()),
            ..HasherOptions::default()
        },
    )
    .await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, _) = patch(
        &app,
        &token,
        json!({"enabled": true, "stage": {"pre-user-registration": {"shields": ["block"]}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = signup(&app, "r1@example.com", "Range-Listed-Password-9").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = signup(&app, "r2@example.com", FRESH).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let asked = seen.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    for prefix in &asked {
        assert!(
            prefix.len() == 5 && prefix.bytes().all(|b| b.is_ascii_hexdigit()),
            "the range API saw {prefix:?}"
        );
    }

    // An API that cannot be reached lets the password through (failing open, logged).
    let down = TestApp::start_with(
        None,
        HasherOptions {
            breached_range_url: Some("http://127.0.0.1:9/range/".parse().unwrap()),
            ..HasherOptions::default()
        },
    )
    .await;
    let token = token_for(&down, &audience(&down), SCOPES).await;
    let (status, _) = patch(
        &down,
        &token,
        json!({"enabled": true, "stage": {"pre-user-registration": {"shields": ["block"]}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = signup(&down, "r3@example.com", "Range-Listed-Password-9").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
