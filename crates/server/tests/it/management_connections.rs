//! `/api/v2/connections`: database connections listed, read, made and re-optioned, and the new
//! options applied to signups.

use reqwest::StatusCode;
use serde_json::json;

use crate::app::TestApp;
use crate::management::{assert_error, audience, call, token_for};

#[tokio::test]
async fn database_connections_are_made_and_their_options_take_effect() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &[
            "read:connections",
            "create:connections",
            "update:connections",
            "create:users",
        ],
    )
    .await;
    let t = Some(token.as_str());

    let (status, all) = call(&app, "GET", "/connections?strategy=auth0", t, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all[0]["name"], "Username-Password-Authentication");
    assert_eq!(all[0]["options"]["passwordPolicy"], "fair");

    let (status, staff) = call(
        &app,
        "POST",
        "/connections",
        t,
        Some(json!({"name": "Staff", "strategy": "auth0", "options": {"passwordPolicy": "excellent", "password_complexity_options": {"min_length": 14}}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{staff}");
    let id = staff["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("con_"));
    assert_eq!(
        staff["options"]["password_complexity_options"]["min_length"],
        14
    );
    assert_eq!(
        call(&app, "GET", &format!("/connections/{id}"), t, None)
            .await
            .1,
        staff
    );
    let (_, named) = call(
        &app,
        "GET",
        "/connections?name=Staff&include_totals=true",
        t,
        None,
    )
    .await;
    assert_eq!(named["total"], 1, "{named}");

    // The connection's policy applies to users made in it.
    let user = |password: &str| json!({"connection": "Staff", "email": "sam@example.com", "password": password});
    assert_error(
        &call(&app, "POST", "/users", t, Some(user("Short-pass1!"))).await,
        400,
        "auth0_password_strength_error",
    );
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/connections/{id}"),
        t,
        Some(json!({"options": {"passwordPolicy": "low"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, sam) = call(&app, "POST", "/users", t, Some(user("Short-pass1!"))).await;
    assert_eq!(status, StatusCode::CREATED, "{sam}");
    assert_eq!(sam["identities"][0]["connection"], "Staff");

    for (method, path, body, status, code) in [
        (
            "POST",
            "/connections",
            json!({"name": "Staff", "strategy": "auth0"}),
            409,
            "conflict",
        ),
        (
            "POST",
            "/connections",
            json!({"name": "Google", "strategy": "google-oauth2"}),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/connections",
            json!({"name": "x", "strategy": "auth0", "enabled_clients": []}),
            400,
            "invalid_body",
        ),
        (
            "PATCH",
            "/connections/con_nope",
            json!({"options": {}}),
            404,
            "inexistent_connection",
        ),
        (
            "PATCH",
            &format!("/connections/{id}"),
            json!({"name": "Renamed"}),
            400,
            "invalid_body",
        ),
    ] {
        assert_error(&call(&app, method, path, t, Some(body)).await, status, code);
    }
    let reader = token_for(&app, &audience(&app), &["read:connections"]).await;
    assert_error(
        &call(
            &app,
            "POST",
            "/connections",
            Some(&reader),
            Some(json!({"name": "y", "strategy": "auth0"})),
        )
        .await,
        403,
        "insufficient_scope",
    );
}
