//! The authorization_code grant: PKCE, exact redirect URIs, single use, and a replayed code
//! revoking what its first use issued. Codes are issued with the core function `/authorize`
//! calls, straight into the store.

use reqwest::StatusCode;
use serde_json::Value;
use sigil_core::ids::ClientId;
use sigil_core::oauth::{CodeGrant, issue_code};
use sigil_core::{SystemRng, UnixTime};

use crate::app::{Body, NOW, RBAC_API, TestApp, post};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "https://app.example.com/callback";

async fn code(app: &TestApp, client: &ClientId, challenge: Option<&str>) -> String {
    issue_code(
        &app.store,
        &SystemRng,
        UnixTime(app.clock_now()),
        CodeGrant {
            client_id: client.clone(),
            user_id: app.ann.clone(),
            session_id: None,
            redirect_uri: REDIRECT.to_owned(),
            scope: ["openid", "email", "offline_access", "read:r"]
                .map(str::to_owned)
                .to_vec(),
            audience: Some(RBAC_API.to_owned()),
            nonce: Some("n-0S6_WzA2Mj".to_owned()),
            code_challenge: challenge.map(str::to_owned),
            auth_time: UnixTime(NOW - 5),
            actions: None,
        },
    )
    .await
    .unwrap()
    .expose()
    .to_owned()
}

fn redeem(client: &ClientId, code: &str, extra: &[(&'static str, &str)]) -> Body {
    let mut pairs = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("client_id", client.to_string()),
        ("code", code.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("code_verifier", VERIFIER.to_owned()),
    ];
    for (name, value) in extra {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push((name, (*value).to_owned()));
        }
    }
    Body::Form(pairs)
}

#[tokio::test]
async fn a_public_client_redeems_its_code_once_with_pkce() {
    let app = TestApp::start().await;
    let native = app.native.clone();
    let code = code(&app, &native, Some(CHALLENGE)).await;
    let (status, _, body) = post(&app, redeem(&native, &code, &[]), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid email offline_access read:r");
    let id = app
        .verifier(native.as_str())
        .await
        .verify::<Value>(body["id_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(
        (id["nonce"].as_str(), id["auth_time"].as_i64()),
        (Some("n-0S6_WzA2Mj"), Some(NOW - 5))
    );
    assert_eq!(id["email"], "ann@example.com");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // The same code again: refused, and the refresh token its first use gave is revoked.
    let (status, _, again) = post(&app, redeem(&native, &code, &[]), None).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant"))
    );
    let (status, _, refreshed) = post(
        &app,
        Body::Form(vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", native.to_string()),
            ("refresh_token", refresh),
        ]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refreshed}");
}

/// What, the code's client, its challenge, the redeeming client, fields to change, seconds to
/// wait, and the expected error description.
type Case<'a> = (
    &'a str,
    &'a ClientId,
    Option<&'a str>,
    &'a ClientId,
    Vec<(&'static str, &'a str)>,
    i64,
    &'a str,
);

#[tokio::test]
async fn codes_are_refused_for_every_mismatch() {
    let app = TestApp::start().await;
    let native = app.native.clone();
    let (backend, secret) = (app.backend.0.clone(), app.backend.1.expose().to_owned());
    let cases: Vec<Case> = vec![
        (
            "wrong verifier",
            &native,
            Some(CHALLENGE),
            &native,
            vec![("code_verifier", "x".repeat(43).leak())],
            0,
            "Failed to verify code verifier",
        ),
        (
            "no verifier",
            &native,
            Some(CHALLENGE),
            &native,
            vec![("code_verifier", "")],
            0,
            "Failed to verify code verifier",
        ),
        (
            "other redirect_uri",
            &native,
            Some(CHALLENGE),
            &native,
            vec![("redirect_uri", "https://app.example.com/callback/")],
            0,
            "redirect_uri does not match the one of the authorization request",
        ),
        (
            "no redirect_uri",
            &native,
            Some(CHALLENGE),
            &native,
            vec![("redirect_uri", "")],
            0,
            "redirect_uri does not match the one of the authorization request",
        ),
        (
            "public client without PKCE",
            &native,
            None,
            &native,
            vec![("code_verifier", "")],
            0,
            "Public clients must use PKCE",
        ),
        (
            "expired",
            &native,
            Some(CHALLENGE),
            &native,
            vec![],
            61,
            "Invalid authorization code",
        ),
        (
            "another client's code",
            &backend,
            Some(CHALLENGE),
            &native,
            vec![],
            0,
            "Invalid authorization code",
        ),
        (
            "unknown code",
            &native,
            Some(CHALLENGE),
            &native,
            vec![("code", "nope")],
            0,
            "Invalid authorization code",
        ),
    ];
    for (what, owner, challenge, redeemer, extra, advance, description) in cases {
        let issued = code(&app, owner, challenge).await;
        app.clock.advance(advance);
        let (status, _, body) = post(&app, redeem(redeemer, &issued, &extra), None).await;
        app.clock.advance(-advance);
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert_eq!(
            (body["error"].as_str(), body["error_description"].as_str()),
            (Some("invalid_grant"), Some(description)),
            "{what}"
        );
    }
    // A confidential client may skip PKCE; it proves itself with its secret.
    let issued = code(&app, &backend, None).await;
    let (status, _, body) = post(
        &app,
        redeem(
            &backend,
            &issued,
            &[("code_verifier", ""), ("client_secret", &secret)],
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
