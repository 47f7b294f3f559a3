//! Tokens that must not pass: each gets 401 `invalid_token`, Sigil's own valid token 200.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sigil_guard::{Guard, ManualClock, UnixTime};
use sigil_jose::{Algorithm, KeySpec, PrivateKey, PublicKey, SigningKey};

use crate::api::Api;
use crate::sigil::{MESSAGES, NOW, OTHER, Sigil};

fn part(token: &str, i: usize) -> Value {
    serde_json::from_slice(&B64.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

fn encode(value: &Value) -> String {
    B64.encode(value.to_string())
}

/// `token` with its payload rewritten by `change`, the signature kept.
fn tampered(token: &str, change: impl Fn(&mut Value)) -> String {
    let mut payload = part(token, 1);
    change(&mut payload);
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], encode(&payload), parts[2])
}

fn hs256(header: &Value, payload: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", encode(header), encode(payload));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", B64.encode(tag.as_ref()))
}

#[tokio::test]
async fn forged_and_foreign_tokens_get_401_invalid_token() {
    let sigil = Sigil::start().await;
    let api = Api::start(&sigil).await;
    let good = sigil.token(&sigil.writer, MESSAGES).await;
    let header = part(&good, 0);
    let claims = part(&good, 1);
    let kid = header["kid"].as_str().unwrap().to_owned();

    // Sigil's own RSA key, as published, used as an HMAC secret: the alg-confusion attack.
    let jwks = sigil.jwks().await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    let n = B64.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = B64.decode(jwk["e"].as_str().unwrap()).unwrap();
    let public = PublicKey::from_rsa_components(&n, &e).unwrap();
    let confusion_header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    // A key of our own, signing Sigil's claims: under Sigil's kid and under a kid of its own.
    let forger = || PrivateKey::generate(KeySpec::Rsa2048).unwrap();
    let under_sigils_kid = SigningKey::new(forger(), Algorithm::RS256)
        .unwrap()
        .with_kid(Some(kid.clone()));
    let under_own_kid = SigningKey::new(forger(), Algorithm::RS256)
        .unwrap()
        .with_kid(Some("not-sigils".to_owned()));

    let cases: Vec<(&str, String)> = vec![
        ("for another API", sigil.token(&sigil.writer, OTHER).await),
        (
            "audience rewritten",
            tampered(&good, |c| c["aud"] = json!(MESSAGES)),
        ),
        (
            "scope rewritten",
            tampered(&good, |c| {
                c["scope"] = json!("read:messages write:messages admin")
            }),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                encode(&json!({"alg": "none", "typ": "JWT"})),
                encode(&claims)
            ),
        ),
        (
            "alg none, signature kept",
            format!(
                "{}.{}.{}",
                encode(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
                encode(&claims),
                good.split('.').nth(2).unwrap()
            ),
        ),
        (
            "HS256 keyed with the published key (PEM)",
            hs256(
                &confusion_header,
                &claims,
                public.to_pem().unwrap().as_bytes(),
            ),
        ),
        (
            "HS256 keyed with the published key (DER)",
            hs256(&confusion_header, &claims, &public.to_spki_der().unwrap()),
        ),
        (
            "HS256 keyed with the JWK",
            hs256(&confusion_header, &claims, jwk.to_string().as_bytes()),
        ),
        (
            "signed by another key under Sigil's kid",
            under_sigils_kid.sign(&claims).unwrap(),
        ),
        ("an unknown kid", under_own_kid.sign(&claims).unwrap()),
    ];
    assert_eq!(api.messages(&good).await.status, 200, "the untouched token");
    for (name, token) in cases {
        let answer = api.messages(&token).await;
        assert_eq!(
            (answer.status, answer.error().as_str()),
            (401, "invalid_token"),
            "{name}: {answer:?}"
        );
    }
    assert_eq!(api.messages(&good).await.status, 200, "the untouched token");
}

#[tokio::test]
async fn expiry_and_issuer_are_checked() {
    let sigil = Sigil::start().await;
    let api = Api::start(&sigil).await;
    let token = sigil.token(&sigil.writer, MESSAGES).await;
    let exp = part(&token, 1)["exp"].as_i64().unwrap();
    assert_eq!(exp, NOW + 86_400, "Sigil's default API token lifetime");

    // Expired: within the 5 s leeway it passes, past it it does not.
    api.clock.set(UnixTime(exp + 4));
    assert_eq!(api.messages(&token).await.status, 200);
    api.clock.set(UnixTime(exp + 5));
    let answer = api.messages(&token).await;
    assert_eq!(
        (answer.status, answer.error().as_str()),
        (401, "invalid_token")
    );
    assert!(
        answer.body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{answer:?}"
    );

    // Wrong issuer: an API that trusts Sigil's keys but expects another issuer.
    let clock = Arc::new(ManualClock::new(UnixTime(NOW)));
    let elsewhere = Guard::builder()
        .jwks_url(format!("{}.well-known/jwks.json", sigil.issuer))
        .issuer("https://elsewhere.example.com/")
        .audience(MESSAGES)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let elsewhere = Api::serve(elsewhere, clock).await;
    let answer = elsewhere.messages(&token).await;
    assert_eq!(
        (answer.status, answer.error().as_str()),
        (401, "invalid_token")
    );
    assert!(
        answer.body["error_description"]
            .as_str()
            .unwrap()
            .contains("iss"),
        "{answer:?}"
    );
}
