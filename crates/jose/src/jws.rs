//! JWS compact serialization (RFC 7515 §3.1, §5): signing and signature verification.
//!
//! This is the only place that frames and un-frames tokens. The framing is written here rather
//! than taken from a JWT crate so that keys stay parsed between calls (see DESIGN.md,
//! "Performance design") and so that every rejection below is visible in one short file.

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaEncoding};
use serde::Serialize;

use crate::alg::{Algorithm, KeyKind};
use crate::b64;
use crate::error::{KeyError, SignError, VerifyError};
use crate::header::Header;
use crate::jwk::Jwk;
use crate::key::{Private, PrivateKey, Public, PublicKey, ecdsa_verification};

/// The largest token accepted unless configured otherwise: 16 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;

/// A private key bound to one algorithm and an optional `kid`, ready to sign.
pub struct SigningKey {
    alg: Algorithm,
    kid: Option<String>,
    signer: Signer,
    /// The encoded default header (`alg`, `typ: JWT`, `kid`), computed once.
    jwt_header: String,
    public: Option<PublicKey>,
    rng: SystemRandom,
}

enum Signer {
    Hmac(Box<(hmac::Key, crate::key::Secret)>),
    Rsa(aws_lc_rs::rsa::KeyPair, &'static dyn RsaEncoding),
    Ecdsa(signature::EcdsaKeyPair),
    Ed25519(signature::Ed25519KeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: Algorithm,
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

fn encode_header(alg: Algorithm, typ: &str, kid: Option<&str>) -> String {
    // Serializing three strings into a Vec cannot fail.
    let json = serde_json::to_vec(&HeaderOut { alg, typ, kid }).unwrap_or_default();
    b64::encode(&json)
}

fn hmac_algorithm(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}

fn rsa_params(
    alg: Algorithm,
) -> Option<(&'static dyn RsaEncoding, &'static signature::RsaParameters)> {
    Some(match alg {
        Algorithm::RS256 => (
            &signature::RSA_PKCS1_SHA256,
            &signature::RSA_PKCS1_2048_8192_SHA256,
        ),
        Algorithm::RS384 => (
            &signature::RSA_PKCS1_SHA384,
            &signature::RSA_PKCS1_2048_8192_SHA384,
        ),
        Algorithm::RS512 => (
            &signature::RSA_PKCS1_SHA512,
            &signature::RSA_PKCS1_2048_8192_SHA512,
        ),
        Algorithm::PS256 => (
            &signature::RSA_PSS_SHA256,
            &signature::RSA_PSS_2048_8192_SHA256,
        ),
        Algorithm::PS384 => (
            &signature::RSA_PSS_SHA384,
            &signature::RSA_PSS_2048_8192_SHA384,
        ),
        Algorithm::PS512 => (
            &signature::RSA_PSS_SHA512,
            &signature::RSA_PSS_2048_8192_SHA512,
        ),
        _ => return None,
    })
}

fn check_hmac_len(alg: Algorithm, len: usize) -> Result<(), KeyError> {
    match alg.min_hmac_key_len() {
        Some(min) if len < min => Err(KeyError::HmacTooShort { alg, len, min }),
        _ => Ok(()),
    }
}

impl SigningKey {
    /// Binds `key` to `alg`. The `kid` defaults to the key's RFC 7638 thumbprint.
    pub fn new(key: PrivateKey, alg: Algorithm) -> Result<Self, KeyError> {
        let kind = key.kind();
        if alg.key_kind() != kind {
            return Err(KeyError::AlgorithmMismatch { alg, kind });
        }
        let kid = key.thumbprint();
        let public = key.public_key();
        let signer = match key.0 {
            Private::Oct(secret) => {
                check_hmac_len(alg, secret.len())?;
                let key = hmac::Key::new(hmac_algorithm(alg), secret.expose_secret());
                Signer::Hmac(Box::new((key, secret)))
            }
            Private::Rsa(pair) => {
                let (encoding, _) =
                    rsa_params(alg).ok_or(KeyError::AlgorithmMismatch { alg, kind })?;
                Signer::Rsa(pair, encoding)
            }
            Private::Ec(_, pair) => Signer::Ecdsa(pair),
            Private::Ed25519(pair) => Signer::Ed25519(pair),
        };
        Ok(SigningKey {
            alg,
            jwt_header: encode_header(alg, "JWT", Some(&kid)),
            kid: Some(kid),
            signer,
            public,
            rng: SystemRandom::new(),
        })
    }

    /// Replaces the `kid` (`None` leaves it out of the header).
    pub fn with_kid(mut self, kid: Option<String>) -> Self {
        self.jwt_header = encode_header(self.alg, "JWT", kid.as_deref());
        self.kid = kid;
        self
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The `kid` put in headers.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public key, `None` for HMAC.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public.as_ref()
    }

    /// The key that verifies this key's signatures, with the same `kid`, restricted to its algorithm.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let key = match (&self.signer, &self.public) {
            (Signer::Hmac(pair), _) => VerifyingKey::from_secret(pair.1.expose_secret())?,
            (_, Some(public)) => VerifyingKey::from_public_key(public)?,
            (_, None) => return Err(KeyError::Generation),
        };
        key.with_kid(self.kid.clone()).restricted_to(self.alg)
    }

    /// Signs `claims` with the header `{"alg", "typ": "JWT", "kid"}`.
    pub fn sign<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, SignError> {
        let payload = serde_json::to_vec(claims).map_err(|e| SignError::Claims(e.to_string()))?;
        self.sign_payload(&self.jwt_header, &payload)
    }

    /// Signs `claims` with another `typ`, such as `at+jwt` (RFC 9068).
    pub fn sign_with_typ<C: Serialize + ?Sized>(
        &self,
        typ: &str,
        claims: &C,
    ) -> Result<String, SignError> {
        let payload = serde_json::to_vec(claims).map_err(|e| SignError::Claims(e.to_string()))?;
        self.sign_payload(&encode_header(self.alg, typ, self.kid.as_deref()), &payload)
    }

    fn sign_payload(&self, encoded_header: &str, payload: &[u8]) -> Result<String, SignError> {
        if payload.first() != Some(&b'{') {
            return Err(SignError::Claims(
                "claims must serialize to a JSON object".into(),
            ));
        }
        let mut token = String::with_capacity(encoded_header.len() + payload.len() * 4 / 3 + 700);
        token.push_str(encoded_header);
        token.push('.');
        b64::encode_into(payload, &mut token);
        let signature = self.sign_bytes(token.as_bytes())?;
        token.push('.');
        b64::encode_into(&signature, &mut token);
        Ok(token)
    }

    /// The raw signature over a JWS signing input.
    fn sign_bytes(&self, input: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.signer {
            Signer::Hmac(pair) => Ok(hmac::sign(&pair.0, input).as_ref().to_vec()),
            Signer::Rsa(pair, encoding) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, &self.rng, input, &mut signature)
                    .map_err(|_| SignError::Crypto)?;
                Ok(signature)
            }
            Signer::Ecdsa(pair) => pair
                .sign(&self.rng, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError::Crypto),
            Signer::Ed25519(pair) => Ok(pair.sign(input).as_ref().to_vec()),
        }
    }
}

/// A key that verifies signatures, parsed once for each algorithm it may verify.
pub struct VerifyingKey {
    kid: Option<String>,
    kind: KeyKind,
    check: Check,
}

enum Check {
    Hmac(Vec<(Algorithm, hmac::Key)>),
    Signature(Vec<(Algorithm, ParsedPublicKey)>),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("algorithms", &self.algorithms().collect::<Vec<_>>())
            .finish()
    }
}

impl VerifyingKey {
    /// A public key, for every algorithm of its kind.
    pub fn from_public_key(key: &PublicKey) -> Result<Self, KeyError> {
        Self::from_public_key_for(key, key.kind().algorithms())
    }

    /// A public key, parsed for these algorithms only (each must suit the key).
    fn from_public_key_for(
        key: &PublicKey,
        algorithms: impl Iterator<Item = Algorithm>,
    ) -> Result<Self, KeyError> {
        let kind = key.kind();
        let parse = |alg: Algorithm| -> Result<(Algorithm, ParsedPublicKey), KeyError> {
            let parsed = match &key.0 {
                Public::Rsa { n, e } => {
                    let (_, params) =
                        rsa_params(alg).ok_or(KeyError::AlgorithmMismatch { alg, kind })?;
                    PublicKeyComponents {
                        n: n.as_slice(),
                        e: e.as_slice(),
                    }
                    .to_parsed_public_key(params)
                }
                Public::Ec { kind, point } => {
                    ParsedPublicKey::new(ecdsa_verification(*kind), point)
                }
                Public::Ed25519(x) => ParsedPublicKey::new(&signature::ED25519, x),
            };
            parsed
                .map(|p| (alg, p))
                .map_err(|e| KeyError::Rejected(e.to_string()))
        };
        let parsed = algorithms
            .map(|alg| {
                if alg.key_kind() == kind {
                    parse(alg)
                } else {
                    Err(KeyError::AlgorithmMismatch { alg, kind })
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(VerifyingKey {
            kid: None,
            kind,
            check: Check::Signature(parsed),
        })
    }

    /// An HMAC secret, for each HS algorithm whose minimum key length it meets.
    pub fn from_secret(secret: &[u8]) -> Result<Self, KeyError> {
        check_hmac_len(Algorithm::HS256, secret.len())?;
        let keys = KeyKind::Oct
            .algorithms()
            .filter(|alg| check_hmac_len(*alg, secret.len()).is_ok())
            .map(|alg| (alg, hmac::Key::new(hmac_algorithm(alg), secret)))
            .collect();
        Ok(VerifyingKey {
            kid: None,
            kind: KeyKind::Oct,
            check: Check::Hmac(keys),
        })
    }

    /// A JWK: its `use`/`key_ops` must allow signatures, and its `alg`, if any, binds the key
    /// to that one algorithm. Private members are ignored (only the public half is kept), except
    /// for `oct`, whose `k` is the verification secret.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        jwk.check_signature_use()?;
        let kind = jwk.checked_kind()?;
        let key = if kind == KeyKind::Oct {
            let secret = jwk.private_key()?;
            let secret = secret
                .secret()
                .ok_or(KeyError::Symmetry("not an oct key"))?;
            Self::from_secret(secret.expose_secret())?
        } else {
            // Parse only for the JWK's own algorithm when it names one.
            let public = jwk.public_key()?;
            match jwk.algorithm()? {
                Some(alg) => Self::from_public_key_for(&public, [alg].into_iter())?,
                None => Self::from_public_key(&public)?,
            }
        };
        let key = key.with_kid(jwk.kid.clone());
        match jwk.algorithm()? {
            Some(alg) => key.restricted_to(alg),
            None => Ok(key),
        }
    }

    /// Sets the `kid` this key is selected by. A key without one matches any `kid` when it is the
    /// only key of its set (it was given explicitly, as with `sigil jwt verify --key`).
    pub fn with_kid(mut self, kid: Option<String>) -> Self {
        self.kid = kid;
        self
    }

    /// Keeps only `alg`; fails if the key cannot verify it.
    pub fn restricted_to(mut self, alg: Algorithm) -> Result<Self, KeyError> {
        if !self.supports(alg) {
            return Err(match self.kind {
                KeyKind::Oct if alg.is_symmetric() => KeyError::HmacTooShort {
                    alg,
                    len: 0,
                    min: alg.min_hmac_key_len().unwrap_or(0),
                },
                kind => KeyError::AlgorithmMismatch { alg, kind },
            });
        }
        match &mut self.check {
            Check::Hmac(keys) => keys.retain(|(a, _)| *a == alg),
            Check::Signature(keys) => keys.retain(|(a, _)| *a == alg),
        }
        Ok(self)
    }

    /// The `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The algorithms this key verifies.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        let algs: Vec<Algorithm> = match &self.check {
            Check::Hmac(keys) => keys.iter().map(|(a, _)| *a).collect(),
            Check::Signature(keys) => keys.iter().map(|(a, _)| *a).collect(),
        };
        algs.into_iter()
    }

    /// Whether this key verifies `alg`.
    pub fn supports(&self, alg: Algorithm) -> bool {
        match &self.check {
            Check::Hmac(keys) => keys.iter().any(|(a, _)| *a == alg),
            Check::Signature(keys) => keys.iter().any(|(a, _)| *a == alg),
        }
    }

    /// Checks a detached signature over `message` with `alg`, exactly as token verification
    /// does (same parsed key, same length and range checks).
    pub fn verify_detached(
        &self,
        alg: Algorithm,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        let mismatch = || VerifyError::AlgKeyMismatch {
            alg,
            kind: self.kind,
        };
        let bad = || VerifyError::BadSignature {
            kid: self.kid.clone(),
        };
        match &self.check {
            Check::Hmac(keys) => {
                let (_, key) = keys.iter().find(|(a, _)| *a == alg).ok_or_else(mismatch)?;
                // Constant-time comparison of the recomputed tag.
                hmac::verify(key, input, signature).map_err(|_| bad())
            }
            Check::Signature(keys) => {
                let (_, key) = keys.iter().find(|(a, _)| *a == alg).ok_or_else(mismatch)?;
                // P1363 ECDSA signatures have a fixed length; anything else (DER included) is refused
                // before the library sees it. Range checks on r and s are aws-lc's.
                let fixed = match self.kind {
                    KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 | KeyKind::Ed25519 => {
                        Some(2 * crate::key::coordinate_len(self.kind))
                    }
                    KeyKind::Rsa | KeyKind::Oct => None,
                };
                if fixed.is_some_and(|len| len != signature.len()) {
                    return Err(bad());
                }
                key.verify_sig(input, signature).map_err(|_| bad())
            }
        }
    }
}

/// The keys a verifier trusts. A set is all symmetric or all asymmetric, and no two keys share
/// a `kid`, so selection is never a guess.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

/// What [`KeySet::from_jwks`] could not use, with the reason.
#[derive(Debug)]
pub struct SkippedKey {
    /// The key's `kid`, if it had one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: KeyError,
}

impl KeySet {
    /// A set of keys, refusing a mix of symmetric and asymmetric keys and duplicate `kid`s.
    pub fn new(keys: Vec<VerifyingKey>) -> Result<Self, KeyError> {
        let symmetric = keys.iter().filter(|k| k.kind == KeyKind::Oct).count();
        if symmetric != 0 && symmetric != keys.len() {
            return Err(KeyError::Symmetry(
                "a key set must not mix shared secrets with public keys",
            ));
        }
        for (i, key) in keys.iter().enumerate() {
            if let Some(kid) = &key.kid
                && keys[..i].iter().any(|k| k.kid.as_ref() == Some(kid))
            {
                return Err(KeyError::DuplicateKid(kid.clone()));
            }
        }
        Ok(KeySet { keys })
    }

    /// A set of one key.
    pub fn single(key: VerifyingKey) -> Self {
        KeySet { keys: vec![key] }
    }

    /// Reads a JWK Set document. Keys that cannot be used for signatures (unknown `kty` or curve,
    /// `use: enc`, weak or malformed keys) are skipped as RFC 7517 §5 asks, and listed.
    ///
    /// A `kid` that appears twice in the document is an error even when one of the two keys is
    /// skipped: the document is ambiguous about which key the `kid` names, and which one Sigil
    /// could parse must not decide that.
    pub fn from_jwks(json: &[u8]) -> Result<(Self, Vec<SkippedKey>), KeyError> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let doc: Document = serde_json::from_slice(json).map_err(|e| {
            KeyError::Jwk(format!(
                "not a JWK Set (an object with a \"keys\" array): {e}"
            ))
        })?;
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        let mut kids: Vec<String> = Vec::new();
        for value in doc.keys {
            let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
            if let Some(kid) = &kid {
                if kids.contains(kid) {
                    return Err(KeyError::DuplicateKid(kid.clone()));
                }
                kids.push(kid.clone());
            }
            let key = serde_json::from_value::<Jwk>(value)
                .map_err(|e| KeyError::Jwk(e.to_string()))
                .and_then(|jwk| VerifyingKey::from_jwk(&jwk));
            match key {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(SkippedKey { kid, reason }),
            }
        }
        Ok((KeySet::new(keys)?, skipped))
    }

    /// The keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Chooses the key for a token: the one with its `kid` (never another), or, for a token
    /// without `kid`, the only key that supports its algorithm.
    pub fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&VerifyingKey, VerifyError> {
        match kid {
            Some(kid) => {
                if let Some(key) = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
                    return Ok(key);
                }
                match self.keys.as_slice() {
                    [only] if only.kid.is_none() => Ok(only),
                    _ => Err(VerifyError::UnknownKid(kid.to_owned())),
                }
            }
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.supports(alg));
                match (candidates.next(), candidates.count()) {
                    (Some(key), 0) => Ok(key),
                    (Some(_), more) => Err(VerifyError::AmbiguousKey(more + 1)),
                    (None, _) => match self.keys.as_slice() {
                        [only] => Ok(only),
                        _ => Err(VerifyError::NoKey(alg)),
                    },
                }
            }
        }
    }
}

/// The three segments of a compact JWS.
pub(crate) struct Compact<'t> {
    pub(crate) signing_input: &'t str,
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
}

/// Splits a compact JWS without decoding anything.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, VerifyError> {
    if token.len() > max_len {
        return Err(VerifyError::TooLarge {
            len: token.len(),
            max: max_len,
        });
    }
    if token.trim_start().starts_with('{') {
        return Err(VerifyError::JsonSerialization);
    }
    // Exactly two dots: none in the signature (after the last), none in the header (before the
    // first) and none in the payload. Only a malformed token pays for counting them.
    if let Some((signing_input, signature)) = token.rsplit_once('.')
        && let Some((header, payload)) = signing_input.split_once('.')
        && !payload.contains('.')
    {
        return Ok(Compact {
            signing_input,
            header,
            payload,
            signature,
        });
    }
    match token.bytes().filter(|&b| b == b'.').count() {
        4 => Err(VerifyError::Encrypted),
        n => Err(VerifyError::Segments(n + 1)),
    }
}

/// What the signature layer needs to know from a validation policy.
pub(crate) struct SignaturePolicy<'a> {
    pub(crate) algorithms: &'a [Algorithm],
    pub(crate) max_len: usize,
}

/// Verifies a compact JWS: framing, header, algorithm policy, key selection, signature.
/// Returns the header and the decoded payload; claims are the caller's business.
pub(crate) fn verify_compact<'t>(
    keys: &KeySet,
    policy: &SignaturePolicy<'_>,
    token: &'t str,
) -> Result<(Header, &'t str), VerifyError> {
    let parts = split(token, policy.max_len)?;
    let header = b64::with_decoded::<512, _>(parts.header, Header::parse)
        .map_err(|_| VerifyError::Base64("header"))??;
    if !policy.algorithms.contains(&header.alg) {
        return Err(VerifyError::AlgNotAllowed(header.alg));
    }
    let key = keys.select(header.kid.as_deref(), header.alg)?;
    b64::with_decoded::<512, _>(parts.signature, |signature| {
        key.verify_detached(header.alg, parts.signing_input.as_bytes(), signature)
    })
    .map_err(|_| VerifyError::Base64("signature"))??;
    Ok((header, parts.payload))
}

/// Verifies a compact JWS whose payload need not be JSON (the JWS layer alone, as in RFC 7515
/// and the Wycheproof vectors). Most callers want [`crate::Verifier`] instead.
pub fn verify_jws(
    keys: &KeySet,
    algorithms: &[Algorithm],
    token: &str,
) -> Result<(Header, Vec<u8>), VerifyError> {
    let policy = SignaturePolicy {
        algorithms,
        max_len: DEFAULT_MAX_TOKEN_LEN,
    };
    let (header, payload) = verify_compact(keys, &policy, token)?;
    let payload = b64::decode(payload).map_err(|_| VerifyError::Base64("payload"))?;
    Ok((header, payload))
}
