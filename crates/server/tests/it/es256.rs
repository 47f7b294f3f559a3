//! ES256 and PS256: the P-256 and RSA-PSS key families beside the RSA one. The default JWKS
//! holds RS256 keys only; once the tenant has P-256 keys, an ES256 API gets ES256 access tokens
//! (client credentials and user grants) that verify with the served JWKS and at `/userinfo`,
//! while RS256 APIs, ID tokens and verifiers that only understand RSA carry on as before. The
//! first PS256 API or application makes RSA keys of their own, published as PS256, so that a
//! verifier honouring each key's `alg` accepts PS256 tokens.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::ids::ResourceServerId;
use sigil_core::model::{KeyState, ResourceServer, ResourceServerScope, SigningKeyRecord};
use sigil_core::{ManualClock, Store, SystemRng, UnixTime};
use sigil_jose::{Algorithm, KeySet, Validation, Verifier};
use sigil_server::{App, KEYS_TTL, Secrets};

use crate::app::{API, NOW, TestApp, grant, post};
use crate::management::{audience, call, token_for};
use crate::password::login;

/// An API whose access tokens are ES256.
const ES_API: &str = "https://es256.example.com/";

/// The JWKS as served now.
async fn jwks(app: &TestApp) -> Value {
    app.http
        .get(app.url(".well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `(kid, kty, alg, use)` of every published key.
fn published(jwks: &Value) -> Vec<(String, String, String, String)> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let text = |name: &str| k[name].as_str().unwrap_or("(missing)").to_owned();
            (text("kid"), text("kty"), text("alg"), text("use"))
        })
        .collect()
}

/// A verifier for `alg` tokens from this issuer for `audience`, over the keys of `jwks` that
/// `keep` selects.
fn verifier(
    app: &TestApp,
    jwks: &Value,
    keep: impl Fn(&Value) -> bool,
    alg: Algorithm,
    audience: &str,
) -> Verifier {
    let keys: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| keep(k))
        .collect();
    let (keys, skipped) =
        KeySet::from_jwks(json!({ "keys": keys }).to_string().as_bytes()).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    Verifier::new(
        keys,
        Validation::new([alg])
            .issuer(app.base.clone())
            .audience(audience),
    )
}

/// The JOSE header of `token` (the signature is checked elsewhere).
fn header(token: &str) -> Value {
    Value::Object(sigil_jose::insecure_decode(token).unwrap().header)
}

/// What `sigil apis create --alg ES256` does: a current and a next P-256 key, then the API
/// (`read:e write:e`) with a grant for the machine client. Returns the current and next kids; the
/// server's key ring picks the keys up after [`KEYS_TTL`].
async fn es256_api(app: &TestApp) -> (String, String) {
    let current = SigningKeyRecord::generate_es256(KeyState::Current, UnixTime(NOW)).unwrap();
    let next = SigningKeyRecord::generate_es256(KeyState::Next, UnixTime(NOW)).unwrap();
    for key in [&current, &next] {
        app.store.create_signing_key(key).await.unwrap();
    }
    let mut api = ResourceServer::new(
        ResourceServerId::generate(&SystemRng),
        ES_API.to_owned(),
        "ES256 API".to_owned(),
        UnixTime(NOW),
    );
    api.signing_alg = Algorithm::ES256;
    api.scopes = ["read:e", "write:e"]
        .iter()
        .map(|s| ResourceServerScope {
            value: (*s).to_owned(),
            description: String::new(),
        })
        .collect();
    app.store.create_resource_server(&api).await.unwrap();
    grant(&app.store, &app.machine.0, ES_API, &["read:e"]).await;
    (current.kid, next.kid)
}

async fn machine_token(app: &TestApp, audience: &str) -> String {
    let (status, body) = crate::app::machine_token(app, audience).await;
    assert_eq!(status, StatusCode::OK, "{audience}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_default_jwks_holds_only_rsa_keys() {
    let app = TestApp::start().await;
    let jwks = jwks(&app).await;
    let keys = published(&jwks);
    assert!(!keys.is_empty());
    for (kid, kty, alg, usage) in &keys {
        assert_eq!(
            (kty.as_str(), alg.as_str(), usage.as_str()),
            ("RSA", "RS256", "sig"),
            "{kid}"
        );
    }
    // A verifier that only understands RSA reads the whole set and checks the tokens.
    let rsa_only = verifier(&app, &jwks, |_| true, Algorithm::RS256, API);
    rsa_only
        .verify::<Value>(&machine_token(&app, API).await, UnixTime(NOW))
        .unwrap();
}

#[tokio::test]
async fn an_es256_api_gets_es256_access_tokens_that_verify_with_the_served_jwks() {
    let app = TestApp::start().await;
    let rsa_kids: Vec<String> = published(&jwks(&app).await)
        .into_iter()
        .map(|(kid, ..)| kid)
        .collect();
    let (ec_current, ec_next) = es256_api(&app).await;
    app.clock.advance(KEYS_TTL);
    let now = UnixTime(NOW + KEYS_TTL);

    // The JWKS publishes both families: the RSA keys as before, and the P-256 ones (keys made
    // in the same second are listed in kid order, so the order is not compared).
    let jwks = jwks(&app).await;
    let mut expected: Vec<(String, String, String, String)> = rsa_kids
        .iter()
        .map(|kid| (kid.clone(), "RSA".into(), "RS256".into(), "sig".into()))
        .collect();
    for kid in [&ec_current, &ec_next] {
        expected.push((kid.clone(), "EC".into(), "ES256".into(), "sig".into()));
    }
    let mut served = published(&jwks);
    served.sort();
    expected.sort();
    assert_eq!(served, expected);
    for key in jwks["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} published");
        }
    }

    // Client credentials: an ES256 token from the current P-256 key, checked with the served
    // JWKS; an RS256-only policy refuses it.
    let token = machine_token(&app, ES_API).await;
    let head = header(&token);
    assert_eq!(
        (&head["alg"], &head["typ"], &head["kid"]),
        (&json!("ES256"), &json!("JWT"), &json!(ec_current))
    );
    let claims = verifier(&app, &jwks, |_| true, Algorithm::ES256, ES_API)
        .verify::<Value>(&token, now)
        .unwrap()
        .claims;
    assert_eq!(claims["aud"], ES_API);
    assert_eq!(claims["scope"], "read:e");
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(claims["sub"], format!("{}@clients", app.machine.0));
    assert!(
        verifier(&app, &jwks, |_| true, Algorithm::RS256, ES_API)
            .verify::<Value>(&token, now)
            .is_err(),
        "an RS256-only policy accepted an ES256 token"
    );

    // RS256 APIs are still signed by the RSA key, and a verifier that keeps only the RSA keys
    // of the set (as an RSA-only library does) still checks them.
    let rsa_token = machine_token(&app, API).await;
    assert_eq!(header(&rsa_token)["alg"], "RS256");
    verifier(&app, &jwks, |k| k["kty"] == "RSA", Algorithm::RS256, API)
        .verify::<Value>(&rsa_token, now)
        .unwrap();

    // A user's access token for the ES256 API is ES256 too, and /userinfo accepts it; the ID
    // token stays RS256.
    let (status, _, body) = post(
        &app,
        login(
            &app,
            json!({"audience": ES_API, "scope": "openid email read:e"}),
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(header(access)["alg"], "ES256");
    let claims = verifier(&app, &jwks, |_| true, Algorithm::ES256, ES_API)
        .verify::<Value>(access, now)
        .unwrap()
        .claims;
    assert_eq!(claims["aud"], json!([ES_API, app.url("userinfo")]));
    assert_eq!(header(body["id_token"].as_str().unwrap())["alg"], "RS256");
    let response = app
        .http
        .get(app.url("userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["email"], "ann@example.com");

    // Discovery stays truthful: ID tokens are RS256, PS256 or HS256 (as an application
    // chooses), never ES256.
    let config: Value = app
        .http
        .get(app.url(".well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config["id_token_signing_alg_values_supported"],
        json!(["RS256", "PS256", "HS256"])
    );
}

#[tokio::test]
async fn rotating_the_p256_family_leaves_the_rsa_key_signing() {
    let app = TestApp::start().await;
    let (ec_current, ec_next) = es256_api(&app).await;
    app.clock.advance(KEYS_TTL);
    let before = machine_token(&app, ES_API).await;
    let rsa_before = header(&machine_token(&app, API).await)["kid"].clone();
    assert_eq!(header(&before)["kid"], json!(ec_current));

    let newest = SigningKeyRecord::generate_es256(KeyState::Next, UnixTime(NOW)).unwrap();
    app.store
        .rotate_signing_keys(&newest, UnixTime(NOW + KEYS_TTL))
        .await
        .unwrap();
    app.clock.advance(KEYS_TTL);
    let now = UnixTime(NOW + 2 * KEYS_TTL);
    let after = machine_token(&app, ES_API).await;
    assert_eq!(
        header(&after)["kid"],
        json!(ec_next),
        "the published next key signs"
    );
    assert_eq!(
        header(&machine_token(&app, API).await)["kid"],
        rsa_before,
        "the RSA family was not rotated"
    );
    // The retired key stays published, so tokens it signed still verify.
    let jwks = jwks(&app).await;
    let kids: Vec<String> = published(&jwks).into_iter().map(|(kid, ..)| kid).collect();
    for kid in [&ec_current, &ec_next, &newest.kid] {
        assert!(kids.contains(kid), "{kid} is not published");
    }
    let verifier = verifier(&app, &jwks, |_| true, Algorithm::ES256, ES_API);
    for token in [&before, &after] {
        verifier.verify::<Value>(token, now).unwrap();
    }
}

#[tokio::test]
async fn the_first_es256_api_gets_tokens_at_once_without_waiting_for_the_key_reload() {
    let app = TestApp::start().await;
    // The server has loaded its (RSA-only) keys; the P-256 family and the API appear now.
    machine_token(&app, API).await;
    let (ec_current, _) = es256_api(&app).await;
    let token = machine_token(&app, ES_API).await;
    assert_eq!(header(&token)["kid"], json!(ec_current));
}

/// An API whose access tokens are PS256.
const PS_API: &str = "https://ps256.example.com/";

#[tokio::test]
async fn the_first_ps256_api_and_application_get_keys_published_as_ps256() {
    let app = TestApp::start().await;
    let admin = token_for(
        &app,
        &audience(&app),
        &["create:resource_servers", "update:clients"],
    )
    .await;
    let rs256: Vec<String> = published(&jwks(&app).await)
        .into_iter()
        .map(|(kid, ..)| kid)
        .collect();
    let (status, api) = call(
        &app,
        "POST",
        "/resource-servers",
        Some(&admin),
        Some(
            json!({"identifier": PS_API, "signing_alg": "PS256", "scopes": [{"value": "read:p"}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{api}");
    grant(&app.store, &app.machine.0, PS_API, &["read:p"]).await;

    // A current and a next RSA key of their own, published as PS256 beside the RS256 ones,
    // which stay as they were.
    let jwks = jwks(&app).await;
    let served = published(&jwks);
    let pss: Vec<&String> = served
        .iter()
        .filter(|(_, kty, alg, _)| kty == "RSA" && alg == "PS256")
        .map(|(kid, ..)| kid)
        .collect();
    assert_eq!(pss.len(), 2, "{served:?}");
    let rs: Vec<String> = served
        .iter()
        .filter(|(_, _, alg, _)| alg == "RS256")
        .map(|(kid, ..)| kid.clone())
        .collect();
    assert_eq!(rs, rs256);

    // The API's token is signed by one of them, and a verifier that takes each key for its
    // own alg only (as sigil-guard and jose do) accepts it.
    let now = UnixTime(NOW);
    let token = machine_token(&app, PS_API).await;
    let head = header(&token);
    assert_eq!(head["alg"], "PS256");
    assert!(pss.iter().any(|kid| head["kid"] == json!(kid)), "{head}");
    let claims = verifier(&app, &jwks, |_| true, Algorithm::PS256, PS_API)
        .verify::<Value>(&token, now)
        .unwrap()
        .claims;
    assert_eq!(claims["scope"], "read:p");
    // RS256 APIs keep their RS256 keys.
    assert_eq!(header(&machine_token(&app, API).await)["alg"], "RS256");

    // An application that chooses PS256 ID tokens gets them from the same family.
    let (status, client) = call(
        &app,
        "PATCH",
        &format!("/clients/{}", app.native),
        Some(&admin),
        Some(json!({"jwt_configuration": {"alg": "PS256"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{client}");
    let (status, _, body) = post(&app, login(&app, json!({"scope": "openid"})), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id_token = body["id_token"].as_str().unwrap();
    assert_eq!(header(id_token)["kid"], header(&token)["kid"]);
    verifier(&app, &jwks, |_| true, Algorithm::PS256, app.native.as_str())
        .verify::<Value>(id_token, now)
        .unwrap();
}

#[tokio::test]
async fn a_server_starting_where_a_ps256_api_predates_the_family_makes_it() {
    let app = TestApp::start().await;
    // Before the PS256 family existed, a PS256 API was signed for by the RSA key.
    let mut api = ResourceServer::new(
        ResourceServerId::generate(&SystemRng),
        PS_API.to_owned(),
        "Old PS256 API".to_owned(),
        UnixTime(NOW),
    );
    api.signing_alg = Algorithm::PS256;
    app.store.create_resource_server(&api).await.unwrap();
    let family = |keys: Vec<SigningKeyRecord>| -> Vec<(KeyState, String)> {
        let mut found: Vec<(KeyState, String)> = keys
            .into_iter()
            .filter(|k| k.alg == Algorithm::PS256)
            .map(|k| (k.state, k.kid))
            .collect();
        found.sort_by_key(|(state, _)| state.as_str());
        found
    };
    assert_eq!(family(app.store.signing_keys().await.unwrap()), []);

    // A server starting on that tenant makes the family, once.
    let start = || async {
        App::new(
            app.store.clone(),
            app.base.clone(),
            Arc::new(ManualClock::new(UnixTime(NOW))),
            Arc::new(SystemRng),
            Secrets::derive(|purpose| app.store.derived_key(purpose)),
            None,
            sigil_server::HasherOptions::default(),
            sigil_server::ActionLimits::default(),
        )
        .await
        .unwrap()
    };
    drop(start().await);
    let made = family(app.store.signing_keys().await.unwrap());
    let states: Vec<KeyState> = made.iter().map(|(state, _)| *state).collect();
    assert_eq!(states, [KeyState::Current, KeyState::Next]);
    drop(start().await);
    assert_eq!(family(app.store.signing_keys().await.unwrap()), made);
}
