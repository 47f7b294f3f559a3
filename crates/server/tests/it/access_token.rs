//! Access tokens in their API's profile, whoever they are for: Auth0's (`typ: JWT`, `azp`,
//! `gty`) or RFC 9068's (`typ: at+jwt`, `client_id`, `jti`), the same for a user's token and a
//! machine's.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::ids::ResourceServerId;
use sigil_core::model::{ResourceServer, ResourceServerScope, TokenDialect};
use sigil_core::{Store, SystemRng, UnixTime};
use sigil_jose::TypPolicy;

use crate::app::{API, NOW, TestApp, grant, post};

const RFC9068_API: &str = "https://rfc9068.example.com/";

/// An API in the RFC 9068 profile with a `read:r` scope, granted to the machine client.
async fn rfc9068_api(app: &TestApp) {
    let mut api = ResourceServer::new(
        ResourceServerId::generate(&SystemRng),
        RFC9068_API.to_owned(),
        "RFC 9068 API".to_owned(),
        UnixTime(NOW),
    );
    api.token_dialect = TokenDialect::Rfc9068Profile;
    api.scopes = vec![ResourceServerScope {
        value: "read:r".to_owned(),
        description: String::new(),
    }];
    app.store.create_resource_server(&api).await.unwrap();
    grant(&app.store, &app.machine.0, RFC9068_API, &["read:r"]).await;
}

async fn user_token(app: &TestApp, audience: &str) -> String {
    let (status, _, body) = post(
        app,
        crate::password::login(app, json!({"audience": audience, "scope": "openid read:r"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn machine_token(app: &TestApp, audience: &str) -> String {
    let (status, body) = crate::app::machine_token(app, audience).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_access_token_follows_its_apis_profile() {
    let app = TestApp::start().await;
    rfc9068_api(&app).await;
    let native = app.native.to_string();
    let machine = app.machine.0.to_string();
    // (what, token, audience, client, gty in Auth0's profile)
    let cases = [
        (
            "a user's, RFC 9068",
            user_token(&app, RFC9068_API).await,
            RFC9068_API,
            native.as_str(),
            None,
        ),
        (
            "a machine's, RFC 9068",
            machine_token(&app, RFC9068_API).await,
            RFC9068_API,
            machine.as_str(),
            None,
        ),
        (
            "a user's, Auth0's",
            user_token(&app, API).await,
            API,
            native.as_str(),
            Some("password"),
        ),
    ];
    for (what, token, audience, client, gty) in cases {
        let rfc9068 = audience == RFC9068_API;
        let typ = if rfc9068 {
            // What sigil-guard's strict mode (and any RFC 9068 verifier) requires.
            TypPolicy::Require(vec!["at+jwt".to_owned()])
        } else {
            TypPolicy::Jwt
        };
        let verified = app
            .verifier_with(audience, typ)
            .await
            .verify::<Value>(&token, UnixTime(app.clock_now()))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let claims = verified.claims;
        // sigil-guard, as an API would run it: strict (RFC 9068) for that profile's API.
        let jwks = app.jwks().await;
        let guard = |strict: bool| {
            sigil_guard::Guard::builder()
                .issuer(app.base.clone())
                .audience(audience)
                .strict(strict)
                .clock(std::sync::Arc::new(sigil_guard::ManualClock::new(
                    sigil_jose::UnixTime(app.clock_now()),
                )))
                .build_with_jwks(&jwks)
                .unwrap()
        };
        let guarded = guard(rfc9068).verify(&token).await;
        assert!(
            guarded.is_ok(),
            "{what}: sigil-guard refused it: {guarded:?}"
        );
        if !rfc9068 {
            // Auth0's profile is not RFC 9068's: strict mode refuses it.
            assert!(guard(true).verify(&token).await.is_err(), "{what}");
        }
        if rfc9068 {
            assert_eq!(verified.header.typ.as_deref(), Some("at+jwt"), "{what}");
            assert_eq!(claims["client_id"], client, "{what}");
            let jti = claims["jti"].as_str().unwrap_or_default();
            assert_eq!(jti.len(), 24, "{what}: {claims}");
            assert!(claims.get("azp").is_none(), "{what}: {claims}");
            assert!(claims.get("gty").is_none(), "{what}: {claims}");
        } else {
            assert_eq!(claims["azp"], client, "{what}");
            assert_eq!(claims.get("gty").and_then(Value::as_str), gty, "{what}");
            assert!(claims.get("client_id").is_none(), "{what}: {claims}");
            assert!(claims.get("jti").is_none(), "{what}: {claims}");
        }
    }
}
