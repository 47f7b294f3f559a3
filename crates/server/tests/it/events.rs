//! Tenant log events as Auth0 writes them: every login and token exchange, successful or
//! not, leaves its event with Auth0's type code, the application, the user and connection
//! when known, the caller's address and agent, and the host; written by the batched writer
//! off the request's path.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::model::{LogEvent, LogQuery, LogType};
use sigil_core::{Page, Store};

use crate::app::{API, Body, PASSWORD, TestApp, post};
use crate::browser::{Browser, authorize_url, log_in};
use crate::password::login;

/// The newest event of `log_type`, after everything queued is written.
pub(crate) async fn newest(app: &TestApp, log_type: &str) -> LogEvent {
    app.server.flush_events().await;
    let query = LogQuery {
        log_type: Some(LogType::from(log_type)),
        ..LogQuery::default()
    };
    let mut events = app.store.list_logs(&query, Page::first()).await.unwrap();
    assert!(!events.is_empty(), "no {log_type} event");
    events.remove(0)
}

async fn count(app: &TestApp, log_type: &str) -> usize {
    app.server.flush_events().await;
    let query = LogQuery {
        log_type: Some(LogType::from(log_type)),
        ..LogQuery::default()
    };
    app.store
        .list_logs(&query, Page::first())
        .await
        .unwrap()
        .len()
}

fn machine(app: &TestApp, secret: &str) -> Body {
    Body::Form(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", app.machine.0.to_string()),
        ("client_secret", secret.to_owned()),
        ("audience", API.into()),
    ])
}

#[tokio::test]
async fn every_token_exchange_leaves_its_event() {
    let app = TestApp::start().await;
    let secret = app.machine.1.expose().to_owned();
    let ann = app.ann.to_string();
    // (what is sent, the status, the event's type, the user it names)
    let offline = json!({"scope": "openid offline_access", "audience": crate::app::RBAC_API});
    let cases: Vec<(Body, StatusCode, &str, Option<&str>)> = vec![
        (machine(&app, &secret), StatusCode::OK, "seccft", None),
        (
            machine(&app, "wrong"),
            StatusCode::UNAUTHORIZED,
            "feccft",
            None,
        ),
        (
            login(&app, offline.clone()),
            StatusCode::OK,
            "sepft",
            Some(&ann),
        ),
        (
            login(&app, json!({"password": "nope"})),
            StatusCode::FORBIDDEN,
            "fp",
            Some(&ann),
        ),
        (
            login(&app, json!({"username": "nobody@example.com"})),
            StatusCode::FORBIDDEN,
            "fu",
            None,
        ),
        (
            Body::Json(
                json!({"grant_type": "refresh_token", "refresh_token": "unknown",
                              "client_id": app.native.to_string()}),
            ),
            StatusCode::FORBIDDEN,
            "fertft",
            None,
        ),
    ];
    let mut refresh = None;
    for (body, status, log_type, user) in cases {
        let (got, _, answer) = post(&app, body, None).await;
        assert_eq!(got, status, "{log_type}: {answer}");
        if let Some(token) = answer["refresh_token"].as_str() {
            refresh = Some(token.to_owned());
        }
        let event = newest(&app, log_type).await.event;
        assert_eq!(event.ip.as_deref(), Some("127.0.0.1"), "{log_type}");
        assert_eq!(event.hostname.as_deref(), Some("127.0.0.1"), "{log_type}");
        assert_eq!(
            event.user_id.as_ref().map(|u| u.0.as_str()),
            user,
            "{log_type}"
        );
        assert!(event.client_id.is_some(), "{log_type}: the client it named");
        if status == StatusCode::OK {
            assert!(
                event.scope.is_some() && event.audience.is_some(),
                "{log_type}: {event:?}"
            );
        } else {
            assert!(event.description.is_some(), "{log_type}: why it failed");
        }
    }
    let sepft = newest(&app, "sepft").await.event;
    assert_eq!(
        sepft.connection.as_deref(),
        Some("Username-Password-Authentication")
    );
    assert!(
        sepft
            .connection_id
            .as_deref()
            .is_some_and(|c| c.starts_with("con_"))
    );
    assert_eq!(sepft.strategy.as_deref(), Some("auth0"));
    assert_eq!(sepft.strategy_type.as_deref(), Some("database"));
    assert_eq!(sepft.user_name.as_deref(), Some("ann@example.com"));
    let seccft = newest(&app, "seccft").await.event;
    assert_eq!(seccft.audience.as_deref(), Some(API));
    assert!(seccft.client_name.is_some());

    // A refresh, then the same token again after rotation is off: sertft.
    let refresh = refresh.expect("a refresh token");
    let body = Body::Json(
        json!({"grant_type": "refresh_token", "refresh_token": refresh,
                                 "client_id": app.native.to_string()}),
    );
    let (status, _, answer) = post(&app, body, None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        newest(&app, "sertft").await.event.user_id,
        Some(app.ann.clone())
    );

    // Through the Management API, as Auth0 shows them.
    let listed = management_logs(&app, "type:sepft").await;
    assert_eq!(listed[0]["type"], "sepft");
    for field in [
        "log_id",
        "date",
        "client_id",
        "ip",
        "hostname",
        "user_id",
        "connection_id",
        "strategy",
        "strategy_type",
        "audience",
        "scope",
    ] {
        assert!(listed[0].get(field).is_some(), "{field} in {}", listed[0]);
    }
}

async fn management_logs(app: &TestApp, q: &str) -> Vec<Value> {
    let token =
        crate::management::token_for(app, &crate::management::audience(app), &["read:logs"]).await;
    app.server.flush_events().await;
    let response = app
        .http
        .get(format!(
            "{}?{}",
            app.url("api/v2/logs"),
            serde_urlencoded::to_string([("q", q)]).unwrap()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn hosted_logins_and_silent_authentication_leave_their_events() {
    let app = TestApp::start().await;
    let native = app.native.to_string();

    // A wrong password on the login page, then a login and its code exchange.
    let mut browser = Browser::new();
    let start = browser.get(&authorize_url(&app, &native, "")).await;
    let form = browser.get(start.location()).await;
    let refused = browser
        .submit_login(&app, &form.field("tx"), "ann@example.com", "wrong")
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let fp = newest(&app, "fp").await.event;
    assert_eq!(fp.user_id, Some(app.ann.clone()));
    assert_eq!(fp.user_name.as_deref(), Some("ann@example.com"));
    log_in(&app, &mut browser, &native).await;
    let s = newest(&app, "s").await.event;
    assert_eq!(s.user_id, Some(app.ann.clone()));
    assert_eq!(
        s.client_id.as_ref().map(|c| c.0.as_str()),
        Some(native.as_str())
    );
    // The page knew only the id; the writer names the application.
    let name = sigil_core::Store::client(&app.store, &app.native)
        .await
        .unwrap()
        .unwrap()
        .name;
    assert_eq!(s.client_name.as_deref(), Some(name.as_str()));
    assert_eq!(fp.client_name.as_deref(), Some(name.as_str()));
    assert_eq!(count(&app, "seacft").await, 1);

    // prompt=none with the session: ssa; without one: fsa.
    let silent = browser
        .get(&authorize_url(&app, &native, "&prompt=none"))
        .await;
    assert_eq!(silent.status, StatusCode::FOUND);
    assert_eq!(
        newest(&app, "ssa").await.event.user_id,
        Some(app.ann.clone())
    );
    let stranger = Browser::new()
        .get(&authorize_url(&app, &native, "&prompt=none"))
        .await;
    assert!(
        stranger.location().contains("login_required"),
        "{}",
        stranger.location()
    );
    assert_eq!(
        newest(&app, "fsa").await.event.description.as_deref(),
        Some("Login required")
    );
    // An unknown user on the page: fu, with what was typed.
    let mut other = Browser::new();
    let start = other.get(&authorize_url(&app, &native, "")).await;
    let form = other.get(start.location()).await;
    other
        .submit_login(&app, &form.field("tx"), "ghost@example.com", PASSWORD)
        .await;
    let fu = newest(&app, "fu").await.event;
    assert_eq!(fu.user_name.as_deref(), Some("ghost@example.com"));
    assert_eq!(fu.user_id, None);
}

#[tokio::test]
async fn a_refused_signup_through_the_authentication_api_is_logged_as_fs() {
    let app = TestApp::start().await;
    let response = app
        .http
        .post(app.url("dbconnections/signup"))
        .json(&json!({
            "client_id": app.native.to_string(),
            "connection": "Username-Password-Authentication",
            "email": "ann@example.com",
            "password": "Another-long-password-9!",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "the user exists"
    );
    let fs = newest(&app, "fs").await.event;
    assert_eq!(fs.user_name.as_deref(), Some("ann@example.com"));
    assert_eq!(fs.ip.as_deref(), Some("127.0.0.1"));
    assert!(fs.description.is_some());
}
