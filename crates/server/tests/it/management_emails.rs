//! `/emails/provider` through the Management API: Auth0's `smtp` provider configured, shown
//! without its password (Auth0's `fields` projection), changed one credential at a time,
//! deleted; the other providers Auth0 has refused by name; each operation behind its scope.

use reqwest::StatusCode;
use serde_json::json;
use sigil_core::Store as _;

use crate::app::TestApp;
use crate::management::{audience, call, token_for};

const SCOPES: [&str; 4] = [
    "read:email_provider",
    "create:email_provider",
    "update:email_provider",
    "delete:email_provider",
];

#[tokio::test]
async fn the_email_provider_is_configured_shown_without_its_password_and_deleted() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());
    let smtp = json!({
        "name": "smtp",
        "default_from_address": "login@example.com",
        "credentials": {"smtp_host": "mail.example.com", "smtp_port": 587,
                        "smtp_user": "sigil", "smtp_pass": "SMTP-SECRET"},
    });

    let (status, none) = call(&app, "GET", "/emails/provider", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{none}");
    assert_eq!(none["message"], "Email provider has not been configured");
    let (status, _) = call(
        &app,
        "PATCH",
        "/emails/provider",
        t,
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for (body, property) in [
        (
            json!({"name": "sendgrid", "credentials": {"api_key": "k"}}),
            "name",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "h", "smtp_port": 25}}),
            "credentials.smtp_user",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "h", "smtp_port": 70000, "smtp_user": "u", "smtp_pass": "p"}}),
            "smtp_port",
        ),
        (
            json!({"name": "smtp", "credentials": {}, "region": "eu"}),
            "region",
        ),
    ] {
        let (status, answer) = call(&app, "POST", "/emails/provider", t, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["errorCode"], "invalid_body", "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(property),
            "{body}: {answer}"
        );
    }

    let (status, created) = call(&app, "POST", "/emails/provider", t, Some(smtp.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created,
        json!({"name": "smtp", "enabled": true, "default_from_address": "login@example.com",
               "credentials": {"smtp_host": "mail.example.com", "smtp_port": 587, "smtp_user": "sigil"},
               "settings": {"headers": {}}})
    );
    let (status, again) = call(&app, "POST", "/emails/provider", t, Some(smtp)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Auth0's projection: no fields, name and enabled only.
    for (query, expected) in [
        ("", json!({"name": "smtp", "enabled": true})),
        (
            "?fields=credentials&include_fields=true",
            json!({"credentials": {"smtp_host": "mail.example.com", "smtp_port": 587, "smtp_user": "sigil"}}),
        ),
        (
            "?fields=credentials,settings&include_fields=false",
            json!({"name": "smtp", "enabled": true, "default_from_address": "login@example.com"}),
        ),
    ] {
        let (status, shown) = call(&app, "GET", &format!("/emails/provider{query}"), t, None).await;
        assert_eq!((status, &shown), (StatusCode::OK, &expected), "{query}");
    }

    // A patch names what changes; the password stays unless given, and is never shown.
    let (status, patched) = call(
        &app,
        "PATCH",
        "/emails/provider",
        t,
        Some(
            json!({"credentials": {"smtp_port": 465}, "settings": {"headers": {"X-Tag": "login"}}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["credentials"]["smtp_port"], 465);
    assert_eq!(patched["settings"]["headers"]["X-Tag"], "login");
    let stored = app.store.email_provider().await.unwrap().unwrap();
    assert_eq!(stored.smtp.pass.as_str(), "SMTP-SECRET");
    assert!(!patched.to_string().contains("SMTP-SECRET"));

    // Each operation needs its own scope.
    let reader = token_for(&app, &audience(&app), &["read:email_provider"]).await;
    for (method, body) in [
        ("POST", Some(json!({}))),
        ("PATCH", Some(json!({}))),
        ("DELETE", None),
    ] {
        let (status, answer) = call(&app, method, "/emails/provider", Some(&reader), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method}: {answer}");
    }

    let (status, _) = call(&app, "DELETE", "/emails/provider", t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = call(&app, "DELETE", "/emails/provider", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    assert_eq!(gone["message"], "Email provider does not exist.");
}
