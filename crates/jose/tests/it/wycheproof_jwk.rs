//! Wycheproof's JSON Web Key vectors: each group is a key set read by [`KeySet::from_jwks`],
//! then each token is verified against it.
//!
//! A set that mixes shared secrets with public keys, or repeats a `kid`, is an import error and
//! the case is then expected to be invalid. Keys that cannot be used (weak, `use: enc`, unknown
//! `alg`, ROCA, …) are skipped by `from_jwks`, which leaves the token without a key.

use serde_json::Value;
use sigil_jose::{Algorithm, KeyError, KeySet, VerifyError, verify_jws};

const VECTORS: &str = include_str!("../vectors/wycheproof_json_web_key_test.json");

#[test]
fn wycheproof_json_web_key_vectors() {
    let set: Value = serde_json::from_str(VECTORS).expect("vector file is JSON");
    let mut failures = Vec::new();
    let mut checked = 0;
    for group in set["testGroups"].as_array().expect("testGroups") {
        let jwks = group
            .get("public")
            .or_else(|| group.get("private"))
            .expect("every group has a key set");
        let json = serde_json::to_vec(jwks).expect("re-serialize the key set");
        let keys: Result<KeySet, KeyError> = KeySet::from_jwks(&json).map(|(keys, _skipped)| keys);
        for test in group["tests"].as_array().expect("tests") {
            checked += 1;
            let tc_id = test["tcId"].as_u64().expect("tcId");
            let comment = test["comment"].as_str().unwrap_or_default();
            let expected = test["result"].as_str().expect("result");
            let jws = test["jws"].as_str().expect("jws is a string");
            let outcome: Result<(), String> = match &keys {
                Err(e) => Err(format!("key set refused: {e}")),
                Ok(keys) => verify_jws(keys, &Algorithm::ALL, jws)
                    .map(|_| ())
                    .map_err(|e: VerifyError| format!("token refused: {e}")),
            };
            match (expected, &outcome) {
                ("valid", Ok(())) | ("invalid", Err(_)) | ("acceptable", _) => {}
                _ => failures.push(format!(
                    "tcId {tc_id} ({comment}): expected {expected}, got {outcome:?}"
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        checked,
        set["numberOfTests"].as_u64().expect("numberOfTests")
    );
}
