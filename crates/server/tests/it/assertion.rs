//! `private_key_jwt` client authentication (RFC 7523): assertions signed with `sigil-jose` by
//! keys the client registered, accepted for each `aud` form SDKs send, on every grant and on
//! `/oauth/revoke`; and every way an assertion or a mix of credentials is refused.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::ids::{self, ClientGrantId, ClientId};
use sigil_core::model::{
    AppType, Client, ClientCredential, ClientGrant, ClientSettings, GrantType,
    TokenEndpointAuthMethod,
};
use sigil_core::oauth::{CodeGrant, JWT_BEARER, issue_code};
use sigil_core::{Store, SystemRng, UnixTime};
use sigil_jose::{Algorithm, KeySpec, PrivateKey, Secret, SigningKey};

use crate::app::{API, Basic, Body, NOW, PASSWORD, RBAC_API, TestApp, post};

/// A `private_key_jwt` client with two registered keys: RSA (RS256, kid `rsa-1`) and P-256
/// (ES256, kid `ec-1`).
struct KeyClient {
    id: ClientId,
    rsa: SigningKey,
    ec: SigningKey,
    /// The RSA private key, PKCS#8, to sign with under other kids.
    rsa_pkcs8: Vec<u8>,
    /// The registered RSA public key, PEM: what an attacker might use as an HMAC secret.
    rsa_pem: String,
}

impl KeyClient {
    /// The registered RSA key, signing RS256 with `kid` in the header.
    fn rsa_with_kid(&self, kid: Option<&str>) -> SigningKey {
        SigningKey::new(
            PrivateKey::from_pkcs8_der(&self.rsa_pkcs8).unwrap(),
            Algorithm::RS256,
        )
        .unwrap()
        .with_kid(kid.map(str::to_owned))
    }
}

fn key(alg: Algorithm, kid: &str) -> SigningKey {
    SigningKey::new(generate(alg), alg)
        .unwrap()
        .with_kid(Some(kid.to_owned()))
}

fn generate(alg: Algorithm) -> PrivateKey {
    PrivateKey::generate(KeySpec::for_algorithm(alg)).unwrap()
}

fn credential(key: &SigningKey, kid: &str) -> ClientCredential {
    ClientCredential {
        id: format!("cred_{kid}"),
        name: None,
        kid: Some(kid.to_owned()),
        alg: key.alg(),
        pem: key.public_key().unwrap().to_pem().unwrap(),
        created_at: UnixTime(NOW),
    }
}

/// Registers a confidential web application that authenticates with `private_key_jwt` only
/// (no secret), allowed every grant that authenticates a client, with a grant for [`API`].
async fn key_client(app: &TestApp) -> KeyClient {
    let rsa_private = generate(Algorithm::RS256);
    let rsa_pkcs8 = rsa_private.to_pkcs8_der().unwrap().to_vec();
    let rsa = SigningKey::new(rsa_private, Algorithm::RS256)
        .unwrap()
        .with_kid(Some("rsa-1".to_owned()));
    let ec = key(Algorithm::ES256, "ec-1");
    let mut settings = ClientSettings::for_type(AppType::RegularWeb);
    settings.grant_types = vec![
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::PasswordRealm,
    ];
    settings.callbacks = vec![crate::app::CALLBACK.to_owned()];
    settings.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
    settings.credentials = vec![credential(&rsa, "rsa-1"), credential(&ec, "ec-1")];
    let id = ClientId::generate(&SystemRng);
    app.store
        .create_client(&Client {
            client_id: id.clone(),
            name: "Keyed".to_owned(),
            app_type: AppType::RegularWeb,
            is_first_party: true,
            secret_digest: None,
            signing_secret: None,
            settings,
            created_at: UnixTime(NOW),
            updated_at: UnixTime(NOW),
        })
        .await
        .unwrap();
    app.store
        .create_client_grant(&ClientGrant {
            id: ClientGrantId::generate(&SystemRng),
            client_id: id.clone(),
            audience: API.to_owned(),
            scope: vec!["read:a".to_owned()],
            created_at: UnixTime(NOW),
        })
        .await
        .unwrap();
    let rsa_pem = rsa.public_key().unwrap().to_pem().unwrap();
    KeyClient {
        id,
        rsa,
        ec,
        rsa_pkcs8,
        rsa_pem,
    }
}

/// Good claims for `client` at `app`, as of the app's clock: aud the issuer, a fresh jti,
/// one minute to live.
fn claims(app: &TestApp, client: &ClientId) -> Value {
    let now = app.clock_now();
    json!({
        "iss": client.as_str(), "sub": client.as_str(), "aud": app.base,
        "iat": now, "exp": now + 60, "jti": ids::alphanumeric(&SystemRng, 24),
    })
}

/// `claims` with `changes` applied; a `null` removes the claim.
fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    key.sign(claims).unwrap()
}

/// A client-credentials request authenticated by `assertion`, with `client_id` when given.
fn machine_request(assertion: &str, client_id: Option<&ClientId>) -> Body {
    let mut pairs = vec![
        ("grant_type", "client_credentials".to_owned()),
        ("audience", API.to_owned()),
        ("client_assertion_type", JWT_BEARER.to_owned()),
        ("client_assertion", assertion.to_owned()),
    ];
    if let Some(id) = client_id {
        pairs.push(("client_id", id.to_string()));
    }
    Body::Form(pairs)
}

#[tokio::test]
async fn assertions_signed_with_a_registered_key_get_tokens_for_every_audience_form() {
    let app = TestApp::start().await;
    let client = key_client(&app).await;
    let id = &client.id;
    let host = app.base.trim_start_matches("http://").trim_end_matches('/');
    let https_host = format!("https://{host}/");
    let no_kid = client.rsa_with_kid(None);
    // (what, the request)
    let cases: Vec<(&str, Body)> = vec![
        (
            "aud the issuer, RS256, form with client_id",
            machine_request(&sign(&client.rsa, &claims(&app, id)), Some(id)),
        ),
        (
            "aud the token endpoint, ES256, JSON",
            Body::Json(json!({
                "grant_type": "client_credentials", "audience": API, "client_id": id.as_str(),
                "client_assertion_type": JWT_BEARER,
                "client_assertion": sign(&client.ec, &with(claims(&app, id), json!({"aud": app.url("oauth/token")}))),
            })),
        ),
        (
            "aud https://<host>/, no client_id: the client is found by sub",
            machine_request(
                &sign(
                    &client.rsa,
                    &with(claims(&app, id), json!({"aud": https_host})),
                ),
                None,
            ),
        ),
        (
            "aud an array naming the issuer among others",
            machine_request(
                &sign(
                    &client.ec,
                    &with(
                        claims(&app, id),
                        json!({"aud": ["https://elsewhere.example/", app.base]}),
                    ),
                ),
                Some(id),
            ),
        ),
        (
            "no kid: the one key for RS256 is used",
            machine_request(&sign(&no_kid, &claims(&app, id)), Some(id)),
        ),
        (
            "exp the full five minutes ahead, iat a little ahead (clock skew)",
            machine_request(
                &sign(
                    &client.rsa,
                    &with(claims(&app, id), json!({"exp": NOW + 300, "iat": NOW + 5})),
                ),
                Some(id),
            ),
        ),
        (
            "without iat (optional, as at Auth0), typ client-authentication+jwt",
            machine_request(
                &client
                    .rsa
                    .sign_with_typ(
                        "client-authentication+jwt",
                        &with(claims(&app, id), json!({"iat": null})),
                    )
                    .unwrap(),
                Some(id),
            ),
        ),
    ];
    for (what, body) in cases {
        let (status, headers, body) = post(&app, body, None).await;
        assert_eq!(status, StatusCode::OK, "{what}: {body}");
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        let claims = app
            .verifier(API)
            .await
            .verify::<Value>(body["access_token"].as_str().unwrap(), UnixTime(NOW))
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .claims;
        assert_eq!(claims["sub"], format!("{id}@clients"), "{what}");
        assert_eq!(claims["scope"], "read:a", "{what}");
    }
}

#[tokio::test]
async fn bad_assertions_and_mixed_credentials_are_refused() {
    let app = TestApp::start().await;
    let client = key_client(&app).await;
    let id = &client.id;
    let good = || claims(&app, id);

    // Used once, then replayed below.
    let used = sign(&client.rsa, &good());
    let (status, _, body) = post(&app, machine_request(&used, Some(id)), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let stranger = key(Algorithm::RS256, "rsa-1");
    let hmac = SigningKey::new(
        PrivateKey::from_secret(Secret::new(client.rsa_pem.clone().into_bytes())),
        Algorithm::HS256,
    )
    .unwrap()
    .with_kid(Some("rsa-1".to_owned()));
    let b64 = |v: &Value| base64_simd::URL_SAFE_NO_PAD.encode_to_string(v.to_string());
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good())
    );
    let machine = (app.machine.0.clone(), app.machine.1.expose().to_owned());
    let as_machine = with(
        good(),
        json!({"iss": machine.0.as_str(), "sub": machine.0.as_str()}),
    );
    let secret_and_assertion = {
        let mut pairs = match machine_request(&sign(&client.rsa, &good()), Some(id)) {
            Body::Form(pairs) => pairs,
            _ => unreachable!(),
        };
        pairs.push(("client_secret", "anything".to_owned()));
        Body::Form(pairs)
    };
    let form = |pairs: &[(&'static str, &str)]| {
        let mut all = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("audience", API.to_owned()),
        ];
        all.extend(pairs.iter().map(|(n, v)| (*n, (*v).to_owned())));
        Body::Form(all)
    };
    let fresh = sign(&client.rsa, &good());
    // (what, body, basic, status, error, a fragment of the description)
    let cases: Vec<(&str, Body, Basic, u16, &str, &str)> = vec![
        (
            "a replayed jti",
            machine_request(&used, Some(id)),
            None,
            401,
            "invalid_client",
            "jti was used already",
        ),
        (
            "expired beyond the clock skew",
            machine_request(
                &sign(
                    &client.rsa,
                    &with(good(), json!({"iat": NOW - 100, "exp": NOW - 11})),
                ),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "expired",
        ),
        (
            "exp more than five minutes ahead",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"exp": NOW + 400}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "more than 300 seconds ahead",
        ),
        (
            "no exp",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"exp": null}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "\"exp\" is missing",
        ),
        (
            "iat in the future",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"iat": NOW + 60}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "iat is in the future",
        ),
        (
            "a wrong aud",
            machine_request(
                &sign(
                    &client.rsa,
                    &with(good(), json!({"aud": "https://elsewhere.example/"})),
                ),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "audience",
        ),
        (
            "no aud",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"aud": null}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "\"aud\" is missing",
        ),
        (
            "a wrong iss",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"iss": "someone-else"}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "issuer",
        ),
        (
            "a wrong sub",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"sub": "someone-else"}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "sub must be the client_id",
        ),
        (
            "signed by an unregistered key that claims a registered kid",
            machine_request(&sign(&stranger, &good()), Some(id)),
            None,
            401,
            "invalid_client",
            "signature does not match",
        ),
        (
            "a kid the client never registered",
            machine_request(&sign(&key(Algorithm::RS256, "rsa-2"), &good()), Some(id)),
            None,
            401,
            "invalid_client",
            "no key with kid",
        ),
        (
            "alg none",
            machine_request(&unsigned, Some(id)),
            None,
            401,
            "invalid_client",
            "unsigned",
        ),
        (
            "HS256 keyed with the registered public key's PEM",
            machine_request(&sign(&hmac, &good()), Some(id)),
            None,
            401,
            "invalid_client",
            "HS256 is not in the allowed list",
        ),
        (
            "the ES256 key's kid on an RS256 assertion",
            machine_request(&sign(&client.rsa_with_kid(Some("ec-1")), &good()), Some(id)),
            None,
            401,
            "invalid_client",
            "not allowed for a P-256 key",
        ),
        (
            "no jti",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"jti": null}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "\"jti\" is missing",
        ),
        (
            "an empty jti",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"jti": ""}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "jti must be 1 to 64",
        ),
        (
            "a jti longer than 64 characters",
            machine_request(
                &sign(&client.rsa, &with(good(), json!({"jti": "j".repeat(65)}))),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "jti must be 1 to 64",
        ),
        (
            "typ at+jwt (an access token is not an assertion)",
            machine_request(
                &client.rsa.sign_with_typ("at+jwt", &good()).unwrap(),
                Some(id),
            ),
            None,
            401,
            "invalid_client",
            "typ at+jwt",
        ),
        (
            "client_id names another client than the assertion",
            machine_request(&fresh, Some(&machine.0)),
            None,
            401,
            "invalid_client",
            "does not authenticate with private_key_jwt",
        ),
        (
            "not a JWT, no client_id",
            machine_request("not-a-jwt", None),
            None,
            401,
            "invalid_client",
            "not a JWT",
        ),
        (
            "a secret for a private_key_jwt client",
            form(&[("client_id", id.as_str()), ("client_secret", "anything")]),
            None,
            401,
            "invalid_client",
            "authenticates with private_key_jwt",
        ),
        (
            "HTTP Basic for a private_key_jwt client",
            form(&[]),
            Some((id.as_str(), "anything")),
            401,
            "invalid_client",
            "authenticates with private_key_jwt",
        ),
        (
            "only the client_id of a private_key_jwt client",
            form(&[("client_id", id.as_str())]),
            None,
            401,
            "invalid_client",
            "authenticates with private_key_jwt",
        ),
        (
            "an assertion for a client with a secret",
            machine_request(&sign(&client.rsa, &as_machine), Some(&machine.0)),
            None,
            401,
            "invalid_client",
            "does not authenticate with private_key_jwt",
        ),
        (
            "a secret and an assertion together",
            secret_and_assertion,
            None,
            400,
            "invalid_request",
            "authenticated twice",
        ),
        (
            "HTTP Basic and an assertion together",
            machine_request(&sign(&client.rsa, &good()), None),
            Some((machine.0.as_str(), machine.1.as_str())),
            400,
            "invalid_request",
            "authenticated twice",
        ),
        (
            "an assertion without its type",
            form(&[("client_id", id.as_str()), ("client_assertion", &fresh)]),
            None,
            400,
            "invalid_request",
            "must be sent together",
        ),
        (
            "a type without an assertion",
            form(&[
                ("client_id", id.as_str()),
                ("client_assertion_type", JWT_BEARER),
            ]),
            None,
            400,
            "invalid_request",
            "must be sent together",
        ),
        (
            "an unknown assertion type",
            form(&[
                ("client_id", id.as_str()),
                ("client_assertion", &fresh),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                ),
            ]),
            None,
            400,
            "invalid_request",
            "unsupported client_assertion_type",
        ),
    ];
    for (what, body, basic, status, error, why) in cases {
        let (got, headers, body) = post(&app, body, basic).await;
        assert_eq!(got.as_u16(), status, "{what}: {body}");
        assert_eq!(body["error"], error, "{what}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains(why)),
            "{what}: {body}"
        );
        assert_eq!(
            headers.contains_key("www-authenticate"),
            status == 401,
            "{what}"
        );
    }
    // None of the refused assertions used up its jti: `fresh` still works once.
    let (status, _, body) = post(&app, machine_request(&fresh, Some(id)), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_used_jti_is_refused_until_its_assertion_expires() {
    let app = TestApp::start().await;
    let client = key_client(&app).await;
    let id = &client.id;
    let jti = "the-same-jti";
    let assertion = |app: &TestApp| sign(&client.rsa, &with(claims(app, id), json!({"jti": jti})));
    let first = assertion(&app);
    let (status, _, body) = post(&app, machine_request(&first, Some(id)), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Within the assertion's life (exp + the clock skew) the jti stays used, even in another
    // assertion.
    app.clock.advance(65);
    let (status, _, body) = post(&app, machine_request(&assertion(&app), Some(id)), None).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // Once the first has expired, the jti is free for a new assertion; the old one stays
    // refused, as expired.
    app.clock.advance(10);
    let (status, _, body) = post(&app, machine_request(&first, Some(id)), None).await;
    assert_eq!(status.as_u16(), 401, "{body}");
    let (status, _, body) = post(&app, machine_request(&assertion(&app), Some(id)), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn every_grant_and_revocation_take_assertions() {
    let app = TestApp::start().await;
    let client = key_client(&app).await;
    let id = &client.id;
    let auth = |app: &TestApp| {
        json!({
            "client_id": id.as_str(),
            "client_assertion_type": JWT_BEARER,
            "client_assertion": sign(&client.ec, &claims(app, id)),
        })
    };
    let send = |extra: Value| {
        let mut body = auth(&app);
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        post(&app, Body::Json(body), None)
    };

    // Password-realm, with offline access for a refresh token.
    let (status, _, body) = send(json!({
        "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
        "username": "ann@example.com", "password": PASSWORD,
        "realm": "Username-Password-Authentication",
        "audience": RBAC_API, "scope": "openid offline_access",
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "password: {body}");
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();

    // A code, redeemed without PKCE: a private_key_jwt client is confidential.
    let code = issue_code(
        &app.store,
        &SystemRng,
        UnixTime(app.clock_now()),
        CodeGrant {
            client_id: id.clone(),
            user_id: app.ann.clone(),
            session_id: None,
            redirect_uri: crate::app::CALLBACK.to_owned(),
            scope: vec!["openid".to_owned()],
            audience: None,
            nonce: None,
            code_challenge: None,
            auth_time: UnixTime(NOW),
            actions: None,
        },
    )
    .await
    .unwrap();
    let (status, _, body) = send(json!({
        "grant_type": "authorization_code", "code": code.expose(),
        "redirect_uri": crate::app::CALLBACK,
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "authorization_code: {body}");
    assert!(body["id_token"].is_string(), "{body}");

    let (status, _, body) = send(json!({
        "grant_type": "refresh_token", "refresh_token": refresh_token,
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "refresh_token: {body}");

    // Revocation: a bad assertion is refused, a good one revokes.
    let revoke = |assertion: String| {
        app.http.post(app.url("oauth/revoke")).form(&[
            ("token", refresh_token.as_str()),
            ("client_id", id.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ])
    };
    let forged = sign(&key(Algorithm::ES256, "ec-1"), &claims(&app, id));
    let refused = revoke(forged).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let done = revoke(sign(&client.rsa, &claims(&app, id)))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let (status, _, body) = send(json!({
        "grant_type": "refresh_token", "refresh_token": refresh_token,
    }))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_grant")),
        "{body}"
    );
}
