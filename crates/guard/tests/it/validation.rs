//! Which tokens pass and how the others are refused: status, challenge and body.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sigil_jose::Algorithm;

use crate::issuer::{API, Api, Issuer, Key, NOW, clock};

/// `claims` with `patch` applied: members replaced, `null` members removed.
fn with(claims: &Value, patch: Value) -> Value {
    let mut out = claims.clone();
    for (name, value) in patch.as_object().unwrap() {
        if value.is_null() {
            out.as_object_mut().unwrap().remove(name);
        } else {
            out[name] = value.clone();
        }
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// A token with this header, signed with HMAC-SHA256 under `secret`.
fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// One payload character changed, signature kept.
fn tampered(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = B64.decode(&parts[1]).unwrap();
    let text = String::from_utf8(payload)
        .unwrap()
        .replace("read:messages", "read:messagez");
    parts[1] = b64(text.as_bytes());
    parts.join(".")
}

#[tokio::test]
async fn tokens_pass_or_get_the_rfc_6750_answer() {
    let rs = Key::new(Algorithm::RS256, "rs-1");
    let es = Key::new(Algorithm::ES256, "es-1");
    let ed = Key::new(Algorithm::EdDSA, "ed-1");
    let stranger = Key::new(Algorithm::RS256, "rs-1");
    let unknown = Key::new(Algorithm::RS256, "rs-unknown");
    let issuer = Issuer::start(&[&rs, &es, &ed]).await;
    let clock = clock();
    let guard = issuer.guard(&clock).build().await.unwrap();
    let api = Api::start(&guard).await;
    let good = issuer.claims();
    let rsa_pem = rs.signer.public_key().unwrap().to_pem().unwrap();
    let bearer = |t: &str| Some(format!("Bearer {t}"));

    let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
        ("RS256", bearer(&rs.sign(&good)), 200, "-"),
        ("ES256", bearer(&es.sign(&good)), 200, "-"),
        ("EdDSA", bearer(&ed.sign(&good)), 200, "-"),
        (
            "typ at+jwt (RFC 9068)",
            bearer(&rs.signer.sign_with_typ("at+jwt", &good).unwrap()),
            200,
            "-",
        ),
        (
            "aud as one string",
            bearer(&rs.sign(&with(&good, json!({"aud": API})))),
            200,
            "-",
        ),
        (
            "exp passed, within the 5 s leeway",
            bearer(&rs.sign(&with(&good, json!({"exp": NOW - 4})))),
            200,
            "-",
        ),
        (
            "scheme in lower case",
            Some(format!("bearer {}", rs.sign(&good))),
            200,
            "-",
        ),
        ("no Authorization header", None, 401, "-"),
        (
            "another scheme",
            Some("Basic dXNlcjpwYXNz".to_owned()),
            401,
            "-",
        ),
        (
            "Bearer without a token",
            Some("Bearer ".to_owned()),
            400,
            "invalid_request",
        ),
        (
            "a token with a space",
            Some("Bearer abc def".to_owned()),
            400,
            "invalid_request",
        ),
        ("not a JWT", bearer("abc"), 401, "invalid_token"),
        ("a JWE", bearer("a.b.c.d.e"), 401, "invalid_token"),
        (
            "expired",
            bearer(&rs.sign(&with(&good, json!({"exp": NOW - 6})))),
            401,
            "invalid_token",
        ),
        (
            "not yet valid",
            bearer(&rs.sign(&with(&good, json!({"nbf": NOW + 60})))),
            401,
            "invalid_token",
        ),
        (
            "wrong audience",
            bearer(&rs.sign(&with(&good, json!({"aud": "https://other.example.com/"})))),
            401,
            "invalid_token",
        ),
        (
            "no audience",
            bearer(&rs.sign(&with(&good, json!({"aud": null})))),
            401,
            "invalid_token",
        ),
        (
            "wrong issuer",
            bearer(&rs.sign(&with(&good, json!({"iss": "https://evil.example.com/"})))),
            401,
            "invalid_token",
        ),
        (
            "issuer without its trailing slash",
            bearer(&rs.sign(&with(
                &good,
                json!({"iss": issuer.url.trim_end_matches('/')}),
            ))),
            401,
            "invalid_token",
        ),
        (
            "no exp",
            bearer(&rs.sign(&with(&good, json!({"exp": null})))),
            401,
            "invalid_token",
        ),
        (
            "exp as a string",
            bearer(&rs.sign(&with(&good, json!({"exp": (NOW + 60).to_string()})))),
            401,
            "invalid_token",
        ),
        (
            "no sub",
            bearer(&rs.sign(&with(&good, json!({"sub": null})))),
            401,
            "invalid_token",
        ),
        (
            "tampered payload",
            bearer(&tampered(&rs.sign(&good))),
            401,
            "invalid_token",
        ),
        (
            "alg none",
            bearer(&format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(good.to_string().as_bytes())
            )),
            401,
            "invalid_token",
        ),
        (
            "HS256 keyed with the RSA public key (alg confusion)",
            bearer(&hs256(
                &json!({"alg": "HS256", "typ": "JWT", "kid": "rs-1"}),
                &good,
                rsa_pem.as_bytes(),
            )),
            401,
            "invalid_token",
        ),
        (
            "signed by another key under a published kid",
            bearer(&stranger.sign(&good)),
            401,
            "invalid_token",
        ),
        (
            "an unknown kid",
            bearer(&unknown.sign(&good)),
            401,
            "invalid_token",
        ),
        (
            "typ dpop+jwt",
            bearer(&rs.signer.sign_with_typ("dpop+jwt", &good).unwrap()),
            401,
            "invalid_token",
        ),
    ];
    for (name, authorization, status, error) in cases {
        let answer = api.get("/any", authorization.as_deref()).await;
        assert_eq!(answer.status, status, "{name}: {answer:?}");
        assert_eq!(answer.error(), error, "{name}: {answer:?}");
        let challenge = answer.challenge.as_deref().unwrap_or_default();
        if status == 200 {
            assert_eq!(answer.body["sub"], "auth0|ann", "{name}");
            assert!(answer.challenge.is_none(), "{name}");
        } else {
            assert!(
                challenge.starts_with(&format!("Bearer realm=\"{API}\"")),
                "{name}: {challenge}"
            );
            let body_error = answer.body["error"].as_str().unwrap();
            assert_eq!(
                body_error,
                if error == "-" { "unauthorized" } else { error },
                "{name}"
            );
            assert!(
                !answer.body["error_description"]
                    .as_str()
                    .unwrap()
                    .is_empty(),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn strict_mode_wants_rfc_9068_access_tokens() {
    let rs = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&rs]).await;
    let clock = clock();
    let guard = issuer.guard(&clock).strict(true).build().await.unwrap();
    let api = Api::start(&guard).await;
    let rfc9068 = with(
        &issuer.claims(),
        json!({"client_id": "client-1", "jti": "t-1"}),
    );
    for (name, token, status) in [
        (
            "at+jwt with every claim",
            rs.signer.sign_with_typ("at+jwt", &rfc9068).unwrap(),
            200,
        ),
        (
            "application/at+jwt",
            rs.signer
                .sign_with_typ("application/at+jwt", &rfc9068)
                .unwrap(),
            200,
        ),
        ("typ JWT (Auth0's)", rs.sign(&rfc9068), 401),
        (
            "no client_id",
            rs.signer
                .sign_with_typ("at+jwt", &with(&rfc9068, json!({"client_id": null})))
                .unwrap(),
            401,
        ),
        (
            "no jti",
            rs.signer
                .sign_with_typ("at+jwt", &with(&rfc9068, json!({"jti": null})))
                .unwrap(),
            401,
        ),
        (
            "no iat",
            rs.signer
                .sign_with_typ("at+jwt", &with(&rfc9068, json!({"iat": null})))
                .unwrap(),
            401,
        ),
    ] {
        let answer = api.call("/any", &token).await;
        assert_eq!(answer.status, status, "{name}: {answer:?}");
    }
}

#[tokio::test]
async fn the_token_cache_never_outlives_exp() {
    let rs = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&rs]).await;
    let clock = clock();
    let guard = issuer.guard(&clock).token_cache(100).build().await.unwrap();
    let api = Api::start(&guard).await;
    let token = rs.sign(&with(&issuer.claims(), json!({"exp": NOW + 60})));
    for _ in 0..3 {
        assert_eq!(api.call("/any", &token).await.status, 200);
    }
    // Within the leeway the full verification would still take it; the cache must not serve
    // it past exp either way, and the verification then applies its own rule.
    clock.advance(60);
    assert_eq!(api.call("/any", &token).await.status, 200, "within leeway");
    clock.advance(5);
    let answer = api.call("/any", &token).await;
    assert_eq!(
        (answer.status, answer.error().as_str()),
        (401, "invalid_token")
    );
    // A cached token whose key the issuer withdraws is refused once the guard has refreshed.
    let token = rs.sign(&with(&issuer.claims(), json!({"exp": NOW + 3600})));
    assert_eq!(api.call("/any", &token).await.status, 200);
    let next = Key::new(Algorithm::RS256, "rs-2");
    issuer.publish(&[&next]);
    guard.refresh().await.unwrap();
    assert_eq!(api.call("/any", &token).await.status, 401);
}
