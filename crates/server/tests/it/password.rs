//! The password grants, ID tokens, refresh token issuance and `/userinfo`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::{Store, UnixTime};
use sigil_jose::{Algorithm, KeySet, PrivateKey, Secret, Validation, Verifier, VerifyingKey};

use crate::app::{API, Body, NOW, PASSWORD, RBAC_API, TestApp, post};

const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

pub(crate) fn login(app: &TestApp, extra: Value) -> Body {
    let mut body = json!({
        "grant_type": REALM,
        "client_id": app.native.to_string(),
        "username": "ann@example.com",
        "password": PASSWORD,
        "realm": "Username-Password-Authentication",
    });
    for (name, value) in extra.as_object().unwrap() {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(name);
        } else {
            body[name] = value.clone();
        }
    }
    Body::Json(body)
}

pub(crate) async fn userinfo(app: &TestApp, token: &str) -> (StatusCode, String, Value) {
    let response = app
        .http
        .get(app.url("userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        challenge,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn users_log_in_with_a_password_and_get_the_tokens_their_scopes_allow() {
    let app = TestApp::start().await;
    let (status, _, body) = post(
        &app,
        login(
            &app,
            json!({"audience": API, "scope": "openid profile email read:a unknown"}),
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid profile email read:a");
    assert!(
        body.get("refresh_token").is_none(),
        "the API does not allow offline access"
    );

    // The access token is for the API and for /userinfo, as Auth0's.
    let access = app
        .verifier(API)
        .await
        .verify::<Value>(body["access_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(access["aud"], json!([API, app.url("userinfo")]));
    assert_eq!(access["sub"], app.ann.to_string());
    assert_eq!(access["gty"], "password");
    assert_eq!(access["azp"], app.native.to_string());

    // The ID token is for the client, with the profile and email claims.
    let id = app
        .verifier(app.native.as_str())
        .await
        .verify::<Value>(body["id_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(id["sub"], app.ann.to_string());
    assert_eq!(id["email"], "ann@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["nickname"], "ann");
    assert_eq!(id["exp"], NOW + 36_000);
    assert_eq!(id["auth_time"], NOW);

    // /userinfo answers with what the scopes allow.
    let (status, _, profile) = userinfo(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["sub"], app.ann.to_string());
    assert_eq!(profile["email"], "ann@example.com");
    assert_eq!(profile["name"], "ann@example.com");

    let user = app.store.user(&app.ann).await.unwrap().unwrap();
    assert_eq!(user.logins_count, 1);
    assert_eq!(user.last_ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn rbac_apis_get_only_held_permissions_and_offline_access_gives_a_refresh_token() {
    let app = TestApp::start().await;
    let (status, _, body) = post(
        &app,
        login(
            &app,
            json!({"audience": RBAC_API, "scope": "read:r write:r offline_access", "username": "ANN@example.com"}),
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "offline_access read:r");
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() == 43)
    );
    assert!(body.get("id_token").is_none(), "no openid, no ID token");
    let access = app
        .verifier(RBAC_API)
        .await
        .verify::<Value>(body["access_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(access["aud"], RBAC_API);
    assert_eq!(access["permissions"], json!(["read:r"]));
    // Only the digest is stored.
    let digest = sigil_core::secret::SecretDigest::of(body["refresh_token"].as_str().unwrap());
    let stored = app.store.refresh_token(&digest).await.unwrap().unwrap();
    assert_eq!(stored.user_id, app.ann);
    assert_eq!(stored.scope, ["offline_access", "read:r"]);
}

#[tokio::test]
async fn hs256_id_tokens_are_signed_with_the_client_secret() {
    let app = TestApp::start().await;
    let (id, secret) = (app.backend.0.to_string(), app.backend.1.expose().to_owned());
    let (status, _, body) = post(
        &app,
        Body::Json(json!({
            "grant_type": "password", "client_id": id, "client_secret": secret,
            "username": "ann@example.com", "password": PASSWORD, "scope": "openid email",
        })),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key = PrivateKey::from_secret(Secret::new(secret.into_bytes()));
    let verifying = VerifyingKey::from_secret(key.secret().unwrap().expose_secret()).unwrap();
    let verifier = Verifier::new(
        KeySet::single(verifying),
        Validation::new([Algorithm::HS256])
            .issuer(app.base.clone())
            .audience(id),
    );
    let claims = verifier
        .verify::<Value>(body["id_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(claims["email"], "ann@example.com");
    // Without an audience the access token is good only at /userinfo.
    let (status, _, _) = userinfo(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_passwords_unknown_users_and_blocked_users_are_refused_alike() {
    let app = TestApp::start().await;
    let secret_client = (app.backend.0.to_string(), app.backend.1.expose().to_owned());
    // (what, extra fields, status, error, description)
    let cases = [
        (
            "wrong password",
            json!({"password": "nope"}),
            403,
            "invalid_grant",
            "Wrong email or password.",
        ),
        (
            "unknown user",
            json!({"username": "zed@example.com"}),
            403,
            "invalid_grant",
            "Wrong email or password.",
        ),
        (
            "blocked user",
            json!({"username": "bob@example.com"}),
            401,
            "unauthorized",
            "user is blocked",
        ),
        (
            "unknown realm",
            json!({"realm": "Nowhere"}),
            400,
            "invalid_request",
            "Unknown realm: Nowhere",
        ),
        (
            "no password",
            json!({"password": null}),
            400,
            "invalid_request",
            "Missing required parameter: password",
        ),
        (
            "confidential client without its secret",
            json!({"client_id": secret_client.0}),
            401,
            "invalid_client",
            "",
        ),
        (
            "client without the grant",
            json!({"client_id": app.machine.0.to_string(), "client_secret": app.machine.1.expose()}),
            403,
            "unauthorized_client",
            "",
        ),
        (
            "unknown API",
            json!({"audience": "https://nowhere.example/"}),
            403,
            "access_denied",
            "",
        ),
    ];
    for (what, extra, status, error, description) in cases {
        let (got, _, body) = post(&app, login(&app, extra), None).await;
        assert_eq!(got.as_u16(), status, "{what}: {body}");
        assert_eq!(body["error"], error, "{what}");
        if !description.is_empty() {
            assert_eq!(body["error_description"], description, "{what}");
        }
    }
    assert_eq!(
        app.store
            .user(&app.ann)
            .await
            .unwrap()
            .unwrap()
            .logins_count,
        0
    );
    // Without a realm, password-realm uses the default directory (as auth0-python sends it).
    let (status, _, body) = post(&app, login(&app, json!({"realm": null})), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn userinfo_refuses_missing_foreign_and_forged_tokens() {
    let app = TestApp::start().await;
    let (_, _, machine) = post(
        &app,
        Body::Json(json!({
            "grant_type": "client_credentials", "client_id": app.machine.0.to_string(),
            "client_secret": app.machine.1.expose(), "audience": API,
        })),
        None,
    )
    .await;
    let api_only = machine["access_token"].as_str().unwrap().to_owned();
    let response = app.http.get(app.url("userinfo")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"sigil\""
    );
    for (what, token) in [
        ("an access token for another API", api_only.as_str()),
        ("garbage", "not.a.token"),
        ("unsigned", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
    ] {
        let (status, challenge, body) = userinfo(&app, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            challenge.starts_with("Bearer realm=\"sigil\", error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        assert_eq!(body["error"], "invalid_token", "{what}");
    }
}

#[tokio::test]
async fn without_an_api_the_access_token_is_opaque_and_good_only_at_userinfo() {
    let app = TestApp::start().await;
    let (status, _, body) = post(&app, login(&app, json!({"scope": "openid email"})), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(body["expires_in"], 86_400);

    // A JWE as Auth0's (dir, A256GCM, the issuer in the header): nothing readable inside.
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!((segments.len(), segments[1]), (5, ""), "{token}");
    let header: Value = serde_json::from_slice(
        &base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(segments[0])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        json!({"alg": "dir", "enc": "A256GCM", "iss": app.base})
    );
    assert!(!token.contains(&base64_simd::URL_SAFE_NO_PAD.encode_to_string("auth0|")));

    let (status, _, profile) = userinfo(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(
        (profile["sub"].as_str(), profile["email"].as_str()),
        (Some(app.ann.as_str()), Some("ann@example.com"))
    );
    assert!(profile.get("name").is_none(), "no profile scope: {profile}");

    // Tampered or expired: refused like any bad bearer token.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (status, challenge, _) = userinfo(&app, &tampered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    app.clock.advance(86_400);
    let (status, challenge, _) = userinfo(&app, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("expired"), "{challenge}");
}

#[tokio::test]
async fn the_tenant_default_audience_applies_when_the_request_names_none() {
    let app = TestApp::start().await;
    let mut settings = app.store.tenant_settings().await.unwrap().unwrap();
    settings.default_audience = Some(API.to_owned());
    app.store
        .put_tenant_settings(&settings, UnixTime(NOW))
        .await
        .unwrap();
    let (status, _, body) = post(&app, login(&app, json!({"scope": "openid read:a"})), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = app
        .verifier(API)
        .await
        .verify::<Value>(body["access_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(access["aud"], json!([API, app.url("userinfo")]));
    assert_eq!(access["scope"], "openid read:a");
}
