//! The Management API v2: token and scope checks, Auth0's error shape, roles, signing keys.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::model::{AppType, GrantType, LogQuery};

use crate::app::{Body, RBAC_API, TestApp, client, grant, post};

/// The Management API's audience at this Sigil.
pub(crate) fn audience(app: &TestApp) -> String {
    format!("{}api/v2/", app.base)
}

/// A machine token for the Management API with `scopes`, from a client made for it.
pub(crate) async fn token_for(app: &TestApp, audience: &str, scopes: &[&str]) -> String {
    token_asking(app, audience, audience, scopes).await
}

/// As [`token_for`], asking the token endpoint for `requested` as the audience.
pub(crate) async fn token_asking(
    app: &TestApp,
    audience: &str,
    requested: &str,
    scopes: &[&str],
) -> String {
    let mut resource = app
        .store
        .resource_server_by_identifier(audience)
        .await
        .unwrap()
        .unwrap();
    for scope in scopes {
        if !resource.scopes.iter().any(|s| s.value == *scope) {
            resource
                .scopes
                .push(sigil_core::model::ResourceServerScope {
                    value: (*scope).to_owned(),
                    description: String::new(),
                });
        }
    }
    app.store.update_resource_server(&resource).await.unwrap();
    let (id, secret) = client(
        &app.store,
        AppType::NonInteractive,
        vec![GrantType::ClientCredentials],
    )
    .await;
    grant(&app.store, &id, audience, scopes).await;
    // The token endpoint reads APIs through a 5-second cache.
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    let (status, _, body) = post(
        app,
        Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", id.to_string()),
            ("client_secret", secret.expose().to_owned()),
            ("audience", requested.to_owned()),
        ]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `method /api/v2/path` with `token` and a JSON body.
pub(crate) async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app.http.request(method, app.url(&format!("api/v2{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Asserts Auth0's error shape with this status and errorCode.
/// How many Management API writes were logged (`sapi` events).
pub(crate) async fn sapi_count(app: &TestApp) -> u64 {
    app.store
        .count_logs(&LogQuery {
            log_type: Some("sapi".into()),
            ..LogQuery::default()
        })
        .await
        .unwrap()
}

pub(crate) fn assert_error(answer: &(StatusCode, Value), status: u16, error_code: &str) {
    let (got, body) = answer;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(body["statusCode"], status, "{body}");
    assert_eq!(body["errorCode"], error_code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn every_operation_checks_the_token_and_its_scopes_first() {
    let app = TestApp::start().await;
    let readers = token_for(&app, &audience(&app), &["read:roles"]).await;
    // A token for another API, and one for the https form SDKs hard-code.
    let (other, _) = (
        {
            let (status, _, body) = post(
                &app,
                Body::Form(vec![
                    ("grant_type", "client_credentials".into()),
                    ("client_id", app.machine.0.to_string()),
                    ("client_secret", app.machine.1.expose().to_owned()),
                    ("audience", crate::app::API.into()),
                ]),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            body["access_token"].as_str().unwrap().to_owned()
        },
        (),
    );
    let https = audience(&app).replacen("http://", "https://", 1);
    let https_token = token_asking(&app, &audience(&app), &https, &["read:roles"]).await;

    for (name, token, status, code) in [
        ("no token", None, 401, Some("missing_token")),
        ("garbage", Some("abc.def.ghi"), 401, Some("invalid_token")),
        (
            "another API's token",
            Some(other.as_str()),
            401,
            Some("invalid_token"),
        ),
        ("read:roles", Some(readers.as_str()), 200, None),
        (
            "asked for as https://<host>/api/v2/",
            Some(https_token.as_str()),
            200,
            None,
        ),
    ] {
        let answer = call(&app, "GET", "/roles", token, None).await;
        match code {
            Some(code) => assert_error(&answer, status, code),
            None => assert_eq!(answer.0.as_u16(), status, "{name}: {}", answer.1),
        }
    }
    for (method, path, body) in [
        ("POST", "/roles", Some(json!({"name": "x"}))),
        ("DELETE", "/roles/rol_x", None),
        ("GET", "/keys/signing", None),
        ("POST", "/keys/signing/rotate", None),
    ] {
        let answer = call(&app, method, path, Some(&readers), body).await;
        assert_error(&answer, 403, "insufficient_scope");
        assert!(
            answer.1["message"]
                .as_str()
                .unwrap()
                .starts_with("Insufficient scope, expected any of: "),
            "{}",
            answer.1
        );
    }
}

#[tokio::test]
async fn roles_their_permissions_and_users() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &[
            "read:roles",
            "create:roles",
            "update:roles",
            "delete:roles",
            "read:users",
        ],
    )
    .await;
    let t = Some(token.as_str());

    let (status, editor) = call(
        &app,
        "POST",
        "/roles",
        t,
        Some(json!({"name": "editor", "description": "Edits"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{editor}");
    let id = editor["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("rol_"), "{editor}");
    assert_eq!(
        editor,
        json!({"id": id, "name": "editor", "description": "Edits"})
    );

    // Bad bodies are 400 naming the field; a taken name is 409.
    for (body, code) in [
        (json!({"name": "editor"}), (409, "conflict")),
        (json!({"name": "x", "colour": "red"}), (400, "invalid_body")),
        (json!({"description": "no name"}), (400, "invalid_body")),
        (json!({"name": ""}), (400, "invalid_body")),
        (json!({"name": 42}), (400, "invalid_body")),
    ] {
        let answer = call(&app, "POST", "/roles", t, Some(body.clone())).await;
        assert_error(&answer, code.0, code.1);
        if body.get("colour").is_some() {
            assert!(
                answer.1["message"].as_str().unwrap().contains("colour"),
                "{}",
                answer.1
            );
        }
    }

    // Listing: a bare array, with totals, filtered by name, paged.
    let (_, all) = call(&app, "GET", "/roles", t, None).await;
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"editor") && names.contains(&"reader"),
        "{all}"
    );
    let (_, totals) = call(
        &app,
        "GET",
        "/roles?include_totals=true&per_page=1&page=0",
        t,
        None,
    )
    .await;
    assert_eq!(
        (
            totals["start"].clone(),
            totals["limit"].clone(),
            totals["length"].clone(),
            totals["total"].clone()
        ),
        (json!(0), json!(1), json!(1), json!(2)),
        "{totals}"
    );
    let (_, last) = call(&app, "GET", "/roles?page=2&per_page=1", t, None).await;
    assert_eq!(last, json!([]), "paging ends with an empty page");
    let (_, filtered) = call(&app, "GET", "/roles?name_filter=EDIT", t, None).await;
    assert_eq!(filtered.as_array().unwrap().len(), 1, "{filtered}");
    assert_error(
        &call(&app, "GET", "/roles?per_page=101", t, None).await,
        400,
        "invalid_query_string",
    );
    assert_error(
        &call(&app, "GET", "/roles?sort=name", t, None).await,
        400,
        "invalid_query_string",
    );

    // Get, update, and the 404s.
    assert_eq!(
        call(&app, "GET", &format!("/roles/{id}"), t, None).await.1["name"],
        "editor"
    );
    let (status, patched) = call(
        &app,
        "PATCH",
        &format!("/roles/{id}"),
        t,
        Some(json!({"description": "Edits things"})),
    )
    .await;
    assert_eq!(
        (status, patched["description"].as_str()),
        (StatusCode::OK, Some("Edits things"))
    );
    assert_eq!(patched["name"], "editor");
    assert_error(
        &call(&app, "GET", "/roles/rol_nope", t, None).await,
        404,
        "inexistent_role",
    );
    assert_error(
        &call(
            &app,
            "PATCH",
            "/roles/rol_nope",
            t,
            Some(json!({"name": "n"})),
        )
        .await,
        404,
        "inexistent_role",
    );

    // Permissions: only scopes an API has.
    let write = json!({"permissions": [{"resource_server_identifier": RBAC_API, "permission_name": "write:r"}]});
    let (status, _) = call(
        &app,
        "POST",
        &format!("/roles/{id}/permissions"),
        t,
        Some(write.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, permissions) = call(&app, "GET", &format!("/roles/{id}/permissions"), t, None).await;
    assert_eq!(
        permissions,
        json!([{"permission_name": "write:r", "description": "", "resource_server_name": "RBAC", "resource_server_identifier": RBAC_API}])
    );
    let unknown_scope = json!({"permissions": [{"resource_server_identifier": RBAC_API, "permission_name": "fly"}]});
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/roles/{id}/permissions"),
            t,
            Some(unknown_scope),
        )
        .await,
        400,
        "invalid_body",
    );
    let unknown_api = json!({"permissions": [{"resource_server_identifier": "https://nope/", "permission_name": "x"}]});
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/roles/{id}/permissions"),
            t,
            Some(unknown_api),
        )
        .await,
        404,
        "inexistent_resource_server",
    );
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/roles/{id}/permissions"),
            t,
            Some(json!({"permissions": []})),
        )
        .await,
        400,
        "invalid_body",
    );

    // Users.
    let (status, _) = call(
        &app,
        "POST",
        &format!("/roles/{id}/users"),
        t,
        Some(json!({"users": [app.ann.as_str()]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, users) = call(&app, "GET", &format!("/roles/{id}/users"), t, None).await;
    assert_eq!(users[0]["user_id"], app.ann.as_str(), "{users}");
    assert_eq!(users[0]["email"], "ann@example.com");
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/roles/{id}/users"),
            t,
            Some(json!({"users": ["auth0|nobody"]})),
        )
        .await,
        404,
        "inexistent_user",
    );

    let (status, _) = call(
        &app,
        "DELETE",
        &format!("/roles/{id}/permissions"),
        t,
        Some(write),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        call(&app, "GET", &format!("/roles/{id}/permissions"), t, None)
            .await
            .1,
        json!([])
    );
    let (status, _) = call(&app, "DELETE", &format!("/roles/{id}"), t, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &call(&app, "GET", &format!("/roles/{id}"), t, None).await,
        404,
        "inexistent_role",
    );
    assert_error(
        &call(&app, "DELETE", &format!("/roles/{id}"), t, None).await,
        404,
        "inexistent_role",
    );

    // Every successful write was logged as `sapi`.
    let logged = sapi_count(&app).await;
    assert_eq!(
        logged, 6,
        "create, update, add and remove permissions, add users, delete"
    );
}

#[tokio::test]
async fn signing_keys_rotate_and_revoke() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &[
            "read:signing_keys",
            "create:signing_keys",
            "update:signing_keys",
        ],
    )
    .await;
    let t = Some(token.as_str());
    let (status, keys) = call(&app, "GET", "/keys/signing", t, None).await;
    assert_eq!(status, StatusCode::OK);
    let first = keys[0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(keys[0]["current"], true, "{keys}");
    assert!(keys[0].get("private_pkcs8").is_none() && !keys.to_string().contains("PRIVATE"));

    let (status, rotated) = call(&app, "POST", "/keys/signing/rotate", t, None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new, first);
    let (_, old) = call(&app, "GET", &format!("/keys/signing/{first}"), t, None).await;
    assert_eq!(
        (old["previous"].clone(), old["current"].clone()),
        (json!(true), json!(false)),
        "{old}"
    );
    // This node signs with the new key at once.
    let fresh = token_for(&app, &audience(&app), &["read:signing_keys"]).await;
    let header = sigil_jose::insecure_decode(&fresh).unwrap().header;
    assert_eq!(header["kid"], new.as_str());

    assert_error(
        &call(&app, "PUT", &format!("/keys/signing/{new}/revoke"), t, None).await,
        404,
        "inexistent_key",
    );
    let (status, revoked) = call(
        &app,
        "PUT",
        &format!("/keys/signing/{first}/revoke"),
        t,
        None,
    )
    .await;
    assert_eq!(
        (status, revoked["kid"].as_str()),
        (StatusCode::OK, Some(first.as_str()))
    );
    let jwks: Value = app
        .http
        .get(app.url(".well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !jwks.to_string().contains(&first),
        "a revoked key leaves the JWKS"
    );
    // The token signed by the revoked key no longer works; a fresh one does.
    assert_error(
        &call(&app, "GET", "/keys/signing", t, None).await,
        401,
        "invalid_token",
    );
    assert_error(
        &call(&app, "GET", "/keys/signing/nope", Some(&fresh), None).await,
        404,
        "inexistent_key",
    );
}

#[tokio::test]
async fn a_role_changed_through_the_api_changes_the_next_token_not_the_current_one() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["read:roles", "update:roles"]).await;
    let t = Some(token.as_str());
    let ann_token = || async {
        let (status, _, body) = post(
            &app,
            crate::password::login(
                &app,
                json!({"audience": RBAC_API, "scope": "read:r write:r", "username": "ann@example.com"}),
            ),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims = sigil_jose::insecure_decode(body["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
        (body["scope"].clone(), claims["permissions"].clone())
    };
    let before = ann_token().await;
    assert_eq!(before, (json!("read:r"), json!(["read:r"])));

    let (_, roles) = call(&app, "GET", "/roles?name_filter=reader", t, None).await;
    let reader = roles[0]["id"].as_str().unwrap().to_owned();
    let write = json!({"permissions": [{"resource_server_identifier": RBAC_API, "permission_name": "write:r"}]});
    let (status, _) = call(
        &app,
        "POST",
        &format!("/roles/{reader}/permissions"),
        t,
        Some(write),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The next token carries the new permission; the one issued before is a signed JWT that
    // keeps what it says until it expires.
    assert_eq!(
        ann_token().await,
        (json!("read:r write:r"), json!(["read:r", "write:r"]))
    );
}

#[tokio::test]
async fn each_client_has_a_rate_limit_with_auth0s_headers() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["read:roles"]).await;
    let other = token_for(&app, &audience(&app), &["read:roles"]).await;
    let get = |token: String| {
        let app = &app;
        async move {
            let response = app
                .http
                .get(app.url("api/v2/roles"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let header = |name: &str| {
                response.headers()[name]
                    .to_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
            };
            let seen = (
                header("x-ratelimit-limit"),
                header("x-ratelimit-remaining"),
                header("x-ratelimit-reset"),
            );
            (response.status(), seen, response.text().await.unwrap())
        }
    };
    let now = app.clock_now();
    let (status, (limit, remaining, reset), _) = get(token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(remaining, limit - 1);
    assert!(reset > now, "{reset}");
    for _ in 1..limit {
        assert_eq!(get(token.clone()).await.0, StatusCode::OK);
    }
    // The bucket is empty: 429 in Auth0's shape, while another client is unaffected.
    let (status, (_, remaining, reset), body) = get(token.clone()).await;
    assert_eq!((status, remaining), (StatusCode::TOO_MANY_REQUESTS, 0));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (body["statusCode"].clone(), body["errorCode"].clone()),
        (json!(429), json!("too_many_requests"))
    );
    assert_eq!(get(other).await.0, StatusCode::OK);
    // Time refills it.
    app.clock.advance(reset - app.clock_now());
    let (status, (limit, remaining, _), _) = get(token).await;
    assert_eq!((status, remaining), (StatusCode::OK, limit - 1));
}

#[tokio::test]
async fn the_openapi_document_lists_each_operation_with_the_scopes_it_checks() {
    let app = TestApp::start().await;
    let document: Value = app
        .http
        .get(app.url("api/v2/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], format!("{}api/v2", app.base));
    let unrelated = token_for(&app, &audience(&app), &["read:stats"]).await;
    let mut tokens: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut operations = 0;
    for (path, methods) in document["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            operations += 1;
            let scope = operation["x-scopes"][0].as_str().unwrap().to_owned();
            if !tokens.contains_key(&scope) {
                let token = token_for(&app, &audience(&app), &[scope.as_str()]).await;
                tokens.insert(scope.clone(), token);
            }
            let concrete = path.replace("{id}", "x").replace("{kid}", "x");
            let body = matches!(method.as_str(), "post" | "patch" | "put").then(|| json!({}));
            let name = format!("{method} {path}");
            // With an unrelated scope: 403, so the handler checks scopes.
            let refused = call(
                &app,
                &method.to_uppercase(),
                &concrete,
                Some(&unrelated),
                body.clone(),
            )
            .await;
            assert_error(&refused, 403, "insufficient_scope");
            // With the documented scope: past the scope check (whatever the dummy input earns).
            let (status, answer) = call(
                &app,
                &method.to_uppercase(),
                &concrete,
                Some(&tokens[&scope]),
                body,
            )
            .await;
            assert_ne!(
                status,
                StatusCode::FORBIDDEN,
                "{name} refuses its documented scope {scope}: {answer}"
            );
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{name}");
            if status == StatusCode::NOT_FOUND {
                assert!(
                    answer["errorCode"].is_string(),
                    "{name} is not routed: {answer}"
                );
            }
        }
    }
    assert!(operations >= 50, "{operations} operations");
}
