//! Users' own Management API tokens: a user may get only the `*:current_user*` scopes, they act
//! on that user alone, and metadata-only scopes change metadata only.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::model::ResourceServerScope;

use crate::app::{NOW, TestApp, post, signed_by_tenant};
use crate::management::{assert_error, audience, call, token_for};
use crate::management_jobs::database_connection;

/// Every scope a user might ask the Management API for, defined on it as `sigil init` does.
const ASKED: &str = "openid read:users delete:users update:users read:current_user \
                     update:current_user_metadata update:current_user_identities";

pub(crate) async fn define_scopes(app: &TestApp) {
    let mut api = app
        .store
        .resource_server_by_identifier(&audience(app))
        .await
        .unwrap()
        .unwrap();
    api.scopes = ASKED
        .split(' ')
        .filter(|s| *s != "openid")
        .map(|s| ResourceServerScope {
            value: s.to_owned(),
            description: String::new(),
        })
        .collect();
    app.store.update_resource_server(&api).await.unwrap();
    app.clock.advance(sigil_server::CACHE_TTL + 1);
}

/// Ann's token for the Management API, asking for everything.
async fn ann_token(app: &TestApp) -> Value {
    let (status, _, body) = post(
        app,
        crate::password::login(app, json!({"audience": audience(app), "scope": ASKED})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_user_gets_only_the_current_user_scopes_and_uses_them_on_themselves() {
    let app = TestApp::start().await;
    define_scopes(&app).await;
    let body = ann_token(&app).await;
    assert_eq!(
        body["scope"],
        "openid read:current_user update:current_user_metadata update:current_user_identities"
    );
    let token = body["access_token"].as_str().unwrap();
    let t = Some(token);
    let ann = app.ann.to_string();
    let connection = database_connection(&app).await;
    let bob = app
        .store
        .user_by_email(&connection, "bob@example.com")
        .await
        .unwrap()
        .unwrap()
        .user_id
        .to_string();

    let cases: &[(&str, String, Option<Value>, u16)] = &[
        ("GET", format!("/users/{ann}"), None, 200),
        // SDKs send the `|` of an id percent-encoded: it is still the caller's own id.
        (
            "GET",
            format!("/users/{}", ann.replace('|', "%7C")),
            None,
            200,
        ),
        ("GET", format!("/users/{bob}"), None, 403),
        ("GET", "/users".to_owned(), None, 403),
        ("DELETE", format!("/users/{ann}"), None, 403),
        (
            "PATCH",
            format!("/users/{ann}"),
            Some(json!({"user_metadata": {"theme": "dark"}})),
            200,
        ),
        (
            "PATCH",
            format!("/users/{bob}"),
            Some(json!({"user_metadata": {"theme": "dark"}})),
            403,
        ),
        (
            "PATCH",
            format!("/users/{ann}"),
            Some(json!({"app_metadata": {"plan": "free-forever"}})),
            403,
        ),
        (
            "PATCH",
            format!("/users/{ann}"),
            Some(json!({"password": "Taken-over 12345"})),
            403,
        ),
        (
            "PATCH",
            format!("/users/{ann}"),
            Some(json!({"email": "mallory@example.com"})),
            403,
        ),
    ];
    for (method, path, body, status) in cases {
        let answer = call(&app, method, path, t, body.clone()).await;
        if *status == 200 {
            assert_eq!(answer.0, StatusCode::OK, "{method} {path}: {}", answer.1);
        } else {
            assert_error(&answer, *status, "insufficient_scope");
        }
    }
    let ann_now = app.store.user(&app.ann).await.unwrap().unwrap();
    assert_eq!(ann_now.user_metadata["theme"], "dark");
    assert!(ann_now.app_metadata.get("plan").is_none());
    assert_eq!(ann_now.email.as_deref(), Some("ann@example.com"));
}

#[tokio::test]
async fn a_user_token_claiming_admin_scopes_counts_only_for_its_own_user() {
    // A token Sigil signed for a user with scopes it should never have had (issued before
    // users were limited, say): the Management API still honours only the current_user ones.
    let app = TestApp::start().await;
    let token = signed_by_tenant(
        &app,
        json!({
            "iss": app.base, "aud": audience(&app), "sub": app.ann.to_string(),
            "azp": app.native.to_string(), "iat": NOW, "exp": NOW + 600,
            "scope": "read:users delete:users read:current_user",
        }),
    )
    .await;
    let t = Some(token.as_str());
    assert_error(
        &call(&app, "GET", "/users", t, None).await,
        403,
        "insufficient_scope",
    );
    let path = format!("/users/{}", app.ann);
    assert_error(
        &call(&app, "DELETE", &path, t, None).await,
        403,
        "insufficient_scope",
    );
    assert_eq!(call(&app, "GET", &path, t, None).await.0, StatusCode::OK);

    // Claiming to be a machine takes both marks of one: `gty` and the `@clients` subject.
    let half_machine = signed_by_tenant(
        &app,
        json!({
            "iss": app.base, "aud": audience(&app), "sub": app.ann.to_string(),
            "azp": app.native.to_string(), "iat": NOW, "exp": NOW + 600,
            "gty": "client-credentials", "scope": "read:users",
        }),
    )
    .await;
    assert_error(
        &call(&app, "GET", "/users", Some(&half_machine), None).await,
        403,
        "insufficient_scope",
    );
}

#[tokio::test]
async fn machines_need_update_users_for_more_than_metadata_and_have_no_current_user() {
    let app = TestApp::start().await;
    let path = format!("/users/{}", app.ann);

    let metadata = token_for(&app, &audience(&app), &["update:users_app_metadata"]).await;
    let m = Some(metadata.as_str());
    let answer = call(
        &app,
        "PATCH",
        &path,
        m,
        Some(json!({"app_metadata": {"plan": "pro"}, "user_metadata": {"lang": "fr"}})),
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    assert_eq!(answer.1["app_metadata"]["plan"], "pro");
    for field in [
        json!({"password": "Another-fine-pass 42"}),
        json!({"email": "x@example.com"}),
        json!({"blocked": true}),
        json!({"app_metadata": {}, "email_verified": false}),
    ] {
        let answer = call(&app, "PATCH", &path, m, Some(field.clone())).await;
        assert_error(&answer, 403, "insufficient_scope");
        let named = field.as_object().unwrap().keys().any(|k| {
            k != "app_metadata" && answer.1["message"].as_str().unwrap().contains(k.as_str())
        });
        assert!(named, "the message names the field: {}", answer.1);
    }

    // A machine is nobody's current user, whatever its grant says.
    let own = token_for(&app, &audience(&app), &["read:current_user"]).await;
    assert_error(
        &call(&app, "GET", &path, Some(&own), None).await,
        403,
        "insufficient_scope",
    );
}

#[tokio::test]
async fn metadata_stops_at_its_limit_however_it_is_written() {
    let app = TestApp::start().await;
    define_scopes(&app).await;
    let token = ann_token(&app).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ann = app.ann.to_string();
    let chunk = "x".repeat(10_000);
    // The probe: a user's own metadata token adding 10 KB a request. Three fit in 32 KiB;
    // the fourth is refused whole, naming the limit, and nothing of it is kept.
    for (i, status) in [(0, 200), (1, 200), (2, 200), (3, 400)] {
        let body = json!({"user_metadata": {format!("k{i}"): chunk}});
        let answer = call(
            &app,
            "PATCH",
            &format!("/users/{ann}"),
            Some(&token),
            Some(body),
        )
        .await;
        assert_eq!(answer.0.as_u16(), status, "request {i}: {}", answer.1);
        if status == 400 {
            assert_error(&answer, 400, "invalid_body");
            let message = answer.1["message"].as_str().unwrap();
            assert!(
                message.contains("at most 32768 bytes") && message.contains("user_metadata"),
                "{message}"
            );
        }
    }
    let stored = app.store.user(&app.ann).await.unwrap().unwrap();
    assert_eq!(stored.user_metadata.len(), 3);
    // Replacing keys is judged on the result: a smaller value in place of a big one fits.
    let smaller = json!({"user_metadata": {"k0": "small"}});
    let answer = call(
        &app,
        "PATCH",
        &format!("/users/{ann}"),
        Some(&token),
        Some(smaller),
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);

    // Creating a user is held to the same limit, for app_metadata too (an import's entry is
    // refused alike: `import::tests`).
    let admin = token_for(&app, &audience(&app), &["create:users"]).await;
    let big = json!({"blob": "y".repeat(33_000)});
    for field in ["user_metadata", "app_metadata"] {
        let mut body = json!({
            "connection": "Username-Password-Authentication",
            "email": format!("{field}@example.com"), "password": "Correct-Horse-9",
        });
        body[field] = big.clone();
        let answer = call(&app, "POST", "/users", Some(&admin), Some(body)).await;
        assert_error(&answer, 400, "invalid_body");
        assert!(
            answer.1["message"].as_str().unwrap().contains(field),
            "{}",
            answer.1
        );
    }
}
