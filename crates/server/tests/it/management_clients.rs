//! `/api/v2/clients`: create, read (scoped views, projection, filters, paging), update, delete,
//! and secret rotation seen from the token endpoint.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Page;
use sigil_core::Store;
use sigil_core::ids::ClientId;

use crate::app::{API, Body, TestApp, grant, post};
use crate::management::{assert_error, audience, call, sapi_count, token_for};

const ALL: &[&str] = &[
    "read:clients",
    "create:clients",
    "update:clients",
    "delete:clients",
    "update:client_keys",
];

async fn machine_token(app: &TestApp, id: &str, secret: &str) -> (StatusCode, Value) {
    let (status, _, body) = post(
        app,
        Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", id.to_owned()),
            ("client_secret", secret.to_owned()),
            ("audience", API.into()),
        ]),
        None,
    )
    .await;
    (status, body)
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn create_read_list_update_delete() {
    let app = TestApp::start().await;
    let admin = token_for(&app, &audience(&app), ALL).await;
    let t = Some(admin.as_str());
    let logged_before = sapi_count(&app).await;

    // A machine client gets a secret, shown once, and the type's defaults.
    let (status, m2m) = call(
        &app,
        "POST",
        "/clients",
        t,
        Some(json!({"name": "Billing", "app_type": "non_interactive", "client_metadata": {"team": "pay"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{m2m}");
    let m2m_id = m2m["client_id"].as_str().unwrap().to_owned();
    assert_eq!(m2m_id.len(), 32);
    assert_eq!(m2m["client_secret"].as_str().unwrap().len(), 64);
    assert_eq!(m2m["grant_types"], json!(["client_credentials"]));
    assert_eq!(m2m["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(m2m["jwt_configuration"]["alg"], "RS256");
    assert_eq!(m2m["client_metadata"], json!({"team": "pay"}));
    assert_eq!(m2m["is_first_party"], true);

    // A single-page app is public: no secret, no authentication, rotating refresh tokens.
    let (status, spa) = call(
        &app,
        "POST",
        "/clients",
        t,
        Some(json!({
            "name": "Shop",
            "app_type": "spa",
            "callbacks": ["https://shop.example.com/cb"],
            "web_origins": ["https://shop.example.com/"],
            "is_first_party": false,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{spa}");
    let spa_id = spa["client_id"].as_str().unwrap().to_owned();
    assert!(spa.get("client_secret").is_none(), "{spa}");
    assert_eq!(spa["token_endpoint_auth_method"], "none");
    assert_eq!(spa["refresh_token"]["rotation_type"], "rotating");
    assert_eq!(spa["web_origins"], json!(["https://shop.example.com"]));

    // Bad bodies: 400 with Auth0's code, the message naming what is wrong.
    for (body, named) in [
        (json!({"name": "x", "colour": "red"}), "colour"),
        (json!({"app_type": "spa"}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "x", "app_type": "tv"}), "tv"),
        (
            json!({"name": "x", "app_type": "spa", "grant_types": ["client_credentials"]}),
            "client_credentials",
        ),
        (
            json!({"name": "x", "grant_types": ["telepathy"]}),
            "telepathy",
        ),
        (
            json!({"name": "x", "callbacks": ["/relative"]}),
            "callbacks[0]",
        ),
        (
            json!({"name": "x", "callbacks": ["https://a.example/ok", "https://a.example/#frag"]}),
            "callbacks[1]",
        ),
        (
            json!({"name": "x", "callbacks": ["com.example.app:/cb"]}),
            "native",
        ),
        (
            json!({"name": "x", "web_origins": ["https://a.example/path"]}),
            "web_origins[0]",
        ),
        (
            json!({"name": "x", "jwt_configuration": {"alg": "ES256"}}),
            "alg",
        ),
        (
            json!({"name": "x", "jwt_configuration": {"alg": "none"}}),
            "none",
        ),
        (
            json!({"name": "x", "jwt_configuration": {"secret_encoded": true}}),
            "secret_encoded",
        ),
        (
            json!({"name": "x", "app_type": "native", "jwt_configuration": {"alg": "HS256"}}),
            "HS256",
        ),
        (
            json!({"name": "x", "token_endpoint_auth_method": "none"}),
            "confidential",
        ),
        (
            json!({"name": "x", "app_type": "spa", "token_endpoint_auth_method": "client_secret_basic"}),
            "public",
        ),
        (
            json!({"name": "x", "token_endpoint_auth_method": "private_key_jwt"}),
            "private_key_jwt",
        ),
        (
            json!({"name": "x", "refresh_token": {"leeway": 61}}),
            "leeway",
        ),
        (
            json!({"name": "x", "client_metadata": (0..11).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
            "client_metadata",
        ),
        (
            json!({"name": "x", "description": "d".repeat(141)}),
            "description",
        ),
    ] {
        let answer = call(&app, "POST", "/clients", t, Some(body.clone())).await;
        assert_error(&answer, 400, "invalid_body");
        assert!(
            answer.1["message"].as_str().unwrap().contains(named),
            "{body}: {}",
            answer.1
        );
    }

    // Reading: the secret is never shown to read:clients; projection; 404.
    let (status, got) = call(&app, "GET", &format!("/clients/{m2m_id}"), t, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got.get("client_secret").is_none(), "{got}");
    let mut expected = m2m.clone();
    expected.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(got, expected);
    let (_, some) = call(
        &app,
        "GET",
        &format!("/clients/{m2m_id}?fields=name,jwt_configuration.alg&include_fields=true"),
        t,
        None,
    )
    .await;
    assert_eq!(
        some,
        json!({"name": "Billing", "jwt_configuration": {"alg": "RS256"}})
    );
    let (_, without) = call(
        &app,
        "GET",
        &format!("/clients/{m2m_id}?fields=callbacks,refresh_token&include_fields=false"),
        t,
        None,
    )
    .await;
    assert!(without.get("callbacks").is_none() && without.get("refresh_token").is_none());
    assert_eq!(without["name"], "Billing");
    assert_error(
        &call(&app, "GET", "/clients/nope", t, None).await,
        404,
        "inexistent_client",
    );
    assert_error(
        &call(
            &app,
            "GET",
            &format!("/clients/{m2m_id}?colour=red"),
            t,
            None,
        )
        .await,
        400,
        "invalid_query_string",
    );
    let summary = token_for(&app, &audience(&app), &["read:client_summary"]).await;
    let (_, seen) = call(
        &app,
        "GET",
        &format!("/clients/{spa_id}"),
        Some(&summary),
        None,
    )
    .await;
    assert_eq!(keys(&seen), ["app_type", "client_id", "name"], "{seen}");

    // Listing: a bare array, with totals, filtered, paged.
    let (_, all) = call(&app, "GET", "/clients", t, None).await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&m2m_id.as_str()) && ids.contains(&spa_id.as_str()));
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("client_secret").is_none())
    );
    let (_, spas) = call(&app, "GET", "/clients?app_type=spa,native", t, None).await;
    assert!(
        spas.as_array()
            .unwrap()
            .iter()
            .all(|c| c["app_type"] != "non_interactive")
    );
    assert!(spas.to_string().contains(&spa_id));
    let (_, third) = call(
        &app,
        "GET",
        "/clients?is_first_party=false&fields=client_id",
        t,
        None,
    )
    .await;
    assert_eq!(third, json!([{"client_id": spa_id}]));
    let (_, paged) = call(
        &app,
        "GET",
        "/clients?include_totals=true&per_page=1&page=1&app_type=spa,non_interactive",
        t,
        None,
    )
    .await;
    let total = paged["total"].as_u64().unwrap();
    assert!(total >= 2, "{paged}");
    assert_eq!(
        (
            paged["start"].clone(),
            paged["limit"].clone(),
            paged["length"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "{paged}"
    );
    assert_eq!(paged["clients"].as_array().unwrap().len(), 1);
    let (_, past) = call(
        &app,
        "GET",
        &format!("/clients?page={total}&per_page=1&app_type=spa,non_interactive"),
        t,
        None,
    )
    .await;
    assert_eq!(past, json!([]));
    assert_error(
        &call(&app, "GET", "/clients?app_type=tv", t, None).await,
        400,
        "invalid_query_string",
    );

    // Updating merges what is given; the rules apply to the result.
    let (status, patched) = call(
        &app,
        "PATCH",
        &format!("/clients/{spa_id}"),
        t,
        Some(json!({
            "name": "Shop 2",
            "allowed_logout_urls": ["https://shop.example.com/bye"],
            "jwt_configuration": {"lifetime_in_seconds": 600},
            "refresh_token": {"leeway": 10},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Shop 2");
    assert_eq!(patched["callbacks"], json!(["https://shop.example.com/cb"]));
    assert_eq!(
        patched["allowed_logout_urls"],
        json!(["https://shop.example.com/bye"])
    );
    assert_eq!(
        patched["jwt_configuration"],
        json!({"alg": "RS256", "lifetime_in_seconds": 600})
    );
    assert_eq!(patched["refresh_token"]["leeway"], 10);
    assert_eq!(patched["refresh_token"]["rotation_type"], "rotating");
    assert!(patched.get("client_secret").is_none());
    let stored = app
        .store
        .client(&ClientId(spa_id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Shop 2");
    for (body, status, code) in [
        (json!({"colour": "red"}), 400, "invalid_body"),
        (
            json!({"grant_types": ["client_credentials"]}),
            400,
            "invalid_body",
        ),
        (
            json!({"jwt_configuration": {"alg": "HS256"}}),
            400,
            "invalid_body",
        ),
    ] {
        let answer = call(&app, "PATCH", &format!("/clients/{spa_id}"), t, Some(body)).await;
        assert_error(&answer, status, code);
    }
    assert_error(
        &call(
            &app,
            "PATCH",
            "/clients/nope",
            t,
            Some(json!({"name": "n"})),
        )
        .await,
        404,
        "inexistent_client",
    );

    // Deleting: 204, then 404.
    let (status, body) = call(&app, "DELETE", &format!("/clients/{spa_id}"), t, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_error(
        &call(&app, "GET", &format!("/clients/{spa_id}"), t, None).await,
        404,
        "inexistent_client",
    );
    assert_error(
        &call(&app, "DELETE", &format!("/clients/{spa_id}"), t, None).await,
        404,
        "inexistent_client",
    );

    // Each scope is checked: a reader can neither write nor delete.
    let reader = token_for(&app, &audience(&app), &["read:clients"]).await;
    for (method, path, body) in [
        ("POST", "/clients".to_owned(), Some(json!({"name": "x"}))),
        (
            "PATCH",
            format!("/clients/{m2m_id}"),
            Some(json!({"name": "x"})),
        ),
        ("DELETE", format!("/clients/{m2m_id}"), None),
        ("POST", format!("/clients/{m2m_id}/rotate-secret"), None),
    ] {
        let answer = call(&app, method, &path, Some(&reader), body).await;
        assert_error(&answer, 403, "insufficient_scope");
    }
    let key_updater = token_for(&app, &audience(&app), &["update:client_keys"]).await;
    assert_error(
        &call(
            &app,
            "PATCH",
            &format!("/clients/{m2m_id}"),
            Some(&key_updater),
            Some(json!({"name": "x"})),
        )
        .await,
        403,
        "insufficient_scope",
    );
    assert_error(
        &call(&app, "GET", "/clients", Some(&key_updater), None).await,
        403,
        "insufficient_scope",
    );

    assert_eq!(
        sapi_count(&app).await - logged_before,
        4,
        "two creates, one update, one delete"
    );
}

#[tokio::test]
async fn rotating_a_secret_stops_the_old_one_at_once() {
    let app = TestApp::start().await;
    let admin = token_for(&app, &audience(&app), ALL).await;
    let t = Some(admin.as_str());
    let (_, created) = call(
        &app,
        "POST",
        "/clients",
        t,
        Some(json!({"name": "Worker", "app_type": "non_interactive"})),
    )
    .await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let old = created["client_secret"].as_str().unwrap().to_owned();
    grant(&app.store, &ClientId(id.clone()), API, &["read:a"]).await;
    // The token endpoint now holds the client in its cache.
    assert_eq!(machine_token(&app, &id, &old).await.0, StatusCode::OK);

    let (status, rotated) = call(
        &app,
        "POST",
        &format!("/clients/{id}/rotate-secret"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(rotated["client_id"], id.as_str());

    // At once on this node, with no clock moved; and still after the cache's lifetime.
    let (status, body) = machine_token(&app, &id, &old).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert_eq!(machine_token(&app, &id, &new).await.0, StatusCode::OK);
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    assert_eq!(
        machine_token(&app, &id, &old).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(machine_token(&app, &id, &new).await.0, StatusCode::OK);

    // Reads never show a digest-only secret, whatever the scope.
    let key_reader = token_for(&app, &audience(&app), &["read:client_keys"]).await;
    let (_, seen) = call(
        &app,
        "GET",
        &format!("/clients/{id}"),
        Some(&key_reader),
        None,
    )
    .await;
    assert!(seen.get("client_secret").is_none(), "{seen}");

    // Public clients have nothing to rotate; unknown ones are 404.
    let (_, spa) = call(
        &app,
        "POST",
        "/clients",
        t,
        Some(json!({"name": "Page", "app_type": "spa"})),
    )
    .await;
    let spa_id = spa["client_id"].as_str().unwrap();
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/clients/{spa_id}/rotate-secret"),
            t,
            None,
        )
        .await,
        400,
        "invalid_body",
    );
    assert_error(
        &call(&app, "POST", "/clients/nope/rotate-secret", t, None).await,
        404,
        "inexistent_client",
    );
}

#[tokio::test]
async fn hs256_clients_keep_a_secret_to_sign_with() {
    let app = TestApp::start().await;
    let admin = token_for(&app, &audience(&app), ALL).await;
    let t = Some(admin.as_str());
    let (_, created) = call(
        &app,
        "POST",
        "/clients",
        t,
        Some(json!({"name": "Portal", "app_type": "regular_web", "callbacks": ["https://portal.example.com/cb"]})),
    )
    .await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let first = created["client_secret"].as_str().unwrap().to_owned();

    // Sigil kept only the digest of the RS256 client's secret: switching to HS256 makes a new
    // one, shown in the answer, and the old one stops working.
    let (status, patched) = call(
        &app,
        "PATCH",
        &format!("/clients/{id}"),
        t,
        Some(json!({"jwt_configuration": {"alg": "HS256"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let signing = patched["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(signing, first);
    let stored = app
        .store
        .client(&ClientId(id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.signing_secret.as_ref().map(|s| s.expose()),
        Some(signing.as_str())
    );
    assert!(stored.secret_digest.as_ref().unwrap().matches(&signing));
    assert!(!stored.secret_digest.as_ref().unwrap().matches(&first));

    // read:client_keys sees the kept secret; read:clients does not.
    let key_reader = token_for(&app, &audience(&app), &["read:client_keys"]).await;
    let (_, seen) = call(
        &app,
        "GET",
        &format!("/clients/{id}"),
        Some(&key_reader),
        None,
    )
    .await;
    assert_eq!(seen["client_secret"], signing.as_str());
    let (_, seen) = call(&app, "GET", &format!("/clients/{id}"), t, None).await;
    assert!(seen.get("client_secret").is_none());

    // Rotation seals the new secret too; back to RS256, the sealed copy is dropped.
    let (_, rotated) = call(
        &app,
        "POST",
        &format!("/clients/{id}/rotate-secret"),
        t,
        None,
    )
    .await;
    let rotated = rotated["client_secret"].as_str().unwrap().to_owned();
    let stored = app
        .store
        .client(&ClientId(id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.signing_secret.as_ref().map(|s| s.expose()),
        Some(rotated.as_str())
    );
    let (_, back) = call(
        &app,
        "PATCH",
        &format!("/clients/{id}"),
        t,
        Some(json!({"jwt_configuration": {"alg": "RS256"}})),
    )
    .await;
    assert!(back.get("client_secret").is_none(), "{back}");
    let stored = app
        .store
        .client(&ClientId(id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.signing_secret.is_none());
    assert!(stored.secret_digest.as_ref().unwrap().matches(&rotated));
}

#[tokio::test]
async fn deleting_a_client_deletes_its_grants() {
    let app = TestApp::start().await;
    let admin = token_for(&app, &audience(&app), ALL).await;
    let t = Some(admin.as_str());
    let (_, created) = call(
        &app,
        "POST",
        "/clients",
        t,
        Some(json!({"name": "Doomed", "app_type": "non_interactive"})),
    )
    .await;
    let id = ClientId(created["client_id"].as_str().unwrap().to_owned());
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    grant(&app.store, &id, API, &["read:a"]).await;
    assert_eq!(machine_token(&app, &id.0, &secret).await.0, StatusCode::OK);

    let (status, _) = call(&app, "DELETE", &format!("/clients/{}", id.0), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let grants = app
        .store
        .list_client_grants(Some(&id), None, Page::new(0, 10))
        .await
        .unwrap();
    assert!(grants.is_empty());
    // Gone from the token endpoint at once, cache or not.
    assert_eq!(
        machine_token(&app, &id.0, &secret).await.0,
        StatusCode::UNAUTHORIZED
    );
}
