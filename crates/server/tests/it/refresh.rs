//! The refresh token grant: rotation, reuse detection, the leeway for racing tabs, scope
//! narrowing, non-rotating clients, and revocation.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::model::{LogQuery, LogType};
use sigil_core::{Page, Store};

use crate::app::{Body, PASSWORD, RBAC_API, TestApp, post};

async fn login(app: &TestApp, client: Value) -> String {
    let mut body = json!({
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "username": "ann@example.com", "password": PASSWORD,
        "realm": "Username-Password-Authentication",
        "audience": RBAC_API, "scope": "openid read:r offline_access",
    });
    body.as_object_mut()
        .unwrap()
        .extend(client.as_object().unwrap().clone());
    let (status, _, body) = post(app, Body::Json(body), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn refresh(
    app: &TestApp,
    client: &Value,
    token: &str,
    scope: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"grant_type": "refresh_token", "refresh_token": token, "scope": scope});
    body.as_object_mut()
        .unwrap()
        .extend(client.as_object().unwrap().clone());
    let (status, _, body) = post(app, Body::Json(body), None).await;
    (status, body)
}

fn native(app: &TestApp) -> Value {
    json!({"client_id": app.native.to_string()})
}

#[tokio::test]
async fn rotation_hands_out_successors_and_reuse_revokes_the_family() {
    let app = TestApp::start().await;
    let client = native(&app);
    let first = login(&app, client.clone()).await;
    let (status, body) = refresh(&app, &client, &first, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(body["scope"], "openid offline_access read:r");
    assert!(body["access_token"].is_string());
    // A refreshed ID token keeps the login's auth_time (OIDC Core §12.2).
    let id = sigil_jose::insecure_decode(body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(id.claims["auth_time"], crate::app::NOW);

    // A narrower scope is fine; a wider one is not.
    let (status, body) = refresh(&app, &client, &second, Some("write:r")).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // The first token again, within the same second: with a leeway of 0 that is already a
    // reuse, and the whole family goes.
    let (status, body) = refresh(&app, &client, &first, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = refresh(&app, &client, &second, None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the successor is revoked with its family"
    );
    let reuse = LogQuery {
        log_type: Some(LogType::from(LogType::FAILED_REFRESH_REUSE)),
        ..LogQuery::default()
    };
    let logs = app.store.list_logs(&reuse, Page::first()).await.unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].event.user_id.as_ref(), Some(&app.ann));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_refreshes_within_the_leeway_all_get_the_same_successor() {
    let app = TestApp::start().await;
    let mut native_client = app.store.client(&app.native).await.unwrap().unwrap();
    native_client.settings.refresh_token.leeway = 30;
    app.store.update_client(&native_client).await.unwrap();
    let client = native(&app);
    let first = login(&app, client.clone()).await;

    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, url) = (app.http.clone(), app.url("oauth/token"));
        let body = json!({"grant_type": "refresh_token", "refresh_token": first, "client_id": app.native.to_string()});
        racers.spawn(async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        });
    }
    let answers = racers.join_all().await;
    let successors: Vec<&str> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::OK, "{body}");
            body["refresh_token"].as_str().unwrap()
        })
        .collect();
    assert!(
        successors.iter().all(|s| *s == successors[0]),
        "{successors:?}"
    );
    let successor = successors[0].to_owned();

    // Within the leeway the old token still works, and gives the same successor.
    app.clock.advance(29);
    let (status, body) = refresh(&app, &client, &first, None).await;
    assert_eq!(
        (status, body["refresh_token"].as_str()),
        (StatusCode::OK, Some(successor.as_str()))
    );
    // After it, reuse is an attack.
    app.clock.advance(2);
    let (status, _) = refresh(&app, &client, &first, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = refresh(&app, &client, &successor, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn non_rotating_clients_keep_their_token_and_revocation_ends_it() {
    let app = TestApp::start().await;
    let client =
        json!({"client_id": app.backend.0.to_string(), "client_secret": app.backend.1.expose()});
    let token = login(&app, client.clone()).await;
    for _ in 0..2 {
        let (status, body) = refresh(&app, &client, &token, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.get("refresh_token").is_none(),
            "non-rotating: no successor"
        );
    }
    // Another client cannot use it.
    let (status, _) = refresh(&app, &native(&app), &token, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let revoke = |token: &str, secret: &str| {
        app.http.post(app.url("oauth/revoke")).json(&json!({
            "token": token, "client_id": app.backend.0.to_string(), "client_secret": secret,
        }))
    };
    let wrong = revoke(&token, "nope").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let unknown = revoke("never-issued", app.backend.1.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::OK);
    let done = revoke(&token, app.backend.1.expose()).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let (status, body) = refresh(&app, &client, &token, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );
}
