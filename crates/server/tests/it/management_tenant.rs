//! `/api/v2/tenants/settings`: read, patch, and the patch taking effect.

use reqwest::StatusCode;
use serde_json::json;

use crate::app::{API, TestApp};
use crate::management::{assert_error, audience, call, token_for};

#[tokio::test]
async fn tenant_settings_are_read_and_patched_and_take_effect() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &["read:tenant_settings", "update:tenant_settings"],
    )
    .await;
    let t = Some(token.as_str());
    let (status, settings) = call(&app, "GET", "/tenants/settings", t, None).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["friendly_name"], "Sigil");
    assert_eq!(settings["flags"]["allow_legacy_tokeninfo_endpoint"], false);

    let tokeninfo = || async {
        app.http
            .post(app.url("tokeninfo"))
            .json(&json!({"id_token": "a.b.c"}))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(tokeninfo().await, StatusCode::NOT_FOUND, "off by default");

    let (status, patched) = call(
        &app,
        "PATCH",
        "/tenants/settings",
        t,
        Some(json!({"friendly_name": "Acme", "default_audience": API, "flags": {"allow_legacy_tokeninfo_endpoint": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["friendly_name"], "Acme");
    assert_eq!(patched["default_audience"], API);
    assert_eq!(patched["flags"]["allow_legacy_tokeninfo_endpoint"], true);
    assert_eq!(
        patched["flags"]["allow_legacy_delegation_grant_types"], false,
        "other flags kept"
    );
    assert_ne!(
        tokeninfo().await,
        StatusCode::NOT_FOUND,
        "the switch took effect"
    );
    assert_eq!(
        call(&app, "GET", "/tenants/settings", t, None).await.1,
        patched
    );

    for (body, mention) in [
        (
            json!({"default_audience": "https://nobody.example.com/"}),
            "default_audience",
        ),
        (json!({"issuer": "https://evil.example.com/"}), "issuer"),
        (json!({"session_lifetime": 0}), "session_lifetime"),
        (
            json!({"flags": {"enable_pipeline2": true}}),
            "enable_pipeline2",
        ),
    ] {
        let answer = call(&app, "PATCH", "/tenants/settings", t, Some(body.clone())).await;
        assert_error(&answer, 400, "invalid_body");
        assert!(
            answer.1["message"].as_str().unwrap().contains(mention),
            "{body}: {}",
            answer.1
        );
    }
    let reader = token_for(&app, &audience(&app), &["read:tenant_settings"]).await;
    assert_error(
        &call(
            &app,
            "PATCH",
            "/tenants/settings",
            Some(&reader),
            Some(json!({"friendly_name": "x"})),
        )
        .await,
        403,
        "insufficient_scope",
    );
}
