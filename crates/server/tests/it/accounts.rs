//! `/dbconnections/signup` and `/dbconnections/change_password`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::model::TicketKind;
use sigil_core::secret::SecretDigest;
use sigil_core::{Page, Store};

use crate::app::{NOW, TestApp};

async fn send(app: &TestApp, path: &str, body: Value) -> (StatusCode, String) {
    let response = app
        .http
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn signup_makes_a_user_who_can_log_in_and_refuses_what_auth0_refuses() {
    let app = TestApp::start().await;
    let client = app.native.to_string();
    let signup = |email: &str, password: &str| {
        json!({
            "client_id": client, "connection": "Username-Password-Authentication",
            "email": email, "password": password, "given_name": "Cy",
            "user_metadata": {"plan": "free"},
        })
    };
    let (status, body) = send(
        &app,
        "dbconnections/signup",
        signup("cy@example.com", "Sup3rSecret"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["email"], "cy@example.com");
    assert_eq!(created["email_verified"], false);
    let id = created["_id"].as_str().unwrap();
    assert!(
        id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let user = app
        .store
        .user(&sigil_core::ids::UserId(format!("auth0|{id}")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.given_name.as_deref(), Some("Cy"));
    assert_eq!(user.user_metadata["plan"], "free");

    let login = |username: &str| {
        json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "client_id": client,
            "username": username, "password": "Sup3rSecret",
            "realm": "Username-Password-Authentication",
        })
    };
    let (status, body) = send(&app, "oauth/token", login("cy@example.com")).await;
    assert_eq!(status, StatusCode::OK, "the new user logs in: {body}");

    // (what, the address signed up, the spelling logging in, whether it is the same user)
    let spellings = [
        // NFC: "é" precomposed and "e" + U+0301 COMBINING ACUTE are one address.
        (
            "decomposed",
            "jos\u{e9}@example.com",
            "JOSE\u{301}@example.com",
            true,
        ),
        // The Kelvin sign (U+212A) lower-cases to a plain "k" in Unicode, but it is not
        // kate's address: it logs into nobody.
        (
            "Kelvin sign",
            "kate@example.com",
            "\u{212a}ate@example.com",
            false,
        ),
    ];
    for (what, address, spelling, same) in spellings {
        let (status, body) =
            send(&app, "dbconnections/signup", signup(address, "Sup3rSecret")).await;
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
        let (status, body) = send(&app, "oauth/token", login(spelling)).await;
        if same {
            assert_eq!(status, StatusCode::OK, "{what}: {body}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
            assert!(body.contains("invalid_grant"), "{what}: {body}");
        }
    }

    let many: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    let metadata = |value: Value| {
        let mut body = signup("meta@example.com", "Sup3rSecret");
        body["user_metadata"] = value;
        body
    };
    // (what, body, error)
    let refusals = [
        (
            "decomposed copy of an existing address",
            signup("jose\u{301}@example.com", "Sup3rSecret"),
            "invalid_signup",
        ),
        (
            "a Kelvin sign in the address",
            signup("\u{212a}ate@example.com", "Sup3rSecret"),
            "invalid_request",
        ),
        (
            "a fullwidth letter",
            signup("\u{ff41}nn@example.com", "Sup3rSecret"),
            "invalid_request",
        ),
        (
            "a zero-width space",
            signup("an\u{200b}n@example.com", "Sup3rSecret"),
            "invalid_request",
        ),
        (
            "a password over 1024 bytes",
            signup("long@example.com", &format!("Sup3r{}", "s".repeat(1020))),
            "invalid_password",
        ),
        (
            "eleven metadata fields",
            metadata(Value::Object(many)),
            "invalid_request",
        ),
        (
            "a metadata number",
            metadata(json!({"n": 1})),
            "invalid_request",
        ),
        (
            "501 metadata characters",
            metadata(json!({"a": "x".repeat(501)})),
            "invalid_request",
        ),
        (
            "existing user",
            signup("CY@example.com", "Sup3rSecret"),
            "invalid_signup",
        ),
        (
            "weak password",
            signup("dee@example.com", "password"),
            "invalid_password",
        ),
        (
            "not an email",
            signup("dee", "Sup3rSecret"),
            "invalid_request",
        ),
        (
            "unknown connection",
            json!({"client_id": client, "connection": "Nope", "email": "e@example.com", "password": "Sup3rSecret"}),
            "invalid_request",
        ),
        (
            "unknown client",
            json!({"client_id": "nobody", "connection": "Username-Password-Authentication", "email": "e@example.com", "password": "Sup3rSecret"}),
            "invalid_request",
        ),
        (
            "no password",
            json!({"client_id": client, "connection": "Username-Password-Authentication", "email": "e@example.com"}),
            "invalid_request",
        ),
        (
            "unknown field",
            json!({"client_id": client, "connection": "Username-Password-Authentication", "email": "e@example.com", "password": "Sup3rSecret", "admin": true}),
            "invalid_request",
        ),
    ];
    for (what, body, error) in refusals {
        let (status, text) = send(&app, "dbconnections/signup", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["error"], error, "{what}: {text}");
    }
}

#[tokio::test]
async fn change_password_mails_a_single_use_link_and_says_the_same_for_strangers() {
    let app = TestApp::start().await;
    let ask = |email: &str| json!({"client_id": app.native.to_string(), "connection": "Username-Password-Authentication", "email": email});
    for email in ["ann@example.com", "stranger@example.com"] {
        let (status, text) = send(&app, "dbconnections/change_password", ask(email)).await;
        assert_eq!(status, StatusCode::OK, "{email}");
        assert_eq!(text, "We've just sent you an email to reset your password.");
    }
    // The lookup, the ticket and the mail happen after the answer, so the stranger's answer
    // takes as long as Ann's (scripts/bench-reset-timing measures it).
    app.server.flush_events().await;
    let mails: Vec<_> = (app.store.outbox(None, Page::first()).await.unwrap())
        .into_iter()
        .map(|m| m.email)
        .collect();
    assert_eq!(mails.len(), 1, "only the real user gets mail: {mails:?}");
    assert_eq!(mails[0].to, "ann@example.com");
    let link = mails[0]
        .body
        .lines()
        .find(|l| l.contains("u/reset-password?ticket="))
        .unwrap();
    assert!(link.starts_with(&app.base), "{link}");
    let ticket = link.rsplit_once("ticket=").unwrap().1;
    let stored = app
        .store
        .ticket(&SecretDigest::of(ticket))
        .await
        .unwrap()
        .expect("the ticket in the link is stored (as its digest)");
    assert_eq!(
        (stored.kind, stored.user_id.clone()),
        (TicketKind::PasswordReset, app.ann.clone())
    );
    assert_eq!(stored.expires_at.0, NOW + 432_000);
}

#[tokio::test]
async fn the_authentication_api_limits_answer_with_auth0s_headers() {
    let app = TestApp::start().await;
    let remaining = |headers: &reqwest::header::HeaderMap| {
        let read = |name: &str| headers[name].to_str().unwrap().parse::<i64>().unwrap();
        (read("x-ratelimit-limit"), read("x-ratelimit-remaining"))
    };

    // /dbconnections/change_password: 10 at once from an address for one email, then one a
    // minute; another email is another bucket.
    let ask = |email: &str| {
        app.http
            .post(app.url("dbconnections/change_password"))
            .json(&json!({"client_id": app.native.to_string(),
                          "connection": "Username-Password-Authentication", "email": email}))
            .send()
    };
    for i in 0..10 {
        let answer = ask("ann@example.com").await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "request {i}");
        assert_eq!(remaining(answer.headers()), (10, 9 - i));
    }
    let refused = ask("Ann@Example.com").await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(remaining(refused.headers()), (10, 0));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests", "{body}");
    assert_eq!(
        ask("bob@example.com").await.unwrap().status(),
        StatusCode::OK
    );
    app.clock.advance(60);
    assert_eq!(
        ask("ann@example.com").await.unwrap().status(),
        StatusCode::OK
    );
    // Only the requests let through were mailed.
    app.server.flush_events().await;
    let mails = app
        .store
        .outbox(Some("ann@example.com"), Page::first())
        .await
        .unwrap();
    assert_eq!(mails.len(), 11);

    // /userinfo: 10 at once per user, then 5 a minute.
    let (status, _, tokens) = crate::app::post(
        &app,
        crate::password::login(&app, json!({"scope": "openid email"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    let userinfo = || app.http.get(app.url("userinfo")).bearer_auth(token).send();
    for i in 0..10 {
        let answer = userinfo().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "request {i}");
        assert_eq!(remaining(answer.headers()), (10, 9 - i));
    }
    let refused = userinfo().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(remaining(refused.headers()), (10, 0));
    app.clock.advance(12);
    assert_eq!(userinfo().await.unwrap().status(), StatusCode::OK);
}
