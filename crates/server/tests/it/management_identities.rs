//! `/api/v2/users/{id}/identities`: account linking by an administrator (`provider` and
//! `user_id`) or by the user (`link_with`), logins through a linked account, unlinking.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::model::{LogQuery, ResourceServerScope};
use sigil_core::{Page, Store, UnixTime};

use crate::app::{NOW, PASSWORD, TestApp, post, signed_by_tenant};
use crate::management::{assert_error, audience, call, token_for};
use crate::management_jobs::{database_connection, upload};

const ADMIN: &[&str] = &["read:users", "create:users", "update:users", "delete:users"];
const CY_PASSWORD: &str = "Another-fine-pass 42";

/// A password-realm login as `username`: the status and the token response.
async fn login(app: &TestApp, username: &str, password: &str, extra: Value) -> (StatusCode, Value) {
    let mut fields = json!({"username": username, "password": password});
    for (k, v) in extra.as_object().unwrap() {
        fields[k] = v.clone();
    }
    let (status, _, body) = post(app, crate::password::login(app, fields), None).await;
    (status, body)
}

/// The `sub` of the ID token a login as `username` gets, or the refusal's status.
async fn logs_in_as(app: &TestApp, username: &str, password: &str) -> Result<String, u16> {
    let (status, body) = login(app, username, password, json!({"scope": "openid"})).await;
    if status != StatusCode::OK {
        return Err(status.as_u16());
    }
    let claims = app
        .verifier(app.native.as_str())
        .await
        .verify::<Value>(body["id_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    Ok(claims["sub"].as_str().unwrap().to_owned())
}

/// Creates `email` with [`CY_PASSWORD`] and metadata; returns its user id.
async fn create(app: &TestApp, token: &str, email: &str) -> String {
    let (status, user) = call(
        app,
        "POST",
        "/users",
        Some(token),
        Some(json!({
            "connection": "Username-Password-Authentication",
            "email": email, "password": CY_PASSWORD, "email_verified": true,
            "user_metadata": {"theme": "dark"}, "given_name": "Cy",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user["user_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_administrator_links_and_unlinks_and_the_linked_account_logs_in_as_the_primary() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), ADMIN).await;
    let t = Some(token.as_str());
    let ann = app.ann.to_string();
    let cy = create(&app, &token, "cy@example.com").await;
    let dee = create(&app, &token, "dee@example.com").await;
    let cy_local = cy.strip_prefix("auth0|").unwrap().to_owned();
    assert_eq!(
        logs_in_as(&app, "cy@example.com", CY_PASSWORD).await,
        Ok(cy.clone())
    );

    let (status, identities) = call(
        &app,
        "POST",
        &format!("/users/{ann}/identities"),
        t,
        Some(json!({"provider": "auth0", "user_id": cy_local})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{identities}");
    assert_eq!(identities.as_array().unwrap().len(), 2, "{identities}");
    assert_eq!(
        identities[0]["user_id"],
        ann.strip_prefix("auth0|").unwrap()
    );
    assert_eq!(identities[1]["user_id"], cy_local);
    assert_eq!(identities[1]["provider"], "auth0");
    assert_eq!(
        identities[1]["connection"],
        "Username-Password-Authentication"
    );
    assert_eq!(identities[1]["profileData"]["email"], "cy@example.com");
    assert_eq!(identities[1]["profileData"]["given_name"], "Cy");
    assert!(identities[0].get("profileData").is_none(), "{identities}");

    // The primary shows both identities; the linked account is no user of its own any more.
    let (_, primary) = call(&app, "GET", &format!("/users/{ann}"), t, None).await;
    assert_eq!(primary["identities"], identities);
    assert_error(
        &call(&app, "GET", &format!("/users/{cy}"), t, None).await,
        404,
        "inexistent_user",
    );
    let (_, found) = call(&app, "GET", "/users-by-email?email=cy@example.com", t, None).await;
    assert_eq!(found, json!([]));
    let (_, listed) = call(&app, "GET", "/users?include_totals=true", t, None).await;
    assert!(
        !listed.to_string().contains(&format!("\"{cy}\"")),
        "{listed}"
    );

    // Its credentials log in as the primary; a wrong password still fails.
    assert_eq!(
        logs_in_as(&app, "cy@example.com", CY_PASSWORD).await,
        Ok(ann.clone())
    );
    assert_eq!(
        logs_in_as(&app, "cy@example.com", "wrong password 1").await,
        Err(403)
    );
    assert_eq!(
        logs_in_as(&app, "ann@example.com", PASSWORD).await,
        Ok(ann.clone())
    );

    // An import's upsert does not reach a linked account either.
    let connection = database_connection(&app).await;
    let fields = [("connection_id", connection.as_str()), ("upsert", "true")];
    let users = json!([{"email": "cy@example.com", "given_name": "Hijack"}]);
    let (status, job) = upload(&app, t, Some(&users), &fields).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["summary"]["failed"], 1, "{job}");

    // What cannot be linked, and bodies that are refused.
    let link = |primary: &str, body: Value| {
        let path = format!("/users/{primary}/identities");
        let app = &app;
        async move { call(app, "POST", &path, t, Some(body)).await }
    };
    let cases: Vec<(&str, String, Value, u16, &str)> = vec![
        (
            "linked twice",
            ann.clone(),
            json!({"provider": "auth0", "user_id": cy}),
            400,
            "inexistent_user",
        ),
        (
            "to itself",
            ann.clone(),
            json!({"provider": "auth0", "user_id": ann}),
            400,
            "operation_not_supported",
        ),
        (
            "no such account",
            ann.clone(),
            json!({"provider": "auth0", "user_id": "nobody"}),
            400,
            "inexistent_user",
        ),
        (
            "no such primary",
            "auth0|nobody".to_owned(),
            json!({"provider": "auth0", "user_id": dee}),
            404,
            "inexistent_user",
        ),
        (
            "into a linked account",
            cy.clone(),
            json!({"provider": "auth0", "user_id": dee}),
            404,
            "inexistent_user",
        ),
        (
            "a primary as secondary",
            dee.clone(),
            json!({"provider": "auth0", "user_id": ann}),
            400,
            "operation_not_supported",
        ),
        (
            "another connection",
            ann.clone(),
            json!({"provider": "auth0", "user_id": dee, "connection_id": "con_other"}),
            400,
            "invalid_body",
        ),
        (
            "no provider",
            ann.clone(),
            json!({"user_id": dee}),
            400,
            "invalid_body",
        ),
        (
            "unknown field",
            ann.clone(),
            json!({"provider": "auth0", "user_id": dee, "primary": true}),
            400,
            "invalid_body",
        ),
        (
            "both ways",
            ann.clone(),
            json!({"provider": "auth0", "user_id": dee, "link_with": "x.y.z"}),
            400,
            "invalid_body",
        ),
        (
            "a bad token",
            ann.clone(),
            json!({"link_with": "x.y.z"}),
            400,
            "invalid_body",
        ),
    ];
    for (case, primary, body, status, code) in cases {
        let answer = link(&primary, body).await;
        assert_eq!(answer.0.as_u16(), status, "{case}: {}", answer.1);
        assert_error(&answer, status, code);
    }
    let (_, unknown_field) = link(
        &ann,
        json!({"provider": "auth0", "user_id": dee, "primary": true}),
    )
    .await;
    assert!(
        unknown_field["message"]
            .as_str()
            .unwrap()
            .contains("primary"),
        "{unknown_field}"
    );

    // Unlinking: never the main identity, only what is linked, once.
    let unlink = |provider: &str, id: &str| {
        let path = format!("/users/{ann}/identities/{provider}/{id}");
        let app = &app;
        async move { call(app, "DELETE", &path, t, None).await }
    };
    let main_local = ann.strip_prefix("auth0|").unwrap().to_owned();
    assert_error(
        &unlink("auth0", &main_local).await,
        400,
        "operation_not_supported",
    );
    assert_error(&unlink("auth0", "nobody").await, 404, "inexistent_identity");
    let (status, remaining) = unlink("auth0", &cy).await;
    assert_eq!(status, StatusCode::OK, "{remaining}");
    assert_eq!(remaining.as_array().unwrap().len(), 1, "{remaining}");
    assert_eq!(remaining[0]["user_id"], main_local);
    assert_error(
        &unlink("auth0", &cy_local).await,
        404,
        "inexistent_identity",
    );

    // Cy is a user again, without the metadata it had, and logs in as Cy.
    let (status, back) = call(&app, "GET", &format!("/users/{cy}"), t, None).await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert!(back.get("user_metadata").is_none(), "{back}");
    assert_eq!(back["identities"].as_array().unwrap().len(), 1);
    assert_eq!(
        logs_in_as(&app, "cy@example.com", CY_PASSWORD).await,
        Ok(cy.clone())
    );

    let logged = app
        .store
        .list_logs(
            &LogQuery {
                log_type: Some("sapi".into()),
                ..LogQuery::default()
            },
            Page::first(),
        )
        .await
        .unwrap();
    for what in ["Link a User Account", "Unlink a User Account"] {
        assert!(
            logged
                .iter()
                .any(|e| e.event.description.as_deref() == Some(what)),
            "{what} is logged"
        );
    }

    // Deleting a primary deletes the accounts linked to it.
    let (status, _) = link(&ann, json!({"provider": "auth0", "user_id": dee})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(&app, "DELETE", &format!("/users/{ann}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        logs_in_as(&app, "dee@example.com", CY_PASSWORD).await,
        Err(403)
    );
}

#[tokio::test]
async fn a_user_links_an_account_they_prove_with_its_id_token() {
    let app = TestApp::start().await;
    let admin = token_for(&app, &audience(&app), ADMIN).await;
    let cy = create(&app, &admin, "cy@example.com").await;
    let dee = create(&app, &admin, "dee@example.com").await;
    let mut api = app
        .store
        .resource_server_by_identifier(&audience(&app))
        .await
        .unwrap()
        .unwrap();
    api.scopes.push(ResourceServerScope {
        value: "update:current_user_identities".to_owned(),
        description: String::new(),
    });
    app.store.update_resource_server(&api).await.unwrap();
    app.clock.advance(sigil_server::CACHE_TTL + 1);

    // Ann's own Management API token, and Cy's ID token, both from the same application.
    let (status, body) = login(
        &app,
        "ann@example.com",
        PASSWORD,
        json!({"audience": audience(&app), "scope": "openid update:current_user_identities"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ann_token = body["access_token"].as_str().unwrap().to_owned();
    let (_, cy_login) = login(
        &app,
        "cy@example.com",
        CY_PASSWORD,
        json!({"scope": "openid"}),
    )
    .await;
    let cy_id_token = cy_login["id_token"].as_str().unwrap().to_owned();
    let a = Some(ann_token.as_str());
    let ann = app.ann.to_string();
    let path = format!("/users/{ann}/identities");

    // A user cannot link by naming an account, nor link into someone else.
    assert_error(
        &call(
            &app,
            "POST",
            &path,
            a,
            Some(json!({"provider": "auth0", "user_id": cy})),
        )
        .await,
        403,
        "insufficient_scope",
    );
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/users/{dee}/identities"),
            a,
            Some(json!({"link_with": cy_id_token})),
        )
        .await,
        403,
        "insufficient_scope",
    );
    // An ID token for another application does not prove the account here: one signed with
    // that application's secret (HS256), nor one of the tenant's keys for another audience.
    let (_, _, backend_login) = post(
        &app,
        crate::password::login(
            &app,
            json!({"username": "dee@example.com", "password": CY_PASSWORD, "scope": "openid",
                   "client_id": app.backend.0.to_string(), "client_secret": app.backend.1.expose()}),
        ),
        None,
    )
    .await;
    let hs256 = backend_login["id_token"].as_str().unwrap().to_owned();
    let elsewhere = signed_by_tenant(
        &app,
        json!({"iss": app.base, "sub": dee, "aud": app.backend.0.to_string(),
               "iat": NOW, "exp": NOW + 600}),
    )
    .await;
    for token in [hs256, elsewhere] {
        assert_error(
            &call(&app, "POST", &path, a, Some(json!({"link_with": token}))).await,
            400,
            "invalid_body",
        );
    }

    let (status, identities) = call(
        &app,
        "POST",
        &path,
        a,
        Some(json!({"link_with": cy_id_token})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{identities}");
    assert_eq!(identities[1]["profileData"]["email"], "cy@example.com");
    assert_eq!(
        logs_in_as(&app, "cy@example.com", CY_PASSWORD).await,
        Ok(ann.clone())
    );

    // The user unlinks it again with the same token.
    let (status, remaining) = call(
        &app,
        "DELETE",
        &format!("{path}/auth0/{}", cy.strip_prefix("auth0|").unwrap()),
        a,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{remaining}");
    assert_eq!(remaining.as_array().unwrap().len(), 1);

    // Expired: the same ID token, after its lifetime.
    app.clock.advance(36_000 + 1);
    let (_, fresh) = login(
        &app,
        "ann@example.com",
        PASSWORD,
        json!({"audience": audience(&app), "scope": "update:current_user_identities"}),
    )
    .await;
    let fresh = fresh["access_token"].as_str().unwrap().to_owned();
    assert_error(
        &call(
            &app,
            "POST",
            &path,
            Some(&fresh),
            Some(json!({"link_with": cy_id_token})),
        )
        .await,
        400,
        "invalid_body",
    );
}
