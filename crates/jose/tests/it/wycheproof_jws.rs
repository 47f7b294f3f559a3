//! Wycheproof's JSON Web Signature vectors, run through the JWS layer ([`verify_jws`]) with
//! each group's key imported by [`VerifyingKey::from_jwk`].
//!
//! The vectors are Apache-2.0 (see `tests/vectors/WYCHEPROOF-LICENSE`). Their payloads are not
//! JSON objects, which is why the JWS layer is used rather than [`sigil_jose::Verifier`].

use serde_json::Value;
use sigil_jose::{
    Algorithm, AlgorithmError, Jwk, KeyError, KeyKind, KeySet, VerifyError, VerifyingKey,
    verify_jws,
};

const VECTORS: &str = include_str!("../vectors/wycheproof_json_web_signature_test.json");

/// Why Sigil refused a test case.
#[derive(Debug)]
enum Refusal {
    /// The group's key was refused when imported.
    Import(KeyError),
    /// The token was refused.
    Verify(VerifyError),
}

type Expect = fn(&Refusal) -> bool;

/// Turns a defective vector's token into the token it was meant to be.
type Rebuild = fn(&str) -> String;

/// Sigil's deliberate deviations from Wycheproof: cases marked "valid" that Sigil refuses, each
/// with the one refusal it must produce. Every other case must get Wycheproof's result.
fn deviation(tc_id: u64) -> Option<(&'static str, Expect)> {
    match tc_id {
        // RFC 7520 §4.2 (Figure 20): the token is PS384, but Wycheproof's copy of the key says
        // "alg": "PS256". Sigil binds a JWK to its `alg` (RFC 7517 §4.4), so the key cannot
        // verify PS384.
        346 | 350 => Some(("JWK alg PS256 binds the key; the token is PS384", |r| {
            matches!(
                r,
                Refusal::Verify(VerifyError::AlgKeyMismatch {
                    alg: Algorithm::PS384,
                    kind: KeyKind::Rsa,
                })
            )
        })),
        // RFC 7520 §4.3 (Figure 27): Wycheproof's key says "alg": "ES521", which is not a
        // registered algorithm (RFC 7518 §3.1 names ES512), so the JWK is refused at import.
        347 | 351 => Some(("JWK alg \"ES521\" is not a registered algorithm", |r| {
            matches!(
                r,
                Refusal::Import(KeyError::Algorithm(AlgorithmError::Unsupported(alg)))
                    if alg == "ES521"
            )
        })),
        // A '?' inside a base64url segment: Sigil accepts only canonical unpadded base64url
        // (RFC 7515 §2), never "decode what you can". The header is decoded first, so 372 stops
        // there. In 373 the signature is checked first, over the segment's exact bytes, and the
        // MAC was computed without the '?', so it is refused as a bad signature before the
        // payload would be refused as malformed.
        372 => Some(("'?' inside the header segment", |r| {
            matches!(r, Refusal::Verify(VerifyError::Base64("header")))
        })),
        373 => Some(("'?' inside the payload segment", |r| {
            matches!(r, Refusal::Verify(VerifyError::BadSignature { .. }))
        })),
        _ => None,
    }
}

/// Defective vectors: upstream Wycheproof publishes these "invalid" cases with a token that is
/// byte for byte the "valid" tcId 357 (the padding they are named after was lost when the file
/// was generated), so no verifier can both accept 357 and reject them. They are checked to still
/// be exact copies of 357 and to get 357's result; the token each was meant to be is rebuilt
/// and must be refused. `attacks.rs` covers padding in every segment with correctly signed tokens.
fn defective(tc_id: u64) -> Option<(u64, Rebuild, Expect)> {
    match tc_id {
        // invalidBase64Padding: the signature with its base64 padding.
        367 => Some((
            357,
            |jws| format!("{jws}="),
            |r| matches!(r, Refusal::Verify(VerifyError::Base64("signature"))),
        )),
        // invalidBase64PaddingInPayload: "VGVzdA" ("Test") padded to "VGVzdA==". The MAC covers
        // the segment's exact bytes, so the padded token no longer matches it.
        370 => Some((
            357,
            |jws| jws.replacen(".VGVzdA.", ".VGVzdA==.", 1),
            |r| matches!(r, Refusal::Verify(VerifyError::BadSignature { .. })),
        )),
        _ => None,
    }
}

/// The test groups' key: `public` when there is one, else `private` (oct keys have only that).
fn import(group: &Value) -> Result<KeySet, KeyError> {
    let jwk = group
        .get("public")
        .or_else(|| group.get("private"))
        .expect("every group has a key");
    let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|e| KeyError::Jwk(e.to_string()))?;
    VerifyingKey::from_jwk(&jwk).map(KeySet::single)
}

#[test]
fn wycheproof_json_web_signature_vectors() {
    let set: Value = serde_json::from_str(VECTORS).expect("vector file is JSON");
    let mut failures = Vec::new();
    let (mut checked, mut json_serializations) = (0, 0);
    let mut deviations_seen = Vec::new();
    let mut defects_seen = Vec::new();
    let tokens: std::collections::HashMap<u64, &str> = set["testGroups"]
        .as_array()
        .expect("testGroups")
        .iter()
        .flat_map(|g| g["tests"].as_array().expect("tests"))
        .map(|t| {
            (
                t["tcId"].as_u64().expect("tcId"),
                t["jws"].as_str().expect("jws"),
            )
        })
        .collect();
    for group in set["testGroups"].as_array().expect("testGroups") {
        let keys = import(group);
        for test in group["tests"].as_array().expect("tests") {
            checked += 1;
            let tc_id = test["tcId"].as_u64().expect("tcId");
            let comment = test["comment"].as_str().unwrap_or_default();
            let expected = test["result"].as_str().expect("result");
            let jws = test["jws"].as_str().expect("jws is a string");
            let verify = |jws: &str| match &keys {
                Err(e) => Err(Refusal::Import(e.clone())),
                Ok(keys) => verify_jws(keys, &Algorithm::ALL, jws)
                    .map(|_| ())
                    .map_err(Refusal::Verify),
            };
            let outcome = verify(jws);
            let mut fail = |why: String| {
                failures.push(format!("tcId {tc_id} ({comment}): {why}; got {outcome:?}"));
            };
            if let Some((twin, intended, refused_as_expected)) = defective(tc_id) {
                defects_seen.push(tc_id);
                if tokens.get(&twin) != Some(&jws) {
                    fail(format!(
                        "listed as a copy of tcId {twin}, but the token differs"
                    ));
                } else if outcome.is_err() {
                    fail(format!(
                        "a byte-identical copy of valid tcId {twin} must verify like it"
                    ));
                }
                let intended_outcome = verify(&intended(jws));
                if !intended_outcome
                    .as_ref()
                    .err()
                    .is_some_and(refused_as_expected)
                {
                    fail(format!(
                        "the intended token was not refused: {intended_outcome:?}"
                    ));
                }
                continue;
            }
            if let Some((reason, refused_as_expected)) = deviation(tc_id) {
                deviations_seen.push(tc_id);
                if expected != "valid" {
                    fail(format!(
                        "listed as a deviation ({reason}), but Wycheproof now says {expected}"
                    ));
                } else if !outcome.as_ref().err().is_some_and(refused_as_expected) {
                    fail(format!("deviation ({reason}) not refused the expected way"));
                }
                continue;
            }
            if jws.trim_start().starts_with('{') {
                json_serializations += 1;
                if !matches!(
                    outcome,
                    Err(Refusal::Verify(VerifyError::JsonSerialization))
                ) {
                    fail("JWS JSON serialization must be refused as such".into());
                }
                continue;
            }
            if matches!(outcome, Err(Refusal::Import(_))) && expected != "invalid" {
                fail(format!("key refused at import, but the case is {expected}"));
                continue;
            }
            match (expected, &outcome) {
                ("valid", Ok(())) | ("invalid", Err(_)) | ("acceptable", _) => {}
                _ => fail(format!("expected {expected}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        checked,
        set["numberOfTests"].as_u64().expect("numberOfTests")
    );
    assert!(
        json_serializations > 0,
        "no JSON serialization case was seen"
    );
    deviations_seen.sort_unstable();
    assert_eq!(deviations_seen, [346, 347, 350, 351, 372, 373]);
    assert_eq!(defects_seen, [367, 370]);
}
