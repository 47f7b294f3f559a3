//! `/api/v2/users`: list and search, create, get, patch, delete, by email, roles, permissions.

use reqwest::StatusCode;
use serde_json::json;

use crate::app::{PASSWORD, RBAC_API, TestApp, post};
use crate::management::{assert_error, audience, call, token_for};

const ALL: &[&str] = &[
    "read:users",
    "create:users",
    "update:users",
    "delete:users",
    "read:roles",
    "create:role_members",
    "delete:role_members",
];

/// Logs in as `username` with the password grant; the status says whether it worked.
async fn login(app: &TestApp, username: &str, password: &str) -> StatusCode {
    let (status, _, _) = post(
        app,
        crate::password::login(app, json!({"username": username, "password": password})),
        None,
    )
    .await;
    status
}

#[tokio::test]
async fn users_are_created_read_patched_and_deleted_as_auth0_does() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), ALL).await;
    let t = Some(token.as_str());

    let new = json!({
        "connection": "Username-Password-Authentication",
        "email": "Cy@Example.com",
        "password": "Another-fine-pass 42",
        "email_verified": true,
        "user_metadata": {"theme": "dark", "lang": "en"},
        "app_metadata": {"plan": "pro"},
        "given_name": "Cy",
    });
    let (status, cy) = call(&app, "POST", "/users", t, Some(new.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{cy}");
    let id = cy["user_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("auth0|"), "{cy}");
    assert_eq!(cy["email_verified"], true);
    assert_eq!(cy["user_metadata"], json!({"theme": "dark", "lang": "en"}));
    assert_eq!(
        cy["identities"][0]["connection"],
        "Username-Password-Authentication"
    );
    assert!(
        cy["created_at"].as_str().unwrap().ends_with(".000Z"),
        "{cy}"
    );
    assert!(!cy.to_string().contains("argon2"), "no hash in the answer");
    // The new user logs in with the password given, and not with another.
    assert_eq!(
        login(&app, "cy@example.com", "Another-fine-pass 42").await,
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "cy@example.com", PASSWORD).await,
        StatusCode::FORBIDDEN
    );

    // Refusals, each naming what is wrong.
    for (body, status, code, mentions) in [
        (new.clone(), 409, "auth0_idp_error", "already exists"),
        (
            json!({"connection": "Nope", "email": "a@b.c", "password": "x y z w v u"}),
            400,
            "inexistent_connection",
            "connection",
        ),
        (
            json!({"connection": "Username-Password-Authentication", "email": "d@e.f", "password": "short"}),
            400,
            "auth0_password_strength_error",
            "PasswordStrengthError",
        ),
        (
            json!({"connection": "Username-Password-Authentication", "email": "d@e.f", "password": "Long-enough-pass1", "shoe_size": 9}),
            400,
            "invalid_body",
            "shoe_size",
        ),
        (
            json!({"connection": "Username-Password-Authentication", "email": 7, "password": "Long-enough-pass1"}),
            400,
            "invalid_body",
            "email",
        ),
        (
            json!({"connection": "Username-Password-Authentication", "email": "not-an-email", "password": "Long-enough-pass1"}),
            400,
            "invalid_body",
            "email",
        ),
    ] {
        let answer = call(&app, "POST", "/users", t, Some(body.clone())).await;
        assert_error(&answer, status, code);
        assert!(
            answer.1["message"].as_str().unwrap().contains(mentions),
            "{body}: {}",
            answer.1
        );
    }

    // Get, with and without a projection.
    let (_, got) = call(&app, "GET", &format!("/users/{}", urlencode(&id)), t, None).await;
    assert_eq!(got["email"], "Cy@Example.com");
    let (_, some) = call(
        &app,
        "GET",
        &format!("/users/{}?fields=email,user_id", urlencode(&id)),
        t,
        None,
    )
    .await;
    assert_eq!(some, json!({"email": "Cy@Example.com", "user_id": id}));
    assert_error(
        &call(&app, "GET", "/users/auth0%7Cnobody", t, None).await,
        404,
        "inexistent_user",
    );

    // Patch: metadata merged one level deep, null removes; a new password works at once.
    let (status, patched) = call(
        &app,
        "PATCH",
        &format!("/users/{}", urlencode(&id)),
        t,
        Some(json!({"user_metadata": {"lang": null, "tz": "UTC"}, "blocked": false, "password": "A-brand-new-pass 7"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["user_metadata"],
        json!({"theme": "dark", "tz": "UTC"})
    );
    assert_eq!(patched["app_metadata"], json!({"plan": "pro"}));
    assert_eq!(
        login(&app, "cy@example.com", "A-brand-new-pass 7").await,
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "cy@example.com", "Another-fine-pass 42").await,
        StatusCode::FORBIDDEN
    );
    let (_, blocked) = call(
        &app,
        "PATCH",
        &format!("/users/{}", urlencode(&id)),
        t,
        Some(json!({"blocked": true})),
    )
    .await;
    assert_eq!(blocked["blocked"], true);
    assert_ne!(
        login(&app, "cy@example.com", "A-brand-new-pass 7").await,
        StatusCode::OK,
        "blocked users cannot log in"
    );
    assert_error(
        &call(
            &app,
            "PATCH",
            &format!("/users/{}", urlencode(&id)),
            t,
            Some(json!({"hair": "red"})),
        )
        .await,
        400,
        "invalid_body",
    );
    assert_error(
        &call(
            &app,
            "PATCH",
            &format!("/users/{}", urlencode(&id)),
            t,
            Some(json!({"email": "ann@example.com"})),
        )
        .await,
        409,
        "auth0_idp_error",
    );
    assert_error(
        &call(
            &app,
            "PATCH",
            "/users/auth0%7Cnobody",
            t,
            Some(json!({"blocked": true})),
        )
        .await,
        404,
        "inexistent_user",
    );

    // By email, ignoring case.
    let (_, found) = call(
        &app,
        "GET",
        "/users-by-email?email=cy%40example.com",
        t,
        None,
    )
    .await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["user_id"], id.as_str());

    let (status, _) = call(
        &app,
        "DELETE",
        &format!("/users/{}", urlencode(&id)),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &call(&app, "GET", &format!("/users/{}", urlencode(&id)), t, None).await,
        404,
        "inexistent_user",
    );
    assert_eq!(
        login(&app, "cy@example.com", "A-brand-new-pass 7").await,
        StatusCode::FORBIDDEN
    );

    let readers = token_for(&app, &audience(&app), &["read:users"]).await;
    assert_error(
        &call(&app, "POST", "/users", Some(&readers), Some(new)).await,
        403,
        "insufficient_scope",
    );
    assert_error(
        &call(&app, "DELETE", "/users/auth0%7Cx", Some(&readers), None).await,
        403,
        "insufficient_scope",
    );
}

fn urlencode(id: &str) -> String {
    id.replace('|', "%7C")
}

#[tokio::test]
async fn users_are_listed_searched_and_paged() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), ALL).await;
    let t = Some(token.as_str());
    let (_, all) = call(&app, "GET", "/users", t, None).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "ann and bob: {all}");
    let (_, totals) = call(
        &app,
        "GET",
        "/users?include_totals=true&per_page=1&page=1",
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
        (json!(1), json!(1), json!(1), json!(2)),
        "{totals}"
    );
    assert_eq!(totals["users"].as_array().unwrap().len(), 1);
    let (_, end) = call(&app, "GET", "/users?per_page=1&page=2", t, None).await;
    assert_eq!(end, json!([]), "paging ends with an empty page");
    for (q, expected) in [
        ("email%3A%22ann%40example.com%22", 1),
        ("email%3AANN%40example.com", 1),
        (
            &format!("user_id%3A%22{}%22", urlencode(app.ann.as_str())),
            1,
        ),
        ("*", 2),
        ("email%3A%22nobody%40example.com%22", 0),
    ] {
        let (status, found) = call(
            &app,
            "GET",
            &format!("/users?q={q}&search_engine=v3"),
            t,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{q}: {found}");
        assert_eq!(found.as_array().unwrap().len(), expected, "{q}: {found}");
    }
    let (_, projected) = call(
        &app,
        "GET",
        "/users?fields=email&include_fields=true&q=email%3Aann%40example.com",
        t,
        None,
    )
    .await;
    assert_eq!(projected, json!([{"email": "ann@example.com"}]));
    let emails = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, desc) = call(&app, "GET", "/users?sort=email%3A-1", t, None).await;
    assert_eq!(emails(&desc), ["bob@example.com", "ann@example.com"]);
    let (_, asc) = call(&app, "GET", "/users?sort=email%3A1&fields=email", t, None).await;
    assert_eq!(emails(&asc), ["ann@example.com", "bob@example.com"]);
    for bad in [
        "/users?q=logins_count%3A%5B1%20TO%205%5D",
        "/users?per_page=500",
        "/users?search_engine=v1",
        "/users?colour=red",
        "/users?sort=email",
        "/users?sort=password%3A1",
        "/users?sort=email%3A2",
    ] {
        assert_error(
            &call(&app, "GET", bad, t, None).await,
            400,
            "invalid_query_string",
        );
    }
}

#[tokio::test]
async fn a_users_roles_and_direct_permissions_reach_their_tokens() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), ALL).await;
    let t = Some(token.as_str());
    let ann = urlencode(app.ann.as_str());
    let (_, roles) = call(&app, "GET", &format!("/users/{ann}/roles"), t, None).await;
    assert_eq!(roles[0]["name"], "reader", "{roles}");
    let reader = roles[0]["id"].as_str().unwrap().to_owned();

    // Direct permission write:r; then the reader role taken away.
    let write = json!({"permissions": [{"resource_server_identifier": RBAC_API, "permission_name": "write:r"}]});
    let (status, _) = call(
        &app,
        "POST",
        &format!("/users/{ann}/permissions"),
        t,
        Some(write.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, direct) = call(&app, "GET", &format!("/users/{ann}/permissions"), t, None).await;
    assert_eq!(direct[0]["permission_name"], "write:r", "{direct}");
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("/users/{ann}/roles"),
        t,
        Some(json!({"roles": [reader.clone()]})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&app, "GET", &format!("/users/{ann}/roles"), t, None)
            .await
            .1,
        json!([])
    );

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
    assert_eq!(
        claims["permissions"],
        json!(["write:r"]),
        "the direct permission, not the role's"
    );

    // Back again; the errors.
    let (status, _) = call(
        &app,
        "POST",
        &format!("/users/{ann}/roles"),
        t,
        Some(json!({"roles": [reader]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/users/{ann}/roles"),
            t,
            Some(json!({"roles": ["rol_nope"]})),
        )
        .await,
        404,
        "inexistent_role",
    );
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/users/{ann}/roles"),
            t,
            Some(json!({"roles": []})),
        )
        .await,
        400,
        "invalid_body",
    );
    assert_error(
        &call(&app, "GET", "/users/auth0%7Cnobody/roles", t, None).await,
        404,
        "inexistent_user",
    );
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("/users/{ann}/permissions"),
        t,
        Some(write),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&app, "GET", &format!("/users/{ann}/permissions"), t, None)
            .await
            .1,
        json!([])
    );
}

#[tokio::test]
async fn blocking_a_user_ends_their_sessions_refresh_tokens_and_opaque_tokens() {
    let app = TestApp::start().await;
    let native = app.native.to_string();
    let mut browser = crate::browser::Browser::new();
    crate::browser::log_in(&app, &mut browser, &native).await;
    let (status, _, tokens) = post(
        &app,
        crate::password::login(&app, json!({"scope": "openid offline_access"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let opaque = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        opaque.split('.').count(),
        5,
        "an opaque (JWE) token: {opaque}"
    );
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let userinfo = || async {
        let response = app
            .http
            .get(app.url("userinfo"))
            .bearer_auth(&opaque)
            .send()
            .await
            .unwrap();
        response.status()
    };
    let refresh = || async {
        let (status, _, body) = post(
            &app,
            crate::app::Body::Json(json!({
                "grant_type": "refresh_token", "client_id": native,
                "refresh_token": refresh_token,
            })),
            None,
        )
        .await;
        (status, body)
    };
    assert_eq!(userinfo().await, StatusCode::OK);
    assert_eq!(
        silent_error(&app, &mut browser, &native).await,
        None,
        "the session answers silently before the block"
    );

    let admin = token_for(&app, &audience(&app), &["update:users"]).await;
    let ann = app.ann.to_string();
    for blocked in [true, false] {
        let answer = call(
            &app,
            "PATCH",
            &format!("/users/{ann}"),
            Some(&admin),
            Some(json!({"blocked": blocked})),
        )
        .await;
        assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
        // Blocked, and even after the block is lifted: what the user held is gone (the
        // opaque token is refused only while blocked; it is not stored, so not revoked).
        let (status, body) = refresh().await;
        assert_eq!(status, StatusCode::FORBIDDEN, "blocked {blocked}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
        assert_eq!(
            silent_error(&app, &mut browser, &native).await.as_deref(),
            Some("login_required"),
            "blocked {blocked}"
        );
        let expected = if blocked {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        assert_eq!(userinfo().await, expected, "blocked {blocked}");
    }
}

/// The `error` a `prompt=none` request of `browser` gets at the callback (`None`: a code).
async fn silent_error(
    app: &TestApp,
    browser: &mut crate::browser::Browser,
    client: &str,
) -> Option<String> {
    use crate::browser::{authorize_url, callback_params, param};
    let page = browser
        .get(&authorize_url(app, client, "&prompt=none"))
        .await;
    param(&callback_params(page.location()), "error").map(str::to_owned)
}
