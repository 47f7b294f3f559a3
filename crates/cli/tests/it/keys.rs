//! `sigil keys generate`, and every algorithm's round trip: generate → sign → verify.

use crate::{check, generate, scratch, sign, write_jwks};

const ALL: [&str; 13] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "ES512", "EdDSA",
];

#[test]
fn every_algorithm_generates_signs_and_verifies() {
    let dir = scratch("every_algorithm");
    for alg in ALL {
        let hmac = alg.starts_with("HS");
        let file = if hmac {
            format!("{alg}.json")
        } else {
            format!("{alg}.pem")
        };
        let jwk = generate(&dir, alg, &file, &[]);
        assert_eq!(jwk["alg"], alg, "{jwk}");
        let kid = jwk["kid"].as_str().expect("kid").to_owned();
        assert!(!kid.is_empty());
        if hmac {
            assert_eq!(jwk["kty"], "oct", "{jwk}");
            assert!(jwk["k"].is_string(), "{jwk}");
        } else {
            assert_eq!(jwk["use"], "sig", "{jwk}");
            assert!(jwk.get("d").is_none(), "private member in {jwk}");
            let pem = std::fs::read_to_string(dir.join(&file)).expect("PEM file");
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        }

        // A PEM does not say which algorithm it is for; the oct JWK does.
        let mut args = vec![
            "--key",
            file.as_str(),
            "--exp",
            "1h",
            "--iss",
            "https://i/",
            "--aud",
            "api",
        ];
        if !hmac {
            args.extend_from_slice(&["--alg", alg]);
        }
        let token = sign(&dir, &args);
        let header = format!("\"alg\": \"{alg}\"");
        let kid_line = format!("\"kid\": \"{kid}\"");
        check(
            &dir,
            &["jwt", "decode", &token],
            "",
            0,
            &[&header, &kid_line],
            &[],
        );

        let valid = ["\"iss\": \"https://i/\"", "\"aud\": \"api\""];
        check(
            &dir,
            &["jwt", "verify", "--key", &file, &token],
            "",
            0,
            &valid,
            &[],
        );
        let jwks = format!("{alg}.jwks.json");
        write_jwks(&dir, &jwks, &[&jwk]);
        check(
            &dir,
            &[
                "jwt",
                "verify",
                "--jwks",
                &jwks,
                "--iss",
                "https://i/",
                "--aud",
                "api",
                "--alg",
                alg,
            ],
            &token,
            0,
            &valid,
            &[],
        );
    }
}

#[test]
fn generate_outputs_and_file_rules() {
    let dir = scratch("generate_outputs");
    // Without --out the private key is the stdout and the public JWK goes to stderr.
    check(
        &dir,
        &["keys", "generate", "--alg", "ES256", "--kid", "k1"],
        "",
        0,
        &["-----BEGIN PRIVATE KEY-----"],
        &[
            "\"kid\": \"k1\"",
            "\"alg\": \"ES256\"",
            "\"use\": \"sig\"",
            "\"crv\": \"P-256\"",
        ],
    );
    // An HMAC secret is a private JWK; the note says why there is no public key.
    let out = check(
        &dir,
        &["keys", "generate", "--alg", "HS384", "--kid", "h"],
        "",
        0,
        &[
            "\"kty\": \"oct\"",
            "\"alg\": \"HS384\"",
            "\"kid\": \"h\"",
            "\"k\": ",
        ],
        &["HMAC secrets have no public half"],
    );
    assert!(!out.stdout.contains("BEGIN"));

    generate(&dir, "EdDSA", "ed.pem", &[]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("ed.pem"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(dir.join("ed.pem")).expect("key file");
    check(
        &dir,
        &["keys", "generate", "--alg", "EdDSA", "--out", "ed.pem"],
        "",
        2,
        &[],
        &["error: ed.pem already exists; refusing to overwrite"],
    );
    assert_eq!(std::fs::read(dir.join("ed.pem")).expect("key file"), before);
}
