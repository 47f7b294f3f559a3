//! Actions in the flows, deployed and bound through the Management API and run on real
//! requests: `credentials-exchange` in `client_credentials` (custom claims verified with the
//! JWKS, Auth0's claim rules, a deny, a failure that tells the client nothing of the tenant's
//! error, and nothing once unbound).

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::UnixTime;

use crate::app::{API, Body, TestApp, post};
use crate::management::{audience, call, token_for};

/// S6 in `notes/actions.md`, verbatim from Auth0's docs (MIT).
const S6: &str = r#"exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim("https://my-api.exampleco.com/request-ip", event.request.ip);
};"#;

/// A Management API token for deploying and binding Actions, got before any is bound (a
/// credentials-exchange Action runs for the Management API's tokens too).
pub(crate) async fn actions_token(app: &TestApp) -> String {
    token_for(
        app,
        &audience(app),
        &["create:actions", "update:actions", "read:actions"],
    )
    .await
}

/// Deploys `code` as an Action for `trigger` and makes it the trigger's only binding.
pub(crate) async fn bind_only(app: &TestApp, token: &str, trigger: &str, name: &str, code: &str) {
    let t = Some(token);
    let (status, created) = call(
        app,
        "POST",
        "/actions/actions",
        t,
        Some(json!({
            "name": name,
            "supported_triggers": [{"id": trigger, "version": "v2"}],
            "code": code,
            "secrets": [{"name": "TIER", "value": "gold"}],
            "deploy": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, bound) = call(
        app,
        "PATCH",
        &format!("/actions/triggers/{trigger}/bindings"),
        t,
        Some(json!({"bindings": [{"ref": {"type": "action_name", "value": name}}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
}

async fn machine_token(app: &TestApp) -> (StatusCode, Value) {
    let (status, _, body) = post(
        app,
        Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", app.machine.0.to_string()),
            ("client_secret", app.machine.1.expose().to_owned()),
            ("audience", API.into()),
        ]),
        None,
    )
    .await;
    (status, body)
}

async fn claims(app: &TestApp, body: &Value) -> Value {
    app.verifier(API)
        .await
        .verify::<Value>(
            body["access_token"].as_str().unwrap(),
            UnixTime(app.clock_now()),
        )
        .unwrap()
        .claims
}

#[tokio::test]
async fn credentials_exchange_actions_shape_machine_tokens() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        claims(&app, &body)
            .await
            .get("https://my-api.exampleco.com/request-ip")
            .is_none(),
        "nothing bound, nothing added"
    );

    bind_only(&app, &token, "credentials-exchange", "S6", S6).await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = claims(&app, &body).await;
    assert_eq!(
        got["https://my-api.exampleco.com/request-ip"], "127.0.0.1",
        "{got}"
    );

    // Auth0's rules: a plain claim and a secret are fine; registered and restricted names and
    // Auth0's namespaces are dropped without failing.
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "rules",
        r#"exports.onExecuteCredentialsExchange = async (event, api) => {
            api.accessToken.setCustomClaim("tier", event.secrets.TIER);
            api.accessToken.setCustomClaim("sub", "someone-else");
            api.accessToken.setCustomClaim("permissions", ["everything"]);
            api.accessToken.setCustomClaim("https://tenant.auth0.com/x", 1);
        };"#,
    )
    .await;
    let (_, body) = machine_token(&app).await;
    let got = claims(&app, &body).await;
    assert_eq!(got["tier"], "gold", "{got}");
    assert_eq!(got["sub"], format!("{}@clients", app.machine.0), "{got}");
    assert!(got.get("permissions").is_none(), "{got}");
    assert!(got.get("https://tenant.auth0.com/x").is_none(), "{got}");

    // A deny answers with its code and reason.
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "deny",
        r#"exports.onExecuteCredentialsExchange = async (event, api) => {
            api.access.deny("invalid_request", "Machines rest on Sundays.");
        };"#,
    )
    .await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "Machines rest on Sundays.");

    // A failure tells the client nothing of the tenant's error.
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "throws",
        r#"exports.onExecuteCredentialsExchange = async (event) => {
            throw new Error("secret detail " + event.secrets.TIER);
        };"#,
    )
    .await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert!(!body.to_string().contains("secret detail"), "{body}");

    // Unbound: tokens as before.
    call(
        &app,
        "PATCH",
        "/actions/triggers/credentials-exchange/bindings",
        Some(&token),
        Some(json!({"bindings": []})),
    )
    .await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(claims(&app, &body).await.get("tier").is_none());
}
