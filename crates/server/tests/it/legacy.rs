//! Auth0's legacy `/tokeninfo` and `/delegation`: off until the tenant enables them; strict
//! about the ID tokens they take; delegation's tokens verify with the JWKS (or the target's
//! HS256 secret) for the target application.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sigil_core::ids::ClientId;
use sigil_core::model::{AppType, GrantType, LogQuery, LogType};
use sigil_core::{Page, Store, UnixTime};
use sigil_jose::{
    Algorithm, KeySet, PrivateKey, Secret, SigningKey, Validation, Verifier, VerifyingKey,
};

use crate::app::{API, NOW, PASSWORD, RBAC_API, TestApp, client, signed_by_tenant};

const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Turns the two legacy switches on or off, as `sigil tenant set` does.
async fn switch(app: &TestApp, tokeninfo: bool, delegation: bool) {
    let mut tenant = app.store.tenant_settings().await.unwrap().unwrap();
    tenant.flags.allow_legacy_tokeninfo_endpoint = tokeninfo;
    tenant.flags.allow_legacy_delegation_grant_types = delegation;
    app.store
        .put_tenant_settings(&tenant, UnixTime(NOW))
        .await
        .unwrap();
}

/// POSTs `body` (JSON, or a form when it is an array of pairs) to `path`.
async fn call(app: &TestApp, path: &str, body: Value) -> (StatusCode, HeaderMap, Value) {
    let request = app.http.post(app.url(path));
    let request = match &body {
        Value::Array(pairs) => {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_owned(),
                        p[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            request.form(&pairs)
        }
        _ => request.json(&body),
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Ann's tokens from a password-realm login at `client` (with `secret` when confidential).
async fn login(app: &TestApp, client: &ClientId, secret: Option<&str>, extra: Value) -> Value {
    let mut body = json!({
        "grant_type": REALM,
        "client_id": client.as_str(),
        "username": "ann@example.com",
        "password": PASSWORD,
        "realm": "Username-Password-Authentication",
        "scope": "openid profile email",
    });
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
    }
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    let (status, _, tokens) = call(app, "oauth/token", body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn id_token(app: &TestApp, client: &ClientId, secret: Option<&str>) -> String {
    let tokens = login(app, client, secret, json!({})).await;
    tokens["id_token"].as_str().unwrap().to_owned()
}

/// A public client allowed the password-realm, refresh-token and JWT bearer grants.
async fn delegator(app: &TestApp) -> ClientId {
    client(
        &app.store,
        AppType::Native,
        vec![
            GrantType::PasswordRealm,
            GrantType::RefreshToken,
            GrantType::JwtBearer,
        ],
    )
    .await
    .0
}

fn hs256(secret: &str, claims: &Value) -> String {
    let key = PrivateKey::from_secret(Secret::new(secret.as_bytes().to_vec()));
    SigningKey::new(key, Algorithm::HS256)
        .unwrap()
        .sign(claims)
        .unwrap()
}

/// A token with `token`'s header and signature but other claims.
fn tampered(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = base64_simd::URL_SAFE_NO_PAD.encode_to_string(claims.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

fn claims_of(token: &str) -> Value {
    sigil_jose::insecure_decode(token).unwrap().claims.into()
}

#[tokio::test]
async fn legacy_endpoints_are_off_until_the_tenant_enables_them() {
    let app = TestApp::start().await;
    let caller = delegator(&app).await;
    let token = id_token(&app, &caller, None).await;
    let delegate = json!({
        "client_id": caller.as_str(), "grant_type": JWT_BEARER, "id_token": token,
    });

    // Off: /tokeninfo is not found (as Auth0's 404), whatever the body; /delegation refuses the
    // grant (as Auth0's 403 for a tenant without legacy delegation).
    for body in [json!({"id_token": token}), json!({"nonsense": 1})] {
        let (status, headers, answer) = call(&app, "tokeninfo", body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        assert_eq!(answer["error"], "not_found");
        assert_eq!(headers["cache-control"], "no-store");
    }
    let (status, _, answer) = call(&app, "delegation", delegate.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"], "unauthorized_client");

    // One switch does not turn on the other.
    switch(&app, true, false).await;
    let (status, _, answer) = call(&app, "tokeninfo", json!({"id_token": token})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, _, answer) = call(&app, "delegation", delegate.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");

    // The server sees a change at once, in both directions.
    switch(&app, false, true).await;
    let (status, _, _) = call(&app, "tokeninfo", json!({"id_token": token})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, answer) = call(&app, "delegation", delegate).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // Neither is OpenID Connect: discovery does not mention them.
    let discovery = app
        .http
        .get(app.url(".well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for word in ["tokeninfo", "delegation", JWT_BEARER] {
        assert!(!discovery.contains(word), "{word} in {discovery}");
    }
}

#[tokio::test]
async fn tokeninfo_answers_the_profile_of_an_id_token_issued_here() {
    let app = TestApp::start().await;
    switch(&app, true, false).await;
    let rs256 = id_token(&app, &app.native, None).await;
    let (backend, secret) = &app.backend;
    let hs256 = id_token(&app, backend, Some(secret.expose())).await;
    assert_eq!(
        sigil_jose::insecure_decode(&hs256).unwrap().header["alg"],
        "HS256"
    );

    for (token, client, form) in [
        (&rs256, &app.native, false),
        (&rs256, &app.native, true),
        (&hs256, backend, false),
    ] {
        let body = if form {
            json!([["id_token", token]])
        } else {
            json!({ "id_token": token })
        };
        let (status, headers, profile) = call(&app, "tokeninfo", body).await;
        assert_eq!(status, StatusCode::OK, "{profile}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(profile["user_id"], app.ann.as_str());
        assert_eq!(profile["email"], "ann@example.com");
        assert_eq!(profile["email_verified"], true);
        assert_eq!(profile["name"], "ann@example.com");
        assert_eq!(profile["nickname"], "ann");
        assert_eq!(profile["clientID"], client.as_str());
        assert_eq!(profile["logins_count"], 2);
        assert_eq!(profile["created_at"], "2027-01-15T08:00:00.000Z");
        assert_eq!(
            profile["identities"],
            json!([{
                "provider": "auth0",
                "user_id": app.ann.local_part(),
                "connection": "Username-Password-Authentication",
                "isSocial": false,
            }])
        );
        assert!(profile.get("password").is_none() && profile.get("last_ip").is_none());
    }
}

#[tokio::test]
async fn tokeninfo_refuses_what_is_not_a_live_id_token_of_this_tenant() {
    let app = TestApp::start().await;
    switch(&app, true, false).await;
    let good = id_token(&app, &app.native, None).await;
    let claims = claims_of(&good);
    let (backend, secret) = &app.backend;
    let with = |changes: &[(&str, Value)]| {
        let mut c = claims.clone();
        for (name, value) in changes {
            c[*name] = value.clone();
        }
        c
    };
    let access_token =
        login(&app, &app.native, None, json!({"audience": API})).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();

    let cases: Vec<(&str, String)> = vec![
        (
            "tampered claims",
            tampered(&good, &with(&[("sub", json!("auth0|someone-else"))])),
        ),
        ("not a JWT", "not.a.jwt".to_owned()),
        (
            "foreign issuer, tenant's key",
            signed_by_tenant(&app, with(&[("iss", json!("https://evil.example/"))])).await,
        ),
        ("an access token", access_token),
        (
            "an unknown application",
            signed_by_tenant(&app, with(&[("aud", json!("nobody"))])).await,
        ),
        (
            "an audience array",
            signed_by_tenant(&app, with(&[("aud", json!([app.native.as_str()]))])).await,
        ),
        (
            "HS256 with a wrong secret",
            hs256(
                "a wrong secret that is long enough for HS256!!",
                &with(&[("aud", json!(backend.as_str()))]),
            ),
        ),
        (
            "HS256 for an RS256 application",
            hs256(secret.expose(), &claims),
        ),
        (
            "HS256 with another issuer",
            hs256(
                secret.expose(),
                &with(&[
                    ("aud", json!(backend.as_str())),
                    ("iss", json!("https://evil.example/")),
                ]),
            ),
        ),
    ];
    for (what, token) in cases {
        let (status, headers, answer) = call(&app, "tokeninfo", json!({ "id_token": token })).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["error"], "invalid_token", "{what}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token"),
            "{what}"
        );
    }

    // Malformed requests are the caller's mistake.
    for (what, body) in [
        ("no id_token", json!({})),
        (
            "an unknown parameter",
            json!({"id_token": good, "client_id": "x"}),
        ),
        ("an empty id_token", json!({"id_token": ""})),
    ] {
        let (status, _, answer) = call(&app, "tokeninfo", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{what}");
    }

    // A good token for a deleted user, and a good token after it expired.
    let (status, _, _) = call(&app, "tokeninfo", json!({ "id_token": good })).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(36_000);
    let (status, _, answer) = call(&app, "tokeninfo", json!({ "id_token": good })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    app.clock.advance(-36_000);
    app.store.delete_user(&app.ann).await.unwrap();
    let (status, _, answer) = call(&app, "tokeninfo", json!({ "id_token": good })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error_description"], "the user no longer exists");
}

#[tokio::test]
async fn delegation_issues_an_id_token_for_the_target_application() {
    let app = TestApp::start().await;
    switch(&app, false, true).await;
    let caller = delegator(&app).await;
    let token = id_token(&app, &caller, None).await;
    let original = claims_of(&token);
    app.clock.advance(600);
    let now = NOW + 600;

    // For another RS256 application: verifies with the JWKS, for the target.
    let (status, headers, answer) = call(
        &app,
        "delegation",
        json!({
            "client_id": caller.as_str(), "grant_type": JWT_BEARER, "id_token": token,
            "target": app.native.as_str(), "scope": "openid email", "api_type": "app",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(answer["token_type"], "Bearer");
    let delegated = app
        .verifier(app.native.as_str())
        .await
        .verify::<Value>(answer["id_token"].as_str().unwrap(), UnixTime(now))
        .unwrap()
        .claims;
    assert_eq!(delegated["sub"], app.ann.as_str());
    assert_eq!(delegated["aud"], app.native.as_str());
    assert_eq!(delegated["azp"], caller.as_str());
    assert_eq!(delegated["iss"], app.base);
    assert_eq!(delegated["iat"], now);
    assert_eq!(delegated["auth_time"], original["auth_time"]);
    assert_eq!(delegated["email"], "ann@example.com");
    assert!(delegated.get("nickname").is_none(), "no profile scope");
    // Never beyond the presented token's own expiry.
    assert_eq!(delegated["exp"], original["exp"]);
    assert_eq!(
        answer["expires_in"],
        original["exp"].as_i64().unwrap() - now
    );

    // For an HS256 application: signed with that application's secret. As a form, no target
    // meaning the caller itself is exercised below.
    let (backend, secret) = &app.backend;
    let (status, _, answer) = call(
        &app,
        "delegation",
        json!([
            ["client_id", caller.as_str()],
            ["grant_type", JWT_BEARER],
            ["id_token", token],
            ["target", backend.as_str()],
            ["scope", "openid profile"],
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let verifier = Verifier::new(
        KeySet::single(VerifyingKey::from_secret(secret.expose().as_bytes()).unwrap()),
        Validation::new([Algorithm::HS256])
            .issuer(app.base.clone())
            .audience(backend.as_str()),
    );
    let delegated = verifier
        .verify::<Value>(answer["id_token"].as_str().unwrap(), UnixTime(now))
        .unwrap()
        .claims;
    assert_eq!(delegated["nickname"], "ann");
    assert!(delegated.get("email").is_none(), "no email scope");

    // No target: a fresh ID token for the caller itself (scope openid by default).
    let (status, _, answer) = call(
        &app,
        "delegation",
        json!({"client_id": caller.as_str(), "grant_type": JWT_BEARER, "id_token": token}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let delegated = app
        .verifier(caller.as_str())
        .await
        .verify::<Value>(answer["id_token"].as_str().unwrap(), UnixTime(now))
        .unwrap()
        .claims;
    assert!(delegated.get("azp").is_none() && delegated.get("email").is_none());

    // Each delegation is logged as Auth0's `sd`.
    let logs = app
        .store
        .list_logs(
            &LogQuery {
                log_type: Some(LogType::from(LogType::SUCCESS_DELEGATION)),
                ..LogQuery::default()
            },
            Page::first(),
        )
        .await
        .unwrap();
    assert_eq!(logs.len(), 3);
    assert_eq!(logs[0].event.user_id.as_ref(), Some(&app.ann));
}

#[tokio::test]
async fn delegation_takes_a_refresh_token_of_the_caller() {
    let app = TestApp::start().await;
    switch(&app, false, true).await;
    let caller = delegator(&app).await;
    let tokens = login(
        &app,
        &caller,
        None,
        json!({"audience": RBAC_API, "scope": "openid offline_access"}),
    )
    .await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    app.clock.advance(40_000);
    let now = NOW + 40_000;
    let (status, _, answer) = call(
        &app,
        "delegation",
        json!({
            "client_id": caller.as_str(), "grant_type": JWT_BEARER, "refresh_token": refresh,
            "target": app.native.as_str(),
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["expires_in"], 36_000);
    let delegated = app
        .verifier(app.native.as_str())
        .await
        .verify::<Value>(answer["id_token"].as_str().unwrap(), UnixTime(now))
        .unwrap()
        .claims;
    assert_eq!(delegated["sub"], app.ann.as_str());
    assert_eq!(delegated["exp"], now + 36_000);

    // The refresh token still works at /oauth/token: delegation did not use it up.
    let (status, _, answer) = call(
        &app,
        "oauth/token",
        json!({"grant_type": "refresh_token", "client_id": caller.as_str(), "refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn delegation_refuses_bad_requests_tokens_and_targets() {
    let app = TestApp::start().await;
    switch(&app, false, true).await;
    let caller = delegator(&app).await;
    let token = id_token(&app, &caller, None).await;
    let others = id_token(&app, &app.native, None).await;
    let refresh = login(
        &app,
        &app.native,
        None,
        json!({"audience": RBAC_API, "scope": "openid offline_access"}),
    )
    .await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = json!({"client_id": caller.as_str(), "grant_type": JWT_BEARER, "id_token": token});
    let with = |changes: Value| {
        let mut body = base.clone();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(name);
            } else {
                body[name] = value.clone();
            }
        }
        body
    };

    let cases = [
        (
            "unknown target",
            with(json!({"target": "nobody"})),
            400,
            "invalid_request",
        ),
        (
            "caller not allowed the grant",
            json!({"client_id": app.native.as_str(), "grant_type": JWT_BEARER, "id_token": others}),
            403,
            "unauthorized_client",
        ),
        (
            "unknown caller",
            with(json!({"client_id": "nobody"})),
            401,
            "invalid_client",
        ),
        (
            "tampered id_token",
            with(json!({"id_token": tampered(&token, &json!({"sub": "auth0|x"}))})),
            403,
            "invalid_grant",
        ),
        (
            "garbage id_token",
            with(json!({"id_token": "abc"})),
            403,
            "invalid_grant",
        ),
        (
            "another application's id_token",
            with(json!({"id_token": others})),
            403,
            "invalid_grant",
        ),
        (
            "another application's refresh token",
            with(json!({"id_token": null, "refresh_token": refresh})),
            403,
            "invalid_grant",
        ),
        (
            "unknown refresh token",
            with(json!({"id_token": null, "refresh_token": "nope"})),
            403,
            "invalid_grant",
        ),
        (
            "another grant type",
            with(json!({"grant_type": "refresh_token"})),
            400,
            "unsupported_grant_type",
        ),
        (
            "no grant type",
            with(json!({"grant_type": null})),
            400,
            "invalid_request",
        ),
        (
            "no client_id",
            with(json!({"client_id": null})),
            400,
            "invalid_request",
        ),
        (
            "no token",
            with(json!({"id_token": null})),
            400,
            "invalid_request",
        ),
        (
            "both tokens",
            with(json!({"refresh_token": refresh})),
            400,
            "invalid_request",
        ),
        (
            "an add-on api_type",
            with(json!({"api_type": "firebase"})),
            400,
            "invalid_request",
        ),
        (
            "an unknown parameter",
            with(json!({"client_secret": "x"})),
            400,
            "invalid_request",
        ),
        (
            "scope without openid",
            with(json!({"scope": "profile"})),
            400,
            "invalid_scope",
        ),
    ];
    for (what, body, want, error) in cases {
        let (status, _, answer) = call(&app, "delegation", body).await;
        assert_eq!(status.as_u16(), want, "{what}: {answer}");
        assert_eq!(answer["error"], error, "{what}: {answer}");
    }

    // Expired, and a blocked user.
    app.clock.advance(36_000);
    let (status, _, answer) = call(&app, "delegation", base.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"], "invalid_grant");
    app.clock.advance(-36_000);
    let mut ann = app.store.user(&app.ann).await.unwrap().unwrap();
    ann.blocked = true;
    app.store.update_user(&ann).await.unwrap();
    let (status, _, answer) = call(&app, "delegation", base).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error_description"], "user is blocked");
}
