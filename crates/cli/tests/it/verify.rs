//! `sigil jwt verify` with local keys: valid tokens (exit 0) and one-line reasons (exit 1).

use crate::{b64, check, generate, scratch, sign, with_claims, write_jwks};

#[test]
fn invalid_tokens_say_why_in_one_line() {
    let dir = scratch("verify_reasons");
    let rsa = generate(&dir, "RS256", "rsa.pem", &["--kid", "abc"]);
    write_jwks(&dir, "jwks.json", &[&rsa]);
    generate(&dir, "HS256", "h.json", &[]);
    let claims =
        r#"{"iat":1699992620,"nbf":1699992620,"exp":1700000000,"iss":"https://i/","aud":"api"}"#;
    let good = sign(
        &dir,
        &["--key", "rsa.pem", "--kid", "abc", "--claims", claims],
    );
    let other_kid = sign(
        &dir,
        &["--key", "rsa.pem", "--kid", "x", "--claims", claims],
    );
    let tampered = with_claims(
        &good,
        r#"{"exp":1700000000,"iss":"https://i/","aud":"admin"}"#,
    );
    let hs256 = sign(&dir, &["--key", "h.json", "--claims", claims]);
    let no_exp = sign(
        &dir,
        &[
            "--key",
            "rsa.pem",
            "--kid",
            "abc",
            "--claims",
            r#"{"iss":"https://i/"}"#,
        ],
    );
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(br#"{"exp":1700000000}"#)
    );
    let at = "1700007380";

    let valid: &[(&[&str], &str)] = &[
        (
            &["--key", "rsa.pem", "--at", "1699999999", &good],
            "\"aud\": \"api\"",
        ),
        (
            &[
                "--jwks",
                "jwks.json",
                "--iss",
                "https://i/",
                "--aud",
                "api",
                "--at",
                "1699999999",
                &good,
            ],
            "\"iss\": \"https://i/\"",
        ),
        (
            &[
                "--key",
                "rsa.pem",
                "--aud",
                "nope",
                "--aud",
                "api",
                "--at",
                "1699999999",
                &good,
            ],
            "\"exp\": 1700000000",
        ),
        (
            &[
                "--key",
                "rsa.pem",
                "--leeway",
                "60",
                "--at",
                "1700000030",
                &good,
            ],
            "\"exp\"",
        ),
        (
            &[
                "--key",
                "rsa.pem",
                "--alg",
                "RS256",
                "--alg",
                "PS256",
                "--at",
                "1699999999",
                &good,
            ],
            "\"exp\"",
        ),
    ];
    for (args, stdout) in valid {
        let all = [&["jwt", "verify"][..], args].concat();
        check(&dir, &all, "", 0, &[stdout], &[]);
    }

    let invalid: &[(&[&str], &str)] = &[
        (
            &["--key", "rsa.pem", "--at", at, &good],
            "invalid: expired 2 h 3 min ago (exp 2023-11-14T22:13:20Z)\n",
        ),
        (
            &[
                "--key",
                "rsa.pem",
                "--leeway",
                "10",
                "--at",
                "1700000030",
                &good,
            ],
            "invalid: expired 30 s ago (exp 2023-11-14T22:13:20Z, beyond the 10 s leeway)\n",
        ),
        (
            &["--key", "rsa.pem", "--at", "1699992000", &good],
            "invalid: not valid yet: valid in 10 min 20 s (nbf 2023-11-14T20:10:20Z)\n",
        ),
        (
            &[
                "--key",
                "rsa.pem",
                "--iss",
                "https://other/",
                "--at",
                "1699999999",
                &good,
            ],
            "invalid: issuer \"https://i/\" is not the expected \"https://other/\" (from --iss)\n",
        ),
        (
            &[
                "--key",
                "rsa.pem",
                "--aud",
                "other",
                "--at",
                "1699999999",
                &good,
            ],
            "invalid: audience \"api\" does not include \"other\"\n",
        ),
        (
            &[
                "--key",
                "rsa.pem",
                "--aud",
                "a",
                "--aud",
                "b",
                "--at",
                "1699999999",
                &good,
            ],
            "invalid: audience \"api\" does not include any of \"a\", \"b\"\n",
        ),
        (
            &["--jwks", "jwks.json", "--at", "1699999999", &tampered],
            "invalid: signature does not match key kid=abc\n",
        ),
        (
            &["--key", "rsa.pem", "--at", "1699999999", &tampered],
            "invalid: signature does not match the key\n",
        ),
        (
            &["--jwks", "jwks.json", "--at", "1699999999", &other_kid],
            "invalid: no key with kid \"x\" (the keys have kid \"abc\")\n",
        ),
        (
            &["--key", "rsa.pem", "--at", "1699999999", &hs256],
            "invalid: alg HS256 not allowed for an RSA key\n",
        ),
        (
            &["--jwks", "jwks.json", "--at", "1699999999", &hs256],
            "invalid: alg HS256 not allowed for an RSA key\n",
        ),
        (
            &[
                "--key",
                "rsa.pem",
                "--alg",
                "PS256",
                "--at",
                "1699999999",
                &good,
            ],
            "invalid: alg RS256 is not allowed by --alg (PS256)\n",
        ),
        (
            &["--key", "rsa.pem", &unsigned],
            "invalid: alg \"none\" means an unsigned token, which is never accepted\n",
        ),
        (
            &["--key", "rsa.pem", &no_exp],
            "invalid: required claim \"exp\" is missing\n",
        ),
    ];
    for (args, stderr) in invalid {
        let all = [&["jwt", "verify"][..], args].concat();
        let out = check(&dir, &all, "", 1, &[], &[stderr]);
        assert!(
            out.stdout.is_empty(),
            "an invalid token prints no claims: {}",
            out.stdout
        );
    }
}

#[test]
fn token_from_stdin() {
    let dir = scratch("verify_stdin");
    generate(&dir, "EdDSA", "ed.pem", &[]);
    let token = sign(&dir, &["--key", "ed.pem", "--exp", "1h", "--sub", "s"]);
    let piped = format!("{token}\n");
    check(
        &dir,
        &["jwt", "verify", "--key", "ed.pem"],
        &piped,
        0,
        &["\"sub\": \"s\""],
        &[],
    );
    check(
        &dir,
        &["jwt", "verify", "--key", "ed.pem", "-"],
        &piped,
        0,
        &["\"sub\": \"s\""],
        &[],
    );
}
