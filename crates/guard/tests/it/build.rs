//! Starting a guard: discovery, the JWKS-URL mode, and clear errors when it cannot start.

use serde_json::json;
use sigil_guard::{Algorithm, Guard};

use crate::issuer::{API, Api, Issuer, Key, clock};

#[tokio::test]
async fn a_guard_that_cannot_start_says_why() {
    let rs = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&rs]).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    let clock = clock();
    let cases: Vec<(&str, sigil_guard::GuardBuilder, &str)> = vec![
        (
            "no issuer",
            Guard::builder().audience(API),
            "needs the issuer",
        ),
        (
            "no audience",
            Guard::builder().issuer(&issuer.url),
            "needs the API's audience",
        ),
        (
            "HS256 allowed",
            issuer
                .guard(&clock)
                .algorithms([Algorithm::RS256, Algorithm::HS256]),
            "HS256 needs a shared secret",
        ),
        (
            "no algorithm",
            issuer.guard(&clock).algorithms([]),
            "at least one algorithm",
        ),
        (
            "issuer down",
            Guard::builder().issuer(&closed).audience(API),
            "Connection refused",
        ),
    ];
    for (name, builder, expected) in cases {
        let error = builder.build().await.unwrap_err().to_string();
        assert!(error.contains(expected), "{name}: {error}");
    }

    issuer.state_issuer("https://impostor.example.com/");
    let error = issuer.guard(&clock).build().await.unwrap_err().to_string();
    assert!(
        error.contains("names the issuer \"https://impostor.example.com/\""),
        "{error}"
    );

    issuer.set_down(true);
    let error = issuer.guard(&clock).build().await.unwrap_err().to_string();
    assert!(
        error.contains("openid-configuration") && error.contains("503"),
        "{error}"
    );
}

#[tokio::test]
async fn an_issuer_typed_without_its_trailing_slash_is_found() {
    let rs = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&rs]).await;
    let clock = clock();
    let guard = Guard::builder()
        .issuer(issuer.url.trim_end_matches('/'))
        .audience(API)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    assert_eq!(guard.issuer(), issuer.url);
    let api = Api::start(&guard).await;
    assert_eq!(
        api.call("/any", &rs.sign(&issuer.claims())).await.status,
        200
    );
}

#[tokio::test]
async fn a_jwks_url_and_an_issuer_string_need_no_discovery() {
    let rs = Key::new(Algorithm::RS256, "rs-1");
    let es = Key::new(Algorithm::ES256, "es-1");
    let issuer = Issuer::start(&[&rs, &es]).await;
    // Discovery would fail: the guard must not ask for it.
    issuer.state_issuer("https://impostor.example.com/");
    let clock = clock();
    let guard = Guard::builder()
        .jwks_url(format!("{}jwks", issuer.url))
        .issuer("urn:example:issuer")
        .audience(API)
        .algorithms([Algorithm::ES256])
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let api = Api::start(&guard).await;
    let mut claims = issuer.claims();
    claims["iss"] = json!("urn:example:issuer");
    assert_eq!(api.call("/any", &es.sign(&claims)).await.status, 200);
    let answer = api.call("/any", &rs.sign(&claims)).await;
    assert_eq!(answer.status, 401, "RS256 is not allowed: {answer:?}");
    assert!(
        answer.body["error_description"]
            .as_str()
            .unwrap()
            .contains("RS256")
    );
}

#[test]
fn a_guard_on_fixed_keys_refuses_a_bad_document() {
    for (body, expected) in [
        ("[]", "not a JWK Set"),
        (
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}"#,
            "publishes a shared secret",
        ),
        (
            r#"{"keys":[{"kty":"oct","k":"c2hvcnQ"}]}"#,
            "has no key that can verify signatures (1 skipped)",
        ),
        (r#"{"keys":[]}"#, "has no key"),
    ] {
        let result = Guard::builder()
            .issuer("https://issuer.example.com/")
            .audience(API)
            .build_with_jwks(body.as_bytes());
        match result {
            Err(e) => assert!(e.to_string().contains(expected), "{body}: {e}"),
            Ok(_) => panic!("{body}: accepted"),
        }
    }
}
