//! Property tests over every [`Algorithm`]: what Sigil signs, Sigil verifies, claims intact; and
//! a valid token with any single byte changed is refused.
//!
//! Keys are generated once (RSA generation is slow): one key per algorithm, except that RS and PS
//! of the same size share an RSA key, which is how a deployment may use one.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use sigil_jose::{
    Algorithm, KeySet, KeySpec, PrivateKey, SigningKey, UnixTime, Validation, Verifier,
};

const NOW: UnixTime = UnixTime(1_700_000_000);
const EXP: i64 = 4_102_444_800;

/// The registered claims, whose types the verifier checks; arbitrary values would not be valid.
const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

struct Pair {
    signer: SigningKey,
    verifier: Verifier,
}

/// One signing key and one verifier (that algorithm only) per algorithm, in `Algorithm::ALL`
/// order.
static PAIRS: LazyLock<Vec<Pair>> = LazyLock::new(|| {
    let mut rsa: Vec<(KeySpec, Vec<u8>)> = Vec::new();
    Algorithm::ALL
        .into_iter()
        .map(|alg| {
            let spec = KeySpec::for_algorithm(alg);
            let key = if alg.key_kind() == sigil_jose::KeyKind::Rsa {
                let der = match rsa.iter().find(|(s, _)| *s == spec) {
                    Some((_, der)) => der.clone(),
                    None => {
                        let key = PrivateKey::generate(spec).expect("RSA key");
                        let der = key.to_pkcs8_der().expect("PKCS#8").to_vec();
                        rsa.push((spec, der.clone()));
                        der
                    }
                };
                PrivateKey::from_pkcs8_der(&der).expect("PKCS#8")
            } else {
                PrivateKey::generate(spec).expect("key")
            };
            let signer = SigningKey::new(key, alg).expect("signing key");
            let verifier = Verifier::new(
                KeySet::single(signer.verifying_key().expect("verifying key")),
                Validation::new([alg]),
            );
            Pair { signer, verifier }
        })
        .collect()
});

/// One valid token per algorithm, in `Algorithm::ALL` order.
static TOKENS: LazyLock<Vec<String>> = LazyLock::new(|| {
    PAIRS
        .iter()
        .map(|pair| {
            pair.signer
                .sign(&serde_json::json!({"sub": "auth0|1", "exp": EXP, "scope": "read"}))
                .expect("sign")
        })
        .collect()
});

fn json_leaf() -> impl Strategy<Value = Value> {
    // No floats: serde_json does not promise to parse every float back to the same bits.
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A claims object: arbitrary private claims (any name but the registered ones) and an `exp`.
fn claims() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    prop::collection::btree_map(
        any::<String>().prop_filter("not a registered claim", |name| {
            !REGISTERED.contains(&name.as_str())
        }),
        json_value(),
        0..8,
    )
    .prop_map(|private: BTreeMap<String, Value>| {
        let mut claims: serde_json::Map<String, Value> = private.into_iter().collect();
        claims.insert("exp".to_owned(), Value::from(EXP));
        claims
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every algorithm, every case: sign, verify, and get the same claims and header back.
    #[test]
    fn sign_then_verify_round_trips(claims in claims()) {
        for (alg, pair) in Algorithm::ALL.into_iter().zip(PAIRS.iter()) {
            let token = pair.signer.sign(&claims).expect("sign");
            let verified = pair.verifier.verify::<Value>(&token, NOW);
            prop_assert!(verified.is_ok(), "{}: {:?}", alg, verified);
            let verified = verified.expect("checked");
            prop_assert_eq!(verified.header.alg, alg);
            prop_assert_eq!(verified.header.kid.as_deref(), pair.signer.kid());
            prop_assert_eq!(&verified.claims, &Value::Object(claims.clone()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every algorithm, every case: one byte of a valid token, anywhere, replaced by any other
    /// ASCII byte, and the token is refused. (A non-ASCII byte would make the token invalid
    /// UTF-8, which the `&str` API cannot even be given.)
    #[test]
    fn any_single_byte_change_is_refused(position in any::<Index>(), delta in 1u8..128) {
        for (alg, (pair, token)) in Algorithm::ALL.into_iter().zip(PAIRS.iter().zip(TOKENS.iter())) {
            let mut bytes = token.clone().into_bytes();
            let at = position.index(bytes.len());
            bytes[at] = (bytes[at] + delta) % 128;
            let tampered = String::from_utf8(bytes).expect("ASCII");
            let result = pair.verifier.verify::<Value>(&tampered, NOW);
            prop_assert!(result.is_err(), "{}: byte {} changed, still accepted", alg, at);
        }
    }
}

/// The untouched tokens verify: the property above is about the change, not a broken token.
#[test]
fn untouched_tokens_verify() {
    for (pair, token) in PAIRS.iter().zip(TOKENS.iter()) {
        pair.verifier
            .verify::<Value>(token, NOW)
            .unwrap_or_else(|e| panic!("{}: {e}", pair.signer.alg()));
    }
}
