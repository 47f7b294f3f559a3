//! `POST /oauth/token` with the client credentials grant: every way to authenticate, the scope
//! cut, and every refusal with its RFC 6749 code and Auth0's status.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::UnixTime;
use sigil_server::KEYS_TTL;

use crate::app::{API, Basic, Body, NOW, TestApp, post, signing_key};

#[tokio::test]
async fn machines_get_signed_access_tokens_in_every_way_they_may_ask() {
    let app = TestApp::start().await;
    let (id, secret) = (app.machine.0.to_string(), app.machine.1.expose().to_owned());
    let management = app.url("api/v2/");
    let https_management = app.base.replace("http://", "https://") + "api/v2/";
    // (what, body, basic auth, expected audience, expected scope)
    let cases: Vec<(&str, Body, Basic, String, &str)> = vec![
        (
            "form, secret in the body",
            Body::Form(vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", id.clone()),
                ("client_secret", secret.clone()),
                ("audience", API.into()),
            ]),
            None,
            API.into(),
            "read:a write:a",
        ),
        (
            "JSON, nulls are absent",
            Body::Json(
                json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": API, "scope": null}),
            ),
            None,
            API.into(),
            "read:a write:a",
        ),
        (
            "HTTP Basic",
            Body::Form(vec![
                ("grant_type", "client_credentials".into()),
                ("audience", API.into()),
            ]),
            Some((&id, &secret)),
            API.into(),
            "read:a write:a",
        ),
        (
            "requested scopes are cut to the granted ones",
            Body::Form(vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", id.clone()),
                ("client_secret", secret.clone()),
                ("audience", API.into()),
                ("scope", "read:a delete:a unknown".into()),
            ]),
            None,
            API.into(),
            "read:a",
        ),
        (
            "the Management API answers to https://<host>/api/v2/",
            Body::Json(
                json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": https_management}),
            ),
            None,
            management.clone(),
            "read:users",
        ),
    ];
    for (what, body, basic, audience, scope) in cases {
        let (status, headers, body) = post(&app, body, basic).await;
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(body["token_type"], "Bearer", "{what}");
        assert_eq!(body["expires_in"], 86_400, "{what}");
        assert_eq!(body["scope"], scope, "{what}");
        let verified = app
            .verifier(&audience)
            .await
            .verify::<Value>(body["access_token"].as_str().unwrap(), UnixTime(NOW))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let claims = verified.claims;
        assert_eq!(verified.header.typ.as_deref(), Some("JWT"), "{what}");
        assert_eq!(claims["iss"], app.base, "{what}");
        assert_eq!(claims["sub"], format!("{id}@clients"), "{what}");
        assert_eq!(claims["aud"], audience, "{what}");
        assert_eq!(claims["azp"], id, "{what}");
        assert_eq!(claims["gty"], "client-credentials", "{what}");
        assert_eq!(claims["scope"], scope, "{what}");
        assert_eq!(claims["iat"], NOW, "{what}");
        assert_eq!(claims["exp"], NOW + 86_400, "{what}");
    }
}

#[tokio::test]
async fn bad_requests_get_the_right_code_and_status() {
    let app = TestApp::start().await;
    let (id, secret) = (app.machine.0.to_string(), app.machine.1.expose().to_owned());
    let form = |extra: &[(&'static str, &str)]| {
        let mut pairs: Vec<(&'static str, String)> = vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", id.clone()),
            ("client_secret", secret.clone()),
            ("audience", API.into()),
        ];
        for (name, value) in extra {
            pairs.retain(|(n, _)| n != name);
            if !value.is_empty() {
                pairs.push((name, (*value).to_owned()));
            }
        }
        Body::Form(pairs)
    };
    let web = (app.web.0.to_string(), app.web.1.expose().to_owned());
    let ungranted = (
        app.ungranted.0.to_string(),
        app.ungranted.1.expose().to_owned(),
    );
    // (what, body, basic, status, error)
    let cases: Vec<(&str, Body, Basic, u16, &str)> = vec![
        (
            "wrong secret",
            form(&[("client_secret", "nope")]),
            None,
            401,
            "invalid_client",
        ),
        (
            "unknown client",
            form(&[("client_id", "nobody")]),
            None,
            401,
            "invalid_client",
        ),
        (
            "no credentials",
            form(&[("client_id", ""), ("client_secret", "")]),
            None,
            401,
            "invalid_client",
        ),
        (
            "wrong Basic secret",
            form(&[("client_id", ""), ("client_secret", "")]),
            Some((&id, "nope")),
            401,
            "invalid_client",
        ),
        (
            "Basic and a body secret",
            form(&[]),
            Some((&id, &secret)),
            400,
            "invalid_request",
        ),
        (
            "client without the grant type",
            form(&[("client_id", &web.0), ("client_secret", &web.1)]),
            None,
            403,
            "unauthorized_client",
        ),
        (
            "no audience",
            form(&[("audience", "")]),
            None,
            403,
            "access_denied",
        ),
        (
            "unknown API",
            form(&[("audience", "https://nowhere.example/")]),
            None,
            403,
            "access_denied",
        ),
        (
            "no client grant",
            form(&[("client_id", &ungranted.0), ("client_secret", &ungranted.1)]),
            None,
            403,
            "access_denied",
        ),
        (
            "unknown grant type",
            form(&[("grant_type", "magic")]),
            None,
            400,
            "unsupported_grant_type",
        ),
        (
            "a grant not served yet",
            form(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")]),
            None,
            400,
            "unsupported_grant_type",
        ),
        (
            "no grant type",
            form(&[("grant_type", "")]),
            None,
            400,
            "invalid_request",
        ),
        (
            "unknown parameter",
            form(&[("colour", "blue")]),
            None,
            400,
            "invalid_request",
        ),
        (
            "repeated parameter",
            Body::Raw(
                "application/x-www-form-urlencoded",
                b"grant_type=client_credentials&grant_type=client_credentials".to_vec(),
            ),
            None,
            400,
            "invalid_request",
        ),
        (
            "JSON number for a string",
            Body::Json(json!({"grant_type": "client_credentials", "client_id": 7})),
            None,
            400,
            "invalid_request",
        ),
        (
            "malformed JSON",
            Body::Raw("application/json", b"{\"grant_type\":".to_vec()),
            None,
            400,
            "invalid_request",
        ),
        (
            "JSON that is not an object",
            Body::Raw("application/json", b"[1,2]".to_vec()),
            None,
            400,
            "invalid_request",
        ),
        (
            "text body",
            Body::Raw("text/plain", b"grant_type=client_credentials".to_vec()),
            None,
            400,
            "invalid_request",
        ),
        (
            "no content type",
            Body::Raw("", Vec::new()),
            None,
            400,
            "invalid_request",
        ),
    ];
    for (what, body, basic, status, error) in cases {
        let (got, headers, body) = post(&app, body, basic).await;
        assert_eq!(got.as_u16(), status, "{what}: {body}");
        assert_eq!(body["error"], error, "{what}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{what}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(
            headers.contains_key("www-authenticate"),
            error == "invalid_client",
            "{what}"
        );
    }
    // Bodies over the limit are refused before they are read.
    let huge = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(sigil_server::MAX_BODY)
    );
    let (status, _, _) = post(
        &app,
        Body::Raw("application/x-www-form-urlencoded", huge.into_bytes()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_rotated_key_signs_within_the_reload_bound_and_old_tokens_still_verify() {
    let app = TestApp::start().await;
    let ask = || {
        Body::Json(json!({
            "grant_type": "client_credentials",
            "client_id": app.machine.0.to_string(),
            "client_secret": app.machine.1.expose(),
            "audience": API,
        }))
    };
    let kid = |token: &str| {
        sigil_jose::insecure_decode(token).unwrap().header["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (_, _, before) = post(&app, ask(), None).await;
    let before = before["access_token"].as_str().unwrap().to_owned();
    app.store
        .rotate_signing_keys(&signing_key(NOW + 1), UnixTime(NOW + 1))
        .await
        .unwrap();
    app.clock.advance(KEYS_TTL);
    let (_, _, after) = post(&app, ask(), None).await;
    let after = after["access_token"].as_str().unwrap().to_owned();
    assert_ne!(
        kid(&before),
        kid(&after),
        "the new key signs after the reload bound"
    );
    let verifier = app.verifier(API).await;
    for token in [&before, &after] {
        verifier
            .verify::<Value>(token, UnixTime(NOW + KEYS_TTL))
            .unwrap();
    }
}

#[tokio::test]
async fn machine_token_lookups_are_cached_for_at_most_the_documented_bound() {
    let app = TestApp::start().await;
    let ask = || {
        Body::Json(json!({
            "grant_type": "client_credentials",
            "client_id": app.machine.0.to_string(),
            "client_secret": app.machine.1.expose(),
            "audience": API,
        }))
    };
    let (status, _, _) = post(&app, ask(), None).await;
    assert_eq!(status, StatusCode::OK);
    // The grant goes; within the bound the cached one still answers, after it the store does.
    let grant = app
        .store
        .client_grant_for(&app.machine.0, API)
        .await
        .unwrap()
        .unwrap();
    app.store.delete_client_grant(&grant.id).await.unwrap();
    app.clock.advance(sigil_server::CACHE_TTL - 1);
    let (status, _, _) = post(&app, ask(), None).await;
    assert_eq!(status, StatusCode::OK, "cached for less than CACHE_TTL");
    app.clock.advance(1);
    let (status, _, body) = post(&app, ask(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("access_denied")),
        "gone once CACHE_TTL has passed"
    );
}
