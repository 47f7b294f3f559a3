//! `/api/v2/client-grants`: grants created, listed and filtered, changed and deleted over HTTP,
//! and the token endpoint following them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{API, Body, RBAC_API, TestApp, post};
use crate::management::{assert_error, audience, call, sapi_count, token_for};

const ALL: &[&str] = &[
    "read:client_grants",
    "create:client_grants",
    "update:client_grants",
    "delete:client_grants",
];

/// A client-credentials token request for the test app's ungranted client.
async fn ungranted_token(app: &TestApp, audience: &str) -> (StatusCode, Value) {
    let (status, _, body) = post(
        app,
        Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", app.ungranted.0.to_string()),
            ("client_secret", app.ungranted.1.expose().to_owned()),
            ("audience", audience.into()),
        ]),
        None,
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn client_grants_are_created_listed_changed_and_deleted() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), ALL).await;
    let t = Some(token.as_str());
    let client = app.ungranted.0.as_str();
    assert_eq!(ungranted_token(&app, API).await.0, StatusCode::FORBIDDEN);

    let (status, grant) = call(
        &app,
        "POST",
        "/client-grants",
        t,
        Some(
            json!({"client_id": client, "audience": API, "scope": ["read:a", "write:a", "read:a"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    let id = grant["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cgr_"), "{grant}");
    assert_eq!(
        grant,
        json!({"id": id, "client_id": client, "audience": API, "scope": ["read:a", "write:a"]})
    );
    // The token endpoint follows at once (a miss is never cached).
    let (status, body) = ungranted_token(&app, API).await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (StatusCode::OK, Some("read:a write:a")),
        "{body}"
    );

    // The refusals.
    for (name, body, status, code, mentions) in [
        (
            "a second grant for the same client and API",
            json!({"client_id": client, "audience": API, "scope": []}),
            409,
            "conflict",
            "already exists",
        ),
        (
            "unknown client",
            json!({"client_id": "nobody", "audience": API}),
            404,
            "inexistent_client",
            "nobody",
        ),
        (
            "unknown API",
            json!({"client_id": client, "audience": "https://nope.example.com/"}),
            404,
            "inexistent_resource_server",
            "https://nope.example.com/",
        ),
        (
            "a scope the API does not define",
            json!({"client_id": client, "audience": RBAC_API, "scope": ["read:r", "fly"]}),
            400,
            "invalid_body",
            "fly",
        ),
        (
            "unknown field",
            json!({"client_id": client, "audience": RBAC_API, "organization_usage": "deny"}),
            400,
            "invalid_body",
            "organization_usage",
        ),
        (
            "no audience",
            json!({"client_id": client}),
            400,
            "invalid_body",
            "audience",
        ),
        (
            "empty audience",
            json!({"client_id": client, "audience": ""}),
            400,
            "invalid_body",
            "audience",
        ),
        (
            "scope not a list",
            json!({"client_id": client, "audience": RBAC_API, "scope": "read:r"}),
            400,
            "invalid_body",
            "scope",
        ),
    ] {
        let answer = call(&app, "POST", "/client-grants", t, Some(body)).await;
        assert_error(&answer, status, code);
        assert!(
            answer.1["message"].as_str().unwrap().contains(mentions),
            "{name}: {}",
            answer.1
        );
    }

    // A grant for the Management API named by its https form is filed under its identifier.
    // (A second later, so that listings, oldest first, have an order to show.)
    app.clock.advance(1);
    let https = audience(&app).replacen("http://", "https://", 1);
    let (status, management) = call(
        &app,
        "POST",
        "/client-grants",
        t,
        Some(json!({"client_id": client, "audience": https, "scope": ["read:users"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{management}");
    assert_eq!(management["audience"], audience(&app));

    // Listing: everything, by client, by audience, with totals, paged.
    let (status, all) = call(&app, "GET", "/client-grants", t, None).await;
    assert_eq!(status, StatusCode::OK);
    let before = all.as_array().unwrap().len();
    assert!(before >= 5, "the test app's grants and these two: {all}");
    let (_, mine) = call(
        &app,
        "GET",
        &format!("/client-grants?client_id={client}"),
        t,
        None,
    )
    .await;
    assert_eq!(
        mine.as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [id.as_str(), management["id"].as_str().unwrap()],
        "{mine}"
    );
    let (_, for_api) = call(
        &app,
        "GET",
        &format!("/client-grants?audience={API}&client_id={client}"),
        t,
        None,
    )
    .await;
    assert_eq!(for_api, json!([grant]));
    let (_, on_api) = call(
        &app,
        "GET",
        &format!("/client-grants?audience={API}"),
        t,
        None,
    )
    .await;
    assert!(
        on_api
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["audience"] == API),
        "{on_api}"
    );
    let (_, totals) = call(
        &app,
        "GET",
        &format!("/client-grants?client_id={client}&include_totals=true&per_page=1&page=1"),
        t,
        None,
    )
    .await;
    assert_eq!(
        [
            &totals["start"],
            &totals["limit"],
            &totals["length"],
            &totals["total"]
        ],
        [&json!(1), &json!(1), &json!(1), &json!(2)],
        "{totals}"
    );
    assert_eq!(totals["client_grants"][0]["id"], management["id"]);
    let (_, none) = call(&app, "GET", "/client-grants?client_id=nobody", t, None).await;
    assert_eq!(none, json!([]));
    assert_error(
        &call(&app, "GET", "/client-grants?scope=read:a", t, None).await,
        400,
        "invalid_query_string",
    );

    // Read and change.
    assert_eq!(
        call(&app, "GET", &format!("/client-grants/{id}"), t, None)
            .await
            .1,
        grant
    );
    let (status, changed) = call(
        &app,
        "PATCH",
        &format!("/client-grants/{id}"),
        t,
        Some(json!({"scope": ["delete:a"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["scope"], json!(["delete:a"]));
    assert_eq!(
        call(&app, "GET", &format!("/client-grants/{id}"), t, None)
            .await
            .1["scope"],
        json!(["delete:a"])
    );
    for (body, status, code) in [
        (json!({"scope": ["fly"]}), 400, "invalid_body"),
        (json!({"audience": RBAC_API}), 400, "invalid_body"),
    ] {
        assert_error(
            &call(
                &app,
                "PATCH",
                &format!("/client-grants/{id}"),
                t,
                Some(body),
            )
            .await,
            status,
            code,
        );
    }
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"scope": []}))),
        ("DELETE", None),
    ] {
        assert_error(
            &call(&app, method, "/client-grants/cgr_nope", t, body).await,
            404,
            "inexistent_client_grant",
        );
    }

    // Delete: the token endpoint refuses once its cache has moved on.
    let (status, body) = call(&app, "DELETE", &format!("/client-grants/{id}"), t, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_error(
        &call(&app, "GET", &format!("/client-grants/{id}"), t, None).await,
        404,
        "inexistent_client_grant",
    );
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    assert_eq!(ungranted_token(&app, API).await.0, StatusCode::FORBIDDEN);

    let logged = sapi_count(&app).await;
    assert_eq!(logged, 4, "two creations, one change, one deletion");
}

#[tokio::test]
async fn each_grant_operation_needs_its_scope() {
    let app = TestApp::start().await;
    let reader = token_for(&app, &audience(&app), &["read:client_grants"]).await;
    let t = Some(reader.as_str());
    assert_eq!(
        call(&app, "GET", "/client-grants", t, None).await.0,
        StatusCode::OK
    );
    for (method, path, body) in [
        (
            "POST",
            "/client-grants",
            Some(json!({"client_id": app.ungranted.0.as_str(), "audience": API})),
        ),
        ("PATCH", "/client-grants/cgr_x", Some(json!({"scope": []}))),
        ("DELETE", "/client-grants/cgr_x", None),
    ] {
        assert_error(
            &call(&app, method, path, t, body).await,
            403,
            "insufficient_scope",
        );
    }
    let writer = token_for(&app, &audience(&app), &["create:client_grants"]).await;
    assert_error(
        &call(&app, "GET", "/client-grants", Some(&writer), None).await,
        403,
        "insufficient_scope",
    );
}
