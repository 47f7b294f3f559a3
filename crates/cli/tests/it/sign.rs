//! `sigil jwt sign`: defaults taken from the key, claims and their overrides.

use crate::{b64, check, generate, scratch, sign};

/// The claims of a valid token, as `jwt verify` prints them.
fn claims(dir: &std::path::Path, key: &str, token: &str, at: &[&str]) -> serde_json::Value {
    let args = [&["jwt", "verify", "--key", key, token][..], at].concat();
    let out = check(dir, &args, "", 0, &[], &[]);
    serde_json::from_str(&out.stdout).expect("claims are JSON")
}

#[test]
fn default_algorithm_and_kid_come_from_the_key() {
    let dir = scratch("sign_defaults");
    let cases = [
        ("RS384", "r.pem", "RS256"),
        ("ES384", "p384.pem", "ES384"),
        ("ES512", "p521.pem", "ES512"),
        ("EdDSA", "ed.pem", "EdDSA"),
        ("HS384", "h.json", "HS384"),
    ];
    for (generate_alg, file, expected) in cases {
        let jwk = generate(&dir, generate_alg, file, &[]);
        let token = sign(&dir, &["--key", file, "--exp", "10m"]);
        let alg = format!("\"alg\": \"{expected}\"");
        let kid = format!("\"kid\": \"{}\"", jwk["kid"].as_str().expect("kid"));
        check(&dir, &["jwt", "decode", &token], "", 0, &[&alg, &kid], &[]);
    }
    let token = sign(&dir, &["--key", "ed.pem", "--kid", "mine", "--exp", "10m"]);
    check(
        &dir,
        &["jwt", "decode", &token],
        "",
        0,
        &["\"kid\": \"mine\""],
        &[],
    );
}

#[test]
fn claims_flags_and_durations() {
    let dir = scratch("sign_claims");
    generate(&dir, "ES256", "k.pem", &[]);
    std::fs::write(
        dir.join("claims.json"),
        r#"{"iat":1700000000,"iss":"from-file","scope":"read write","aud":"x"}"#,
    )
    .expect("claims file");
    let token = sign(
        &dir,
        &[
            "--key",
            "k.pem",
            "--claims",
            "@claims.json",
            "--iss",
            "https://i/",
            "--sub",
            "auth0|1",
            "--aud",
            "a",
            "--aud",
            "b",
            "--exp",
            "1h30m",
        ],
    );
    let c = claims(&dir, "k.pem", &token, &["--at", "1700000001"]);
    assert_eq!(c["iss"], "https://i/");
    assert_eq!(c["sub"], "auth0|1");
    assert_eq!(c["aud"], serde_json::json!(["a", "b"]));
    assert_eq!(c["scope"], "read write");
    assert_eq!(c["iat"], 1_700_000_000);
    assert_eq!(c["exp"], 1_700_005_400);

    // iat defaults to now; --exp counts from it.
    let token = sign(
        &dir,
        &[
            "--key",
            "k.pem",
            "--claims",
            r#"{"n":1}"#,
            "--aud",
            "one",
            "--exp",
            "30s",
        ],
    );
    let c = claims(&dir, "k.pem", &token, &[]);
    assert_eq!(c["aud"], "one");
    let iat = c["iat"].as_i64().expect("iat");
    assert_eq!(c["exp"].as_i64(), Some(iat + 30));
    assert!(iat > 1_700_000_000);

    // An HMAC JWK made from a known secret, verified with --secret and --secret @FILE.
    let secret = "a shared secret of at least thirty-two bytes";
    let jwk = serde_json::json!({"kty": "oct", "k": b64(secret.as_bytes())});
    std::fs::write(dir.join("oct.json"), jwk.to_string()).expect("JWK file");
    std::fs::write(dir.join("secret.txt"), format!("{secret}\n")).expect("secret file");
    let token = sign(&dir, &["--key", "oct.json", "--exp", "1h"]);
    check(
        &dir,
        &["jwt", "decode", &token],
        "",
        0,
        &["\"alg\": \"HS256\""],
        &[],
    );
    check(
        &dir,
        &["jwt", "verify", "--secret", secret, &token],
        "",
        0,
        &["\"exp\""],
        &[],
    );
    check(
        &dir,
        &["jwt", "verify", "--secret", "@secret.txt", &token],
        "",
        0,
        &["\"exp\""],
        &[],
    );
    check(
        &dir,
        &[
            "jwt",
            "verify",
            "--secret",
            "another secret of at least thirty-two bytes",
            &token,
        ],
        "",
        1,
        &[],
        &["invalid: signature does not match the key"],
    );
}

#[test]
fn sign_refuses_bad_requests() {
    let dir = scratch("sign_errors");
    generate(&dir, "ES256", "k.pem", &[]);
    generate(&dir, "HS256", "h.json", &[]);
    let pub_jwk = generate(&dir, "RS256", "r.pem", &[]);
    std::fs::write(dir.join("pub.json"), pub_jwk.to_string()).expect("JWK file");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--key", "k.pem", "--alg", "RS256"],
            "error: cannot sign with key file k.pem: alg RS256 cannot be used with a P-256 key",
        ),
        (
            &["--key", "h.json", "--alg", "HS512"],
            "error: --alg HS512 contradicts the key file's \"alg\": \"HS256\"",
        ),
        (
            &["--key", "pub.json"],
            "error: key file pub.json holds a public JWK; signing needs the private key",
        ),
        (
            &["--key", "k.pem", "--claims", "[1]"],
            "error: --claims must be a JSON object",
        ),
        (
            &["--key", "k.pem", "--claims", "{"],
            "error: --claims is not valid JSON",
        ),
        (
            &["--key", "k.pem", "--claims", "@nope.json"],
            "error: cannot read claims file nope.json",
        ),
        (
            &["--key", "k.pem", "--exp", "soon"],
            "invalid duration \"soon\"",
        ),
    ];
    for (args, stderr) in cases {
        let mut all = vec!["jwt", "sign"];
        all.extend_from_slice(args);
        check(&dir, &all, "", 2, &[], &[stderr]);
    }
    // Without --exp the token is made, with a note that verifiers will want an exp.
    check(
        &dir,
        &["jwt", "sign", "--key", "k.pem"],
        "",
        0,
        &["eyJ"],
        &["note: the token has no exp claim"],
    );
}
