//! Arbitrary bytes through every parser that reads untrusted input in `sigil-jose`: compact JWS
//! framing, headers, claims, JWKs and JWK Sets. Any panic is a bug; errors are the expected
//! outcome for almost every input.
//!
//! A forged signature never gets past the signature check, so the target also signs the input's
//! own signing input (everything before its last `.`) with the fixed HMAC secret and verifies that
//! token: the header, the claims, their checks and their deserialization then see fuzzed bytes too.
#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use sigil_jose::{
    Algorithm, Jwk, KeySet, UnixTime, Validation, Verifier, VerifyingKey, insecure_decode,
    verify_jws,
};

/// The HMAC secret of the symmetric key set: fixed, so that every crash reproduces.
const SECRET: &[u8; 32] = b"sigil-jose fuzzing secret, 32 B!";

/// A fixed P-256 public key (its private half was thrown away).
const EC_JWK: &str = r#"{"kty":"EC","use":"sig","alg":"ES256","kid":"fuzz-ec","crv":"P-256",
    "x":"fkhMz8LmpF1d_IGUmBLICRUWYfpfGCOYgMCTWK_3Wdc",
    "y":"tfoFIIBNV7CU6UHtWI5_zeVLhuEBsel8GbUDqJxSV0Q"}"#;

/// A time inside the validity of the seed tokens, so that accepted tokens reach the end.
const NOW: UnixTime = UnixTime(1_800_000_000);

struct Fixtures {
    hmac_key: hmac::Key,
    hmac_set: KeySet,
    ec_set: KeySet,
    hmac_verifier: Verifier,
    ec_verifier: Verifier,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let secret_key = || VerifyingKey::from_secret(SECRET).expect("a 32-byte HMAC secret");
        let ec_jwk: Jwk = serde_json::from_str(EC_JWK).expect("the fixed JWK parses");
        let ec_key = || VerifyingKey::from_jwk(&ec_jwk).expect("the fixed JWK is a P-256 key");
        let validation = |algs: &[Algorithm]| {
            Validation::new(algs.iter().copied())
                .issuer("https://sigil.example/")
                .audience("api")
                .leeway(30)
        };
        Fixtures {
            hmac_key: hmac::Key::new(hmac::HMAC_SHA256, SECRET),
            hmac_set: KeySet::single(secret_key()),
            ec_set: KeySet::single(ec_key()),
            hmac_verifier: Verifier::new(
                KeySet::single(secret_key()),
                validation(&[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]),
            ),
            ec_verifier: Verifier::new(KeySet::single(ec_key()), validation(&[Algorithm::ES256])),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixtures();

    // Key material: a JWK Set document, and a single JWK in every form it can be read as.
    let _ = KeySet::from_jwks(data);
    if let Ok(jwk) = serde_json::from_slice::<Jwk>(data) {
        let _ = VerifyingKey::from_jwk(&jwk);
        let _ = jwk.public_key().map(|key| key.to_jwk().thumbprint());
        let _ = jwk.private_key().map(|key| key.thumbprint());
    }

    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = insecure_decode(token);
    let _ = verify_jws(&f.hmac_set, &Algorithm::ALL, token);
    let _ = verify_jws(&f.ec_set, &Algorithm::ALL, token);
    let _ = f.hmac_verifier.verify::<serde_json::Value>(token, NOW);
    let _ = f.ec_verifier.verify::<serde_json::Value>(token, NOW);

    // The same signing input with a valid HS256 signature, so that header and claims parsing
    // run on fuzzed bytes after the signature check.
    let signing_input = token.rsplit_once('.').map_or(token, |(input, _)| input);
    let tag = hmac::sign(&f.hmac_key, signing_input.as_bytes());
    let resigned = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    let _ = verify_jws(&f.hmac_set, &[Algorithm::HS256], &resigned);
    let _ = f.hmac_verifier.verify::<serde_json::Value>(&resigned, NOW);
});
