//! Known attacks on JWT verifiers, one table row each: a hand-made token, the key set and policy
//! of the verifier under attack, and the exact [`VerifyError`] the attack must end in.
//!
//! Attack tokens are signed correctly wherever the protection under test comes before the
//! signature check, so that each row fails if its protection is removed rather than being
//! caught by a bad signature further on. Rows marked `Accept` are controls: they show that the
//! forged material is well made, and that a boundary is where the table says it is.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
};
use sigil_jose::{
    Algorithm, DEFAULT_MAX_TOKEN_LEN, KeyError, KeyKind, KeySet, KeySpec, PrivateKey, PublicKey,
    Secret, SigningKey, TypPolicy, UnixTime, Validation, Verifier, VerifyError, VerifyingKey,
};

use crate::rfc_vectors::{RFC7515_A2_KEY, RFC7515_A3_PRIVATE_KEY, jwk};
use crate::support::{
    b64, b64_standard, hmac_sha256, hs256_token, signed_hs256, signing_input, unb64,
};

/// The verifier's clock in every row.
const NOW: UnixTime = UnixTime(1_700_000_000);
/// An expiry far after [`NOW`] (2100-01-01).
const EXP: i64 = 4_102_444_800;
/// The HMAC secrets of keys `k1` and `k2`.
const SECRET: &[u8] = b"k1-secret-k1-secret-k1-secret-k1";
const SECRET2: &[u8] = b"k2-secret-k2-secret-k2-secret-k2";

/// What a row must end in.
enum Want {
    /// The token is accepted (a control row).
    Accept,
    /// The token is refused with an error this predicate accepts.
    Error(Box<dyn Fn(&VerifyError) -> bool>),
}

/// Refused with exactly this error.
fn is(expected: VerifyError) -> Want {
    Want::Error(Box::new(move |got| *got == expected))
}

/// Refused with an error of this shape (for errors that carry parser messages).
fn like(shape: fn(&VerifyError) -> bool) -> Want {
    Want::Error(Box::new(shape))
}

struct Case {
    name: String,
    token: String,
    keys: KeySet,
    validation: Validation,
    want: Want,
}

fn case(
    name: impl Into<String>,
    token: impl Into<String>,
    keys: KeySet,
    validation: Validation,
    want: Want,
) -> Case {
    Case {
        name: name.into(),
        token: token.into(),
        keys,
        validation,
        want,
    }
}

/// Runs every row through [`Verifier::verify`] at [`NOW`] and reports all mismatches at once.
fn check(cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let verifier = Verifier::new(case.keys, case.validation);
        let result = verifier.verify::<serde_json::Value>(&case.token, NOW);
        let ok = match (&case.want, &result) {
            (Want::Accept, Ok(_)) => true,
            (Want::Error(expected), Err(e)) => expected(e),
            _ => false,
        };
        if !ok {
            let got = result.map(|v| v.claims);
            failures.push(format!("{}: got {got:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn policy(algorithms: impl IntoIterator<Item = Algorithm>) -> Validation {
    Validation::new(algorithms)
}

/// Claims that pass every check of the default policy.
fn claims() -> String {
    format!(r#"{{"sub":"auth0|victim","exp":{EXP}}}"#)
}

fn hmac_key(secret: &[u8], kid: &str) -> VerifyingKey {
    VerifyingKey::from_secret(secret)
        .expect("32-byte secret")
        .with_kid(Some(kid.to_owned()))
}

/// Two HMAC keys, `k1` and `k2`.
fn hmac_pair() -> KeySet {
    KeySet::new(vec![hmac_key(SECRET, "k1"), hmac_key(SECRET2, "k2")]).expect("distinct kids")
}

/// The one HMAC key `k1`.
fn hmac_k1() -> KeySet {
    KeySet::single(hmac_key(SECRET, "k1"))
}

/// A correct HS256 token under `k1`'s secret.
fn k1_token(header: &str, payload: &str) -> String {
    hs256_token(SECRET, header, payload)
}

/// The victim's P-256 key (RFC 7515 A.3), for signing in Sigil and by hand.
struct Victim {
    sigil: SigningKey,
    fixed: EcdsaKeyPair,
    der: EcdsaKeyPair,
    public: PublicKey,
}

fn victim() -> Victim {
    let jwk = jwk(RFC7515_A3_PRIVATE_KEY);
    let d = unb64(jwk.d.as_deref().expect("d"));
    let point = [
        &[4u8][..],
        &unb64(jwk.x.as_deref().expect("x")),
        &unb64(jwk.y.as_deref().expect("y")),
    ]
    .concat();
    let pair = |alg| EcdsaKeyPair::from_private_key_and_public_key(alg, &d, &point).expect("key");
    Victim {
        sigil: SigningKey::new(jwk.private_key().expect("key"), Algorithm::ES256)
            .expect("ES256 key")
            .with_kid(Some("e1".to_owned())),
        fixed: pair(&ECDSA_P256_SHA256_FIXED_SIGNING),
        der: pair(&ECDSA_P256_SHA256_ASN1_SIGNING),
        public: jwk.public_key().expect("public key"),
    }
}

impl Victim {
    /// The victim's key as a verifier knows it: `kid` "e1", ES256 only.
    fn keys(&self) -> KeySet {
        KeySet::single(self.sigil.verifying_key().expect("verifying key"))
    }
}

/// Signs `header.payload` with a raw aws-lc-rs ECDSA key (P1363 or DER, as the key was made).
fn ecdsa_token(pair: &EcdsaKeyPair, header: &str, payload: &str) -> String {
    let input = signing_input(header, payload);
    let signature = pair
        .sign(&SystemRandom::new(), input.as_bytes())
        .expect("sign");
    format!("{input}.{}", b64(signature))
}

fn rsa_victim_public() -> PublicKey {
    jwk(RFC7515_A2_KEY).public_key().expect("RFC 7515 A.2 key")
}

#[test]
fn alg_none_in_every_spelling() {
    let mut cases = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        for signature in ["", "c2lnbmF0dXJl"] {
            let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
            cases.push(case(
                format!("alg {alg}, signature {signature:?}"),
                format!("{}.{signature}", signing_input(&header, &claims())),
                hmac_k1(),
                policy(Algorithm::ALL),
                is(VerifyError::AlgNone(alg.to_owned())),
            ));
        }
    }
    check(cases);
}

/// RS256→HS256 and ES256→HS256: the attacker MACs a token with the victim's public key in every
/// form it is published in.
#[test]
fn public_key_used_as_hmac_secret() {
    let victim = victim();
    let mut cases = Vec::new();
    let victims = [
        ("RS256", rsa_victim_public(), Algorithm::RS256),
        ("ES256", victim.public.clone(), Algorithm::ES256),
    ];
    for (name, public, alg) in victims {
        let pem = public.to_pem().expect("PEM");
        let materials = [
            ("PEM text", pem.clone().into_bytes()),
            (
                "PEM text without its last newline",
                pem.trim_end().as_bytes().to_vec(),
            ),
            ("SPKI DER", public.to_spki_der().expect("DER")),
            (
                "JWK JSON",
                serde_json::to_vec(&public.to_jwk()).expect("JWK JSON"),
            ),
        ];
        for (material, secret) in materials {
            let forged = hs256_token(&secret, r#"{"alg":"HS256","typ":"JWT"}"#, &claims());
            let public_key =
                || KeySet::single(VerifyingKey::from_public_key(&public).expect("public key"));
            let as_secret =
                || KeySet::single(VerifyingKey::from_secret(&secret).expect("long enough"));
            cases.extend([
                case(
                    format!("{name}→HS256 with the {material}: {name}-only verifier"),
                    forged.clone(),
                    public_key(),
                    policy([alg]),
                    is(VerifyError::AlgNotAllowed(Algorithm::HS256)),
                ),
                case(
                    format!("{name}→HS256 with the {material}: verifier allowing every alg"),
                    forged.clone(),
                    public_key(),
                    policy(Algorithm::ALL),
                    like(|e| {
                        matches!(
                            e,
                            VerifyError::AlgKeyMismatch {
                                alg: Algorithm::HS256,
                                ..
                            }
                        )
                    }),
                ),
                case(
                    format!("{name}→HS256 with the {material}: bytes handed over as a secret"),
                    forged.clone(),
                    as_secret(),
                    policy([alg]),
                    is(VerifyError::AlgNotAllowed(Algorithm::HS256)),
                ),
                // Control: the forgery is a correct HS256 token under those bytes.
                case(
                    format!("{name}→HS256 with the {material}: control, HS256 allowed"),
                    forged,
                    as_secret(),
                    policy([Algorithm::HS256]),
                    Want::Accept,
                ),
            ]);
        }
    }
    check(cases);
}

/// `kid` is looked up, never used as a path, a query or a prefix, and never falls back.
#[test]
fn kid_is_an_opaque_exact_match() {
    let long_kid = "a".repeat(8 * 1024);
    let mut cases = Vec::new();
    for kid in ["../../../../dev/null", "/dev/null"] {
        // The classic: point the kid at an empty file and MAC with the empty key.
        let header = format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#);
        cases.push(case(
            format!("path traversal {kid:?}"),
            hs256_token(b"", &header, &claims()),
            hmac_pair(),
            policy([Algorithm::HS256]),
            is(VerifyError::UnknownKid(kid.to_owned())),
        ));
    }
    let near_misses = [
        ("SQL injection", r"x' OR '1'='1", "x' OR '1'='1"),
        ("NUL byte", r"k1\u0000", "k1\0"),
        ("trailing space", "k1 ", "k1 "),
        ("other case", "K1", "K1"),
        ("very long", long_kid.as_str(), long_kid.as_str()),
        ("unknown", "k3", "k3"),
    ];
    for (name, json, kid) in near_misses {
        // MACed with k1's secret: any fallback to k1 would accept the token.
        let header = format!(r#"{{"alg":"HS256","kid":"{json}"}}"#);
        for (set, keys) in [("two keys", hmac_pair()), ("one key with a kid", hmac_k1())] {
            cases.push(case(
                format!("kid {name}, {set}"),
                k1_token(&header, &claims()),
                keys,
                policy([Algorithm::HS256]),
                is(VerifyError::UnknownKid(kid.to_owned())),
            ));
        }
    }
    cases.push(case(
        "control: kid k1",
        k1_token(r#"{"alg":"HS256","kid":"k1"}"#, &claims()),
        hmac_pair(),
        policy([Algorithm::HS256]),
        Want::Accept,
    ));
    check(cases);
}

/// A token never picks its own key: without a `kid` among several candidates, or with a `kid`
/// that no key has, it is refused, for shared secrets and public keys alike.
#[test]
fn key_selection_never_guesses() {
    let victim = victim();
    let other = SigningKey::new(
        PrivateKey::generate(KeySpec::P256).expect("P-256"),
        Algorithm::ES256,
    )
    .expect("ES256 key")
    .with_kid(Some("e2".to_owned()));
    let two_ec = || {
        KeySet::new(vec![
            victim.sigil.verifying_key().expect("e1"),
            other.verifying_key().expect("e2"),
        ])
        .expect("distinct kids")
    };
    let sign_as = |kid: Option<&str>| {
        let signer = SigningKey::new(
            jwk(RFC7515_A3_PRIVATE_KEY).private_key().expect("key"),
            Algorithm::ES256,
        )
        .expect("ES256 key")
        .with_kid(kid.map(str::to_owned));
        signer
            .sign(&serde_json::json!({"sub": "auth0|victim", "exp": EXP}))
            .expect("sign")
    };
    check(vec![
        case(
            "HS256 without kid, two HMAC keys",
            k1_token(r#"{"alg":"HS256"}"#, &claims()),
            hmac_pair(),
            policy([Algorithm::HS256]),
            is(VerifyError::AmbiguousKey(2)),
        ),
        case(
            "ES256 without kid, two P-256 keys",
            sign_as(None),
            two_ec(),
            policy([Algorithm::ES256]),
            is(VerifyError::AmbiguousKey(2)),
        ),
        case(
            "ES256 with an unknown kid, two P-256 keys",
            sign_as(Some("e3")),
            two_ec(),
            policy([Algorithm::ES256]),
            is(VerifyError::UnknownKid("e3".to_owned())),
        ),
        case(
            "control: ES256 with kid e1",
            sign_as(Some("e1")),
            two_ec(),
            policy([Algorithm::ES256]),
            Want::Accept,
        ),
        case(
            "ES256 token, RSA key: the key cannot verify ES256",
            sign_as(None),
            KeySet::single(VerifyingKey::from_public_key(&rsa_victim_public()).expect("RSA")),
            policy([Algorithm::ES256]),
            is(VerifyError::AlgKeyMismatch {
                alg: Algorithm::ES256,
                kind: KeyKind::Rsa,
            }),
        ),
        case(
            "ES256 token, verifier allows RS256 only",
            sign_as(Some("e1")),
            victim.keys(),
            policy([Algorithm::RS256]),
            is(VerifyError::AlgNotAllowed(Algorithm::ES256)),
        ),
        case(
            "HS384 token, verifier allows HS256 only",
            hs384_token(),
            KeySet::single(VerifyingKey::from_secret(&[7; 48]).expect("48 bytes")),
            policy([Algorithm::HS256]),
            is(VerifyError::AlgNotAllowed(Algorithm::HS384)),
        ),
    ]);
}

fn hs384_token() -> String {
    let input = signing_input(r#"{"alg":"HS384"}"#, &claims());
    let key = hmac::Key::new(hmac::HMAC_SHA384, &[7; 48]);
    format!("{input}.{}", b64(hmac::sign(&key, input.as_bytes())))
}

/// `jku`, `x5u` and an embedded `jwk` are read past and never used to find a key.
#[test]
fn key_hinting_headers_are_ignored() {
    let victim = victim();
    let attacker = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256");
    let attacker_public =
        PublicKey::from_ec_point(KeyKind::EcP256, attacker.public_key().as_ref()).expect("point");
    let attacker_jwk = serde_json::to_string(&attacker_public.to_jwk()).expect("JWK");
    let headers = [
        (
            "jku",
            r#"{"alg":"ES256","kid":"e1","jku":"https://attacker.example/jwks.json"}"#.to_owned(),
        ),
        (
            "x5u",
            r#"{"alg":"ES256","kid":"e1","x5u":"https://attacker.example/cert.pem"}"#.to_owned(),
        ),
        (
            "embedded jwk",
            format!(r#"{{"alg":"ES256","kid":"e1","jwk":{attacker_jwk}}}"#),
        ),
        (
            "embedded jwk, no kid",
            format!(r#"{{"alg":"ES256","jwk":{attacker_jwk}}}"#),
        ),
    ];
    let mut cases = Vec::new();
    for (name, header) in headers {
        let token = ecdsa_token(&attacker, &header, &claims());
        cases.push(case(
            format!("{name}: signed by the attacker"),
            token.clone(),
            victim.keys(),
            policy([Algorithm::ES256]),
            is(VerifyError::BadSignature {
                kid: Some("e1".to_owned()),
            }),
        ));
        // Control: the signature is the attacker key's own, and it is good.
        let attacker_keys = KeySet::single(
            VerifyingKey::from_public_key(&attacker_public)
                .expect("attacker key")
                .with_kid(Some("e1".to_owned())),
        );
        cases.push(case(
            format!("{name}: control, attacker's key trusted"),
            token,
            attacker_keys,
            policy([Algorithm::ES256]),
            Want::Accept,
        ));
    }
    check(cases);
}

/// ECDSA signatures are P1363 `r || s` of the curve's size with `0 < r, s < n`.
#[test]
fn ecdsa_signature_forms() {
    let victim = victim();
    let header = r#"{"alg":"ES256","kid":"e1"}"#;
    let input = signing_input(header, &claims());
    // The order n of P-256.
    let n = unb64("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE");
    let with_signature = |signature: &[u8]| format!("{input}.{}", b64(signature));
    let bad = || {
        is(VerifyError::BadSignature {
            kid: Some("e1".to_owned()),
        })
    };
    let mut cases = vec![
        case(
            "psychic signature r = s = 0",
            with_signature(&[0; 64]),
            victim.keys(),
            policy([Algorithm::ES256]),
            bad(),
        ),
        case(
            "r = s = n",
            with_signature(&[&n[..], &n[..]].concat()),
            victim.keys(),
            policy([Algorithm::ES256]),
            bad(),
        ),
        case(
            "DER signature instead of P1363",
            ecdsa_token(&victim.der, header, &claims()),
            victim.keys(),
            policy([Algorithm::ES256]),
            bad(),
        ),
        case(
            "control: P1363 signature by the same key",
            ecdsa_token(&victim.fixed, header, &claims()),
            victim.keys(),
            policy([Algorithm::ES256]),
            Want::Accept,
        ),
    ];
    for (spec, alg, len) in [
        (KeySpec::P384, Algorithm::ES384, 96),
        (KeySpec::P521, Algorithm::ES512, 132),
    ] {
        let key = SigningKey::new(PrivateKey::generate(spec).expect("key"), alg)
            .expect("key")
            .with_kid(None);
        let header = format!(r#"{{"alg":"{alg}"}}"#);
        cases.push(case(
            format!("psychic signature r = s = 0 on {alg}"),
            format!(
                "{}.{}",
                signing_input(&header, &claims()),
                b64(vec![0; len])
            ),
            KeySet::single(key.verifying_key().expect("key")),
            policy([alg]),
            is(VerifyError::BadSignature { kid: None }),
        ));
    }
    check(cases);
}

/// Pads `json` with trailing spaces until its base64url form needs padding, and returns that
/// padded form (what a lenient encoder would produce).
fn padded_b64(json: &str) -> String {
    let mut json = json.to_owned();
    while json.len().is_multiple_of(3) {
        json.push(' ');
    }
    let mut text = b64(&json);
    while !text.len().is_multiple_of(4) {
        text.push('=');
    }
    text
}

/// The standard-alphabet base64 of `json` (padded with trailing spaces until it shows `wanted`).
fn standard_b64_with(json: &str, wanted: char) -> String {
    let mut json = json.to_owned();
    for _ in 0..8 {
        let text = b64_standard(&json);
        if text.contains(wanted) {
            return text;
        }
        json.push(' ');
    }
    panic!("{json:?} never encodes with {wanted:?}")
}

/// A token of exactly `len` bytes that `k1` accepts.
fn token_of_len(len: usize) -> String {
    for filler in 0..4 {
        let header = format!(
            r#"{{"alg":"HS256","kid":"k1","x":"{}"}}"#,
            "x".repeat(filler)
        );
        let Some(payload_b64_len) = len.checked_sub(b64(&header).len() + 2 + 43) else {
            continue;
        };
        // Unpadded base64url lengths are never 1 (mod 4).
        let payload_len = match payload_b64_len % 4 {
            0 => payload_b64_len / 4 * 3,
            2 => payload_b64_len / 4 * 3 + 1,
            3 => payload_b64_len / 4 * 3 + 2,
            _ => continue,
        };
        let empty = format!(r#"{{"exp":{EXP},"pad":""}}"#);
        let pad = "p".repeat(payload_len - empty.len());
        let token = k1_token(&header, &format!(r#"{{"exp":{EXP},"pad":"{pad}"}}"#));
        assert_eq!(token.len(), len);
        return token;
    }
    unreachable!("some filler length fits")
}

/// Compact serialization only, exactly three segments, canonical unpadded base64url only.
#[test]
fn framing_and_encoding() {
    let header = r#"{"alg":"HS256","kid":"k1"}"#;
    let good = k1_token(header, &claims());
    let (input, signature) = good.rsplit_once('.').expect("three segments");
    let (h64, p64) = input.split_once('.').expect("two segments");
    // A signature whose standard-alphabet form differs from its base64url form.
    let standard_signature = (0..)
        .find_map(|i| {
            let payload = b64(format!(r#"{{"exp":{EXP},"i":{i}}}"#));
            let input = format!("{h64}.{payload}");
            let tag = hmac_sha256(SECRET, input.as_bytes());
            let text = b64_standard(&tag);
            (text.contains('+') || text.contains('/')).then(|| format!("{input}.{text}"))
        })
        .expect("some tag has '+' or '/'");
    let b64_error = |segment: &'static str| is(VerifyError::Base64(segment));
    let rows: Vec<(&str, String, Want)> = vec![
        ("control: the untouched token", good.clone(), Want::Accept),
        ("empty token", String::new(), is(VerifyError::Segments(1))),
        ("one segment", h64.to_owned(), is(VerifyError::Segments(1))),
        (
            "two segments",
            input.to_owned(),
            is(VerifyError::Segments(2)),
        ),
        (
            "four segments",
            format!("{good}.{signature}"),
            is(VerifyError::Segments(4)),
        ),
        (
            "trailing dot",
            format!("{good}."),
            is(VerifyError::Segments(4)),
        ),
        (
            "leading dot",
            format!(".{good}"),
            is(VerifyError::Segments(4)),
        ),
        (
            "five segments (JWE)",
            format!("{good}.e30.e30"),
            is(VerifyError::Encrypted),
        ),
        (
            "JWS JSON serialization",
            format!(r#"{{"payload":"{p64}","protected":"{h64}","signature":"{signature}"}}"#),
            is(VerifyError::JsonSerialization),
        ),
        (
            "JWS JSON serialization after whitespace",
            format!(r#" {{"payload":"{p64}","signatures":[]}}"#),
            is(VerifyError::JsonSerialization),
        ),
        (
            "padded header",
            signed_hs256(SECRET, format!("{}.{p64}", padded_b64(header))),
            b64_error("header"),
        ),
        (
            "padded payload",
            signed_hs256(SECRET, format!("{h64}.{}", padded_b64(&claims()))),
            b64_error("payload"),
        ),
        (
            "padded signature",
            format!("{good}="),
            b64_error("signature"),
        ),
        (
            "'+' in the header (standard alphabet)",
            signed_hs256(
                SECRET,
                format!(
                    "{}.{p64}",
                    standard_b64_with(r#"{"alg":"HS256","kid":"k1","x":">>>"}"#, '+')
                ),
            ),
            b64_error("header"),
        ),
        (
            "'/' in the payload (standard alphabet)",
            signed_hs256(
                SECRET,
                format!(
                    "{h64}.{}",
                    standard_b64_with(&format!(r#"{{"exp":{EXP},"x":"???"}}"#), '/')
                ),
            ),
            b64_error("payload"),
        ),
        (
            "'+' or '/' in the signature",
            standard_signature,
            b64_error("signature"),
        ),
        ("leading space", format!(" {good}"), b64_error("header")),
        (
            "trailing newline",
            format!("{good}\n"),
            b64_error("signature"),
        ),
        (
            "space inside the payload",
            signed_hs256(SECRET, format!("{h64}.{} {}", &p64[..8], &p64[8..])),
            b64_error("payload"),
        ),
        (
            "payload wrapped with CR LF",
            signed_hs256(SECRET, format!("{h64}.{}\r\n{}", &p64[..8], &p64[8..])),
            b64_error("payload"),
        ),
        (
            "non-canonical signature (an unused bit set)",
            format!("{input}.{}", with_unused_bit_set(signature)),
            b64_error("signature"),
        ),
        (
            "one byte over 16 KiB",
            token_of_len(DEFAULT_MAX_TOKEN_LEN + 1),
            {
                is(VerifyError::TooLarge {
                    len: DEFAULT_MAX_TOKEN_LEN + 1,
                    max: DEFAULT_MAX_TOKEN_LEN,
                })
            },
        ),
        (
            "control: exactly 16 KiB",
            token_of_len(DEFAULT_MAX_TOKEN_LEN),
            Want::Accept,
        ),
    ];
    check(
        rows.into_iter()
            .map(|(name, token, want)| {
                case(name, token, hmac_k1(), policy([Algorithm::HS256]), want)
            })
            .collect(),
    );
}

/// Sets the lowest of the 2 unused bits in the last character of a 32-byte value's base64url
/// form: a lenient decoder still reads the same bytes, a strict one refuses it.
fn with_unused_bit_set(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_eq!(text.len(), 43, "a 32-byte value");
    let (head, last) = text.split_at(42);
    let index = ALPHABET
        .iter()
        .position(|&c| c == last.as_bytes()[0])
        .expect("base64url");
    format!("{head}{}", char::from(ALPHABET[index ^ 1]))
}

/// Headers and claims are strict JSON objects: no duplicate names, no `crit`, no `b64: false`,
/// and registered claims of their registered types.
#[test]
fn header_and_claims_are_strict() {
    let header_error = || like(|e| matches!(e, VerifyError::Header(_)));
    let claims_error = || like(|e| matches!(e, VerifyError::Claims(_)));
    let raw_header =
        |bytes: &[u8]| signed_hs256(SECRET, format!("{}.{}", b64(bytes), b64(claims())));
    let rows: Vec<(&str, String, Want)> = vec![
        (
            "non-UTF-8 header",
            raw_header(b"{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":\"\xff\xfe\"}"),
            header_error(),
        ),
        (
            "header is not JSON",
            raw_header(b"{alg:HS256}"),
            header_error(),
        ),
        (
            "header is a JSON array",
            raw_header(br#"["alg","HS256"]"#),
            header_error(),
        ),
        (
            "header is a JSON string",
            raw_header(br#""HS256""#),
            header_error(),
        ),
        (
            "header followed by a second object",
            raw_header(br#"{"alg":"HS256","kid":"k1"}{"alg":"none"}"#),
            header_error(),
        ),
        (
            "alg twice (none, then HS256)",
            k1_token(r#"{"alg":"none","alg":"HS256","kid":"k1"}"#, &claims()),
            header_error(),
        ),
        (
            "alg twice, the second one escaped",
            k1_token(
                r#"{"alg":"RS256","kid":"k1","\u0061lg":"HS256"}"#,
                &claims(),
            ),
            header_error(),
        ),
        (
            "kid twice",
            k1_token(r#"{"alg":"HS256","kid":"k2","kid":"k1"}"#, &claims()),
            header_error(),
        ),
        (
            "crit",
            k1_token(
                r#"{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}"#,
                &claims(),
            ),
            is(VerifyError::Crit(vec!["exp".to_owned()])),
        ),
        (
            "empty crit",
            k1_token(r#"{"alg":"HS256","kid":"k1","crit":[]}"#, &claims()),
            is(VerifyError::Crit(Vec::new())),
        ),
        (
            "b64: false",
            k1_token(r#"{"alg":"HS256","kid":"k1","b64":false}"#, &claims()),
            is(VerifyError::UnencodedPayload),
        ),
        (
            "exp twice",
            k1_token(
                r#"{"alg":"HS256","kid":"k1"}"#,
                &format!(r#"{{"exp":1,"exp":{EXP}}}"#),
            ),
            claims_error(),
        ),
        (
            "sub twice",
            k1_token(
                r#"{"alg":"HS256","kid":"k1"}"#,
                &format!(r#"{{"sub":"auth0|victim","sub":"auth0|admin","exp":{EXP}}}"#),
            ),
            claims_error(),
        ),
        (
            "claims are a JSON array",
            k1_token(r#"{"alg":"HS256","kid":"k1"}"#, &format!("[{EXP}]")),
            claims_error(),
        ),
    ];
    let mut cases: Vec<Case> = rows
        .into_iter()
        .map(|(name, token, want)| case(name, token, hmac_pair(), policy([Algorithm::HS256]), want))
        .collect();
    let numeric_dates = [
        format!(r#"{{"exp":"{EXP}"}}"#),
        format!(r#"{{"exp":{EXP},"nbf":"1"}}"#),
        format!(r#"{{"exp":{EXP},"iat":"1"}}"#),
        r#"{"exp":-1}"#.to_owned(),
        format!(r#"{{"exp":{EXP},"nbf":-1}}"#),
        format!(r#"{{"exp":{EXP},"iat":-1}}"#),
        r#"{"exp":1e300}"#.to_owned(),
        format!(r#"{{"exp":{EXP},"nbf":1e300}}"#),
        format!(r#"{{"exp":{EXP},"iat":1e300}}"#),
        r#"{"exp":null}"#.to_owned(),
        r#"{"exp":true}"#.to_owned(),
    ];
    for payload in numeric_dates {
        cases.push(case(
            format!("NumericDate {payload}"),
            k1_token(r#"{"alg":"HS256","kid":"k1"}"#, &payload),
            hmac_pair(),
            policy([Algorithm::HS256]),
            claims_error(),
        ));
    }
    check(cases);
}

/// Claims must be UTF-8 even where the caller's claims type skips them: RFC 7519 §7.2 asks for
/// a completely valid JSON object, and a token must not read differently in different parsers.
#[test]
fn claims_must_be_utf8_even_where_skipped() {
    #[derive(Debug, serde::Deserialize)]
    struct Subject {
        #[allow(dead_code)]
        sub: String,
    }
    let verifier = Verifier::new(hmac_k1(), policy([Algorithm::HS256]));
    let token = |payload: &[u8]| {
        signed_hs256(
            SECRET,
            format!("{}.{}", b64(r#"{"alg":"HS256","kid":"k1"}"#), b64(payload)),
        )
    };
    let good = format!(r#"{{"sub":"a","exp":{EXP},"x":"ok"}}"#);
    verifier
        .verify::<Subject>(&token(good.as_bytes()), NOW)
        .expect("control: the same claims in UTF-8");
    let bad = [
        &br#"{"sub":"a","exp":4102444800,"x":""#[..],
        b"\xff\xfe",
        br#""}"#,
    ]
    .concat();
    let result = verifier.verify::<Subject>(&token(&bad), NOW);
    assert!(
        matches!(result, Err(VerifyError::Claims(_))),
        "non-UTF-8 claims: {result:?}"
    );
}

/// `exp` and `nbf` against a clock that is a parameter, at the edges of the leeway.
#[test]
fn time_claims_at_the_edges_of_the_leeway() {
    let now = NOW.0;
    let header = r#"{"alg":"HS256","kid":"k1"}"#;
    let rows = [
        (
            "exp 29 s ago, leeway 30",
            format!(r#"{{"exp":{}}}"#, now - 29),
            30,
            Want::Accept,
        ),
        (
            "exp 30 s ago, leeway 30",
            format!(r#"{{"exp":{}}}"#, now - 30),
            30,
            is(VerifyError::Expired { exp: now - 30, now }),
        ),
        (
            "exp now, no leeway",
            format!(r#"{{"exp":{now}}}"#),
            0,
            is(VerifyError::Expired { exp: now, now }),
        ),
        (
            "exp in 1 s, no leeway",
            format!(r#"{{"exp":{}}}"#, now + 1),
            0,
            Want::Accept,
        ),
        (
            "nbf in 30 s, leeway 30",
            format!(r#"{{"exp":{EXP},"nbf":{}}}"#, now + 30),
            30,
            Want::Accept,
        ),
        (
            "nbf in 31 s, leeway 30",
            format!(r#"{{"exp":{EXP},"nbf":{}}}"#, now + 31),
            30,
            is(VerifyError::NotYetValid { nbf: now + 31, now }),
        ),
        (
            "nbf now, no leeway",
            format!(r#"{{"exp":{EXP},"nbf":{now}}}"#),
            0,
            Want::Accept,
        ),
        (
            "nbf in 1 s, no leeway",
            format!(r#"{{"exp":{EXP},"nbf":{}}}"#, now + 1),
            0,
            is(VerifyError::NotYetValid { nbf: now + 1, now }),
        ),
        (
            "no exp at all",
            r#"{"sub":"auth0|victim"}"#.to_owned(),
            0,
            is(VerifyError::MissingClaim("exp".to_owned())),
        ),
    ];
    check(
        rows.into_iter()
            .map(|(name, payload, leeway, want)| {
                case(
                    name,
                    k1_token(header, &payload),
                    hmac_k1(),
                    policy([Algorithm::HS256]).leeway(leeway),
                    want,
                )
            })
            .collect(),
    );
}

/// `iss` is compared exactly, `aud` may be a string or an array, and `typ` follows the policy.
#[test]
fn issuer_audience_and_typ() {
    const ISS: &str = "https://sigil.example/";
    const AUD: &str = "https://api.example";
    let token = |header: &str, payload: serde_json::Value| k1_token(header, &payload.to_string());
    let plain = r#"{"alg":"HS256","kid":"k1"}"#;
    let iss = |found: &str| {
        token(
            plain,
            serde_json::json!({"iss": found, "aud": AUD, "exp": EXP}),
        )
    };
    let aud = |aud: serde_json::Value| {
        token(
            plain,
            serde_json::json!({"iss": ISS, "aud": aud, "exp": EXP}),
        )
    };
    let full = || policy([Algorithm::HS256]).issuer(ISS).audience(AUD);
    let issuer_error = |found: Option<&str>| {
        is(VerifyError::Issuer {
            expected: ISS.to_owned(),
            found: found.map(str::to_owned),
        })
    };
    let audience_error = |found: &[&str]| {
        is(VerifyError::Audience {
            expected: vec![AUD.to_owned()],
            found: found.iter().map(|s| (*s).to_owned()).collect(),
        })
    };
    let mut at_jwt_only = policy([Algorithm::HS256]);
    at_jwt_only.typ = TypPolicy::Require(vec!["at+jwt".to_owned()]);
    let typ = |typ: &str| {
        token(
            &format!(r#"{{"alg":"HS256","kid":"k1","typ":"{typ}"}}"#),
            serde_json::json!({"exp": EXP}),
        )
    };
    let typ_error = |found: &str, expected: &str| {
        is(VerifyError::Typ {
            found: found.to_owned(),
            expected: expected.to_owned(),
        })
    };
    let rows: Vec<(&str, String, Validation, Want)> = vec![
        (
            "control: exact iss, aud string",
            iss(ISS),
            full(),
            Want::Accept,
        ),
        (
            "iss without the trailing slash",
            iss("https://sigil.example"),
            full(),
            issuer_error(Some("https://sigil.example")),
        ),
        (
            "iss with a second trailing slash",
            iss("https://sigil.example//"),
            full(),
            issuer_error(Some("https://sigil.example//")),
        ),
        (
            "iss missing",
            token(plain, serde_json::json!({"aud": AUD, "exp": EXP})),
            full(),
            issuer_error(None),
        ),
        (
            "aud array containing ours",
            aud(serde_json::json!(["other", AUD])),
            full(),
            Want::Accept,
        ),
        (
            "aud string, not ours",
            aud(serde_json::json!("https://api.example/")),
            full(),
            audience_error(&["https://api.example/"]),
        ),
        (
            "aud array without ours",
            aud(serde_json::json!(["other"])),
            full(),
            audience_error(&["other"]),
        ),
        (
            "aud empty array",
            aud(serde_json::json!([])),
            full(),
            audience_error(&[]),
        ),
        (
            "aud missing",
            token(plain, serde_json::json!({"iss": ISS, "exp": EXP})),
            full(),
            audience_error(&[]),
        ),
        (
            "aud nested array",
            aud(serde_json::json!([[AUD]])),
            full(),
            like(|e| matches!(e, VerifyError::Claims(_))),
        ),
        (
            "typ JWT where at+jwt is required",
            typ("JWT"),
            at_jwt_only.clone(),
            typ_error("JWT", "at+jwt"),
        ),
        (
            "no typ where at+jwt is required",
            token(plain, serde_json::json!({"exp": EXP})),
            at_jwt_only.clone(),
            typ_error("(none)", "at+jwt"),
        ),
        (
            "control: typ at+jwt",
            typ("at+jwt"),
            at_jwt_only.clone(),
            Want::Accept,
        ),
        (
            "control: typ application/at+jwt",
            typ("application/at+jwt"),
            at_jwt_only,
            Want::Accept,
        ),
        (
            "typ dpop+jwt under the default policy",
            typ("dpop+jwt"),
            policy([Algorithm::HS256]),
            typ_error("dpop+jwt", "JWT or at+jwt"),
        ),
    ];
    check(
        rows.into_iter()
            .map(|(name, token, validation, want)| case(name, token, hmac_k1(), validation, want))
            .collect(),
    );
}

/// Weak keys are refused when they are imported, before any token is seen.
#[test]
fn weak_keys_are_refused_at_import() {
    // Wycheproof's 1024-bit RSA key (json_web_key_test.json, group "keysize_too_small").
    const RSA_1024_N: &str = "rJBIp6T1YK-RtPyvYqFFlcucqewSAA_IReSFchE8qyiQrbARqRlXWkB2DR8j_pJQnIpYELbQWZC5Cd0PTGAU8rMbar2AW6zpmBbi7aQf17lUBdt8XI9M9rq7FPVQ1dDdUXm1SVH_9qqWhvMPR422SbfHBEzCAtzK0ANDRo6qz78";
    let rsa_1024_jwk =
        format!(r#"{{"kty":"RSA","use":"sig","alg":"RS256","n":"{RSA_1024_N}","e":"AQAB"}}"#);
    let a2_n = unb64(jwk(RFC7515_A2_KEY).n.as_deref().expect("n"));
    // 2^2046 + 1: odd, and one bit short of 2048.
    let mut n_2047 = vec![0u8; 256];
    n_2047[0] = 0x40;
    n_2047[255] = 1;
    let hmac_too_short = |alg: Algorithm, len: usize| KeyError::HmacTooShort {
        alg,
        len,
        min: alg.min_hmac_key_len().expect("HMAC"),
    };
    let rows: Vec<(&str, Result<(), KeyError>, KeyError)> = vec![
        (
            "RSA 1024-bit JWK",
            VerifyingKey::from_jwk(&jwk(&rsa_1024_jwk)).map(drop),
            KeyError::RsaTooSmall(1024),
        ),
        (
            "RSA 1024-bit modulus",
            PublicKey::from_rsa_components(&unb64(RSA_1024_N), &[1, 0, 1]).map(drop),
            KeyError::RsaTooSmall(1024),
        ),
        (
            "RSA 2047-bit modulus",
            PublicKey::from_rsa_components(&n_2047, &[1, 0, 1]).map(drop),
            KeyError::RsaTooSmall(2047),
        ),
        (
            "RSA exponent 1",
            PublicKey::from_rsa_components(&a2_n, &[1]).map(drop),
            KeyError::RsaBadExponent,
        ),
        (
            "RSA even exponent",
            PublicKey::from_rsa_components(&a2_n, &[1, 0, 0]).map(drop),
            KeyError::RsaBadExponent,
        ),
        (
            "HMAC secret of 31 bytes",
            VerifyingKey::from_secret(&[7; 31]).map(drop),
            hmac_too_short(Algorithm::HS256, 31),
        ),
        (
            "empty HMAC secret",
            VerifyingKey::from_secret(&[]).map(drop),
            hmac_too_short(Algorithm::HS256, 0),
        ),
        (
            "HMAC signing secret of 31 bytes",
            SigningKey::new(
                PrivateKey::from_secret(Secret::new(vec![7; 31])),
                Algorithm::HS256,
            )
            .map(drop),
            hmac_too_short(Algorithm::HS256, 31),
        ),
        (
            "HS384 signing secret of 47 bytes",
            SigningKey::new(
                PrivateKey::from_secret(Secret::new(vec![7; 47])),
                Algorithm::HS384,
            )
            .map(drop),
            hmac_too_short(Algorithm::HS384, 47),
        ),
        (
            "HS512 signing secret of 63 bytes",
            SigningKey::new(
                PrivateKey::from_secret(Secret::new(vec![7; 63])),
                Algorithm::HS512,
            )
            .map(drop),
            hmac_too_short(Algorithm::HS512, 63),
        ),
    ];
    let failures: Vec<String> = rows
        .into_iter()
        .filter(|(_, got, expected)| got.as_ref().err() != Some(expected))
        .map(|(name, got, expected)| format!("{name}: expected {expected:?}, got {got:?}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The boundaries themselves are accepted.
    VerifyingKey::from_secret(&[7; 32]).expect("a 32-byte secret is enough for HS256");
    assert!(
        !VerifyingKey::from_secret(&[7; 47])
            .expect("HS256 key")
            .supports(Algorithm::HS384),
        "a 47-byte secret must not verify HS384"
    );
}

/// A JWK whose `alg` names another kind of key, or whose EC coordinates are not full length
/// (RFC 7518 §6.2.1.2), is refused as such when it is read, not merely unusable later.
#[test]
fn malformed_jwks_are_refused_at_import() {
    let a3 = jwk(RFC7515_A3_PRIVATE_KEY);
    let (x, y) = (a3.x.as_deref().expect("x"), a3.y.as_deref().expect("y"));
    let mismatched = jwk(&format!(
        r#"{{"kty":"EC","crv":"P-256","alg":"RS256","x":"{x}","y":"{y}"}}"#
    ));
    assert_eq!(
        mismatched.public_key().map(drop),
        Err(KeyError::AlgorithmMismatch {
            alg: Algorithm::RS256,
            kind: KeyKind::EcP256,
        })
    );
    let short_x = b64(&unb64(x)[1..]);
    let short = jwk(&format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{short_x}","y":"{y}"}}"#
    ));
    let result = VerifyingKey::from_jwk(&short).map(drop);
    assert!(
        matches!(result, Err(KeyError::Jwk(_))),
        "31-byte x coordinate: {result:?}"
    );
}
