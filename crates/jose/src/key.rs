//! Key material: generation, PKCS#8 / SPKI / PKCS#1 / SEC1 (DER and PEM) import and export,
//! and the checks every key passes before Sigil uses it.
//!
//! [`PrivateKey`] holds a parsed private key or an HMAC [`Secret`]; [`PublicKey`] holds only
//! public components and cannot hold a symmetric key at all. Both are parsed once: signing and
//! verification work on the parsed form (see [`crate::SigningKey`], [`crate::VerifyingKey`]).

use std::fmt;

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, ParsedPublicKey,
};
use pkcs8::der::asn1::ObjectIdentifier as Oid;
use pkcs8::der::pem::{self, LineEnding};
use zeroize::Zeroizing;

use crate::alg::{Algorithm, KeyKind};
use crate::error::KeyError;

const OID_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const OID_P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: Oid = Oid::new_unwrap("1.3.132.0.34");
const OID_P521: Oid = Oid::new_unwrap("1.3.132.0.35");
const OID_ED25519: Oid = Oid::new_unwrap("1.3.101.112");

/// A secret byte string (an HMAC key). `Debug` never shows it, it is wiped on drop, and
/// equality is decided in constant time.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }

    /// `len` bytes from the system's secure random generator.
    pub fn random(len: usize) -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| KeyError::Generation)?;
        Ok(Secret(bytes))
    }

    /// The secret bytes.
    ///
    /// # Security
    /// The caller takes over the duty not to log, print or compare them in variable time.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted; {} bytes])", self.0.len())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        #[allow(deprecated)] // The replacement in aws-lc-rs is the same function under a new path.
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &other.0).is_ok()
    }
}

impl Eq for Secret {}

/// What kind of key to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// ECDSA on P-256.
    P256,
    /// ECDSA on P-384.
    P384,
    /// ECDSA on P-521.
    P521,
    /// Ed25519.
    Ed25519,
    /// A random HMAC secret of this many bytes.
    Oct(usize),
}

impl KeySpec {
    /// The key Sigil generates for an algorithm: RSA sized to the hash (2048/3072/4096 bits),
    /// the algorithm's curve, or an HMAC secret as long as the hash output.
    pub fn for_algorithm(alg: Algorithm) -> KeySpec {
        match alg {
            Algorithm::RS256 | Algorithm::PS256 => KeySpec::Rsa2048,
            Algorithm::RS384 | Algorithm::PS384 => KeySpec::Rsa3072,
            Algorithm::RS512 | Algorithm::PS512 => KeySpec::Rsa4096,
            Algorithm::ES256 => KeySpec::P256,
            Algorithm::ES384 => KeySpec::P384,
            Algorithm::ES512 => KeySpec::P521,
            Algorithm::EdDSA => KeySpec::Ed25519,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                KeySpec::Oct(alg.min_hmac_key_len().unwrap_or(64))
            }
        }
    }
}

/// A parsed private key, or an HMAC secret.
pub struct PrivateKey(pub(crate) Private);

pub(crate) enum Private {
    Oct(Secret),
    Rsa(RsaKeyPair),
    Ec(KeyKind, EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, [redacted])", self.kind())
    }
}

/// The fixed-signature ECDSA algorithm of a curve (JWS uses the P1363 `r||s` form).
pub(crate) fn ecdsa_signing(kind: KeyKind) -> Option<&'static EcdsaSigningAlgorithm> {
    match kind {
        KeyKind::EcP256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        KeyKind::EcP384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        KeyKind::EcP521 => Some(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
        _ => None,
    }
}

fn ec_kind_of_oid(oid: Oid) -> Result<KeyKind, KeyError> {
    match oid {
        o if o == OID_P256 => Ok(KeyKind::EcP256),
        o if o == OID_P384 => Ok(KeyKind::EcP384),
        o if o == OID_P521 => Ok(KeyKind::EcP521),
        o => Err(KeyError::Unsupported(format!("elliptic curve {o}"))),
    }
}

/// Bytes per coordinate of an elliptic curve.
pub(crate) fn coordinate_len(kind: KeyKind) -> usize {
    match kind {
        KeyKind::EcP256 => 32,
        KeyKind::EcP384 => 48,
        KeyKind::EcP521 => 66,
        KeyKind::Ed25519 => 32,
        KeyKind::Oct | KeyKind::Rsa => 0,
    }
}

fn rejected(e: impl fmt::Display) -> KeyError {
    KeyError::Rejected(e.to_string())
}

fn der_error(e: impl fmt::Display) -> KeyError {
    KeyError::Der(e.to_string())
}

fn read_pem(text: &str) -> Result<(String, Zeroizing<Vec<u8>>), KeyError> {
    let (label, der) =
        pem::decode_vec(text.trim().as_bytes()).map_err(|e| KeyError::Pem(e.to_string()))?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

impl PrivateKey {
    /// Generates a fresh key.
    pub fn generate(spec: KeySpec) -> Result<Self, KeyError> {
        let ec = |kind| -> Result<Private, KeyError> {
            let alg = ecdsa_signing(kind).ok_or(KeyError::Generation)?;
            Ok(Private::Ec(
                kind,
                EcdsaKeyPair::generate(alg).map_err(|_| KeyError::Generation)?,
            ))
        };
        let rsa = |size| {
            RsaKeyPair::generate(size)
                .map(Private::Rsa)
                .map_err(|_| KeyError::Generation)
        };
        let private = match spec {
            KeySpec::Rsa2048 => rsa(KeySize::Rsa2048)?,
            KeySpec::Rsa3072 => rsa(KeySize::Rsa3072)?,
            KeySpec::Rsa4096 => rsa(KeySize::Rsa4096)?,
            KeySpec::P256 => ec(KeyKind::EcP256)?,
            KeySpec::P384 => ec(KeyKind::EcP384)?,
            KeySpec::P521 => ec(KeyKind::EcP521)?,
            KeySpec::Ed25519 => {
                Private::Ed25519(Ed25519KeyPair::generate().map_err(|_| KeyError::Generation)?)
            }
            KeySpec::Oct(len) => Private::Oct(Secret::random(len)?),
        };
        Ok(PrivateKey(private))
    }

    /// Wraps an HMAC secret.
    pub fn from_secret(secret: Secret) -> Self {
        PrivateKey(Private::Oct(secret))
    }

    /// Reads a PEM private key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
    /// `EC PRIVATE KEY` (SEC1).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = read_pem(text)?;
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "RSA PRIVATE KEY" => Self::from_rsa(RsaKeyPair::from_der(&der).map_err(rejected)?),
            "EC PRIVATE KEY" => [KeyKind::EcP256, KeyKind::EcP384, KeyKind::EcP521]
                .into_iter()
                .find_map(|kind| {
                    let alg = ecdsa_signing(kind)?;
                    EcdsaKeyPair::from_private_key_der(alg, &der)
                        .ok()
                        .map(|pair| PrivateKey(Private::Ec(kind, pair)))
                })
                .ok_or_else(|| KeyError::Rejected("EC private key on an unsupported curve".into())),
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Err(KeyError::Unsupported(
                "this PEM holds a public key; a private key is needed".into(),
            )),
            other => Err(KeyError::PemLabel(other.to_owned())),
        }
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (v1 or v2) in DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der).map_err(der_error)?;
        let oid = info.algorithm.oid;
        if oid == OID_RSA {
            Self::from_rsa(RsaKeyPair::from_pkcs8(der).map_err(rejected)?)
        } else if oid == OID_EC {
            let curve = info.algorithm.parameters_oid().map_err(der_error)?;
            let kind = ec_kind_of_oid(curve)?;
            let alg = ecdsa_signing(kind).ok_or(KeyError::Generation)?;
            let pair = EcdsaKeyPair::from_pkcs8(alg, der).map_err(rejected)?;
            Ok(PrivateKey(Private::Ec(kind, pair)))
        } else if oid == OID_ED25519 {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?;
            Ok(PrivateKey(Private::Ed25519(pair)))
        } else {
            Err(KeyError::Unsupported(format!(
                "private key algorithm {oid}"
            )))
        }
    }

    fn from_rsa(pair: RsaKeyPair) -> Result<Self, KeyError> {
        let (n, e) = rsa_components(&pair);
        check_rsa_public(&n, &e)?;
        Ok(PrivateKey(Private::Rsa(pair)))
    }

    pub(crate) fn from_rsa_components(
        n: &[u8],
        e: &[u8],
        private: [&[u8]; 6],
    ) -> Result<Self, KeyError> {
        check_rsa_public(n, e)?;
        let [d, p, q, dp, dq, qi] = private;
        let components = aws_lc_rs::rsa::KeyPairComponents {
            public_key: PublicKeyComponents { n, e },
            d,
            p,
            q,
            dP: dp,
            dQ: dq,
            qInv: qi,
        };
        Ok(PrivateKey(Private::Rsa(
            RsaKeyPair::from_components(&components).map_err(rejected)?,
        )))
    }

    pub(crate) fn from_ec_components(
        kind: KeyKind,
        d: &[u8],
        point: &[u8],
    ) -> Result<Self, KeyError> {
        let alg = ecdsa_signing(kind).ok_or(KeyError::Generation)?;
        let pair =
            EcdsaKeyPair::from_private_key_and_public_key(alg, d, point).map_err(rejected)?;
        Ok(PrivateKey(Private::Ec(kind, pair)))
    }

    pub(crate) fn from_ed25519_components(seed: &[u8], public: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_seed_and_public_key(seed, public).map_err(rejected)?;
        Ok(PrivateKey(Private::Ed25519(pair)))
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        match &self.0 {
            Private::Oct(_) => KeyKind::Oct,
            Private::Rsa(_) => KeyKind::Rsa,
            Private::Ec(kind, _) => *kind,
            Private::Ed25519(_) => KeyKind::Ed25519,
        }
    }

    /// The public half; `None` for an HMAC secret, which has none.
    pub fn public_key(&self) -> Option<PublicKey> {
        let public = match &self.0 {
            Private::Oct(_) => return None,
            Private::Rsa(pair) => {
                let (n, e) = rsa_components(pair);
                Public::Rsa { n, e }
            }
            Private::Ec(kind, pair) => Public::Ec {
                kind: *kind,
                point: pair.public_key().as_ref().to_vec(),
            },
            Private::Ed25519(pair) => Public::Ed25519(pair.public_key().as_ref().to_vec()),
        };
        Some(PublicKey(public))
    }

    /// The HMAC secret, if this is one.
    pub fn secret(&self) -> Option<&Secret> {
        match &self.0 {
            Private::Oct(secret) => Some(secret),
            _ => None,
        }
    }

    /// PKCS#8 DER. HMAC secrets have no PKCS#8 form; export them as a JWK.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let der = match &self.0 {
            Private::Oct(_) => {
                return Err(KeyError::Unsupported(
                    "an HMAC secret has no PKCS#8 form; export it as a JWK".into(),
                ));
            }
            Private::Rsa(pair) => {
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(pair).map(|d| d.as_ref().to_vec())
            }
            Private::Ec(_, pair) => pair.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Private::Ed25519(pair) => pair.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
        };
        der.map(Zeroizing::new)
            .map_err(|_| KeyError::Der("could not encode the key as PKCS#8".into()))
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der = self.to_pkcs8_der()?;
        pem::encode_string("PRIVATE KEY", LineEnding::LF, &der)
            .map(Zeroizing::new)
            .map_err(|e| KeyError::Pem(e.to_string()))
    }

    /// The RFC 7638 thumbprint of the key (of its public half for asymmetric keys).
    pub fn thumbprint(&self) -> String {
        match (&self.0, self.public_key()) {
            (Private::Oct(secret), _) => crate::jwk::thumbprint(&[
                ("k", &crate::b64::encode(secret.expose_secret())),
                ("kty", "oct"),
            ]),
            (_, Some(public)) => public.thumbprint(),
            (_, None) => String::new(),
        }
    }

    /// Private key components for JWK export (RFC 7518 §6.3.2), big-endian without leading zeros.
    pub(crate) fn rsa_private_components(
        &self,
    ) -> Result<Option<[Zeroizing<Vec<u8>>; 6]>, KeyError> {
        let Private::Rsa(_) = &self.0 else {
            return Ok(None);
        };
        let pkcs8 = self.to_pkcs8_der()?;
        let info = pkcs8::PrivateKeyInfoRef::try_from(pkcs8.as_slice()).map_err(der_error)?;
        let rsa = pkcs1::RsaPrivateKey::try_from(info.private_key.as_bytes()).map_err(der_error)?;
        let own = |u: pkcs1::UintRef<'_>| Zeroizing::new(u.as_bytes().to_vec());
        Ok(Some([
            own(rsa.private_exponent),
            own(rsa.prime1),
            own(rsa.prime2),
            own(rsa.exponent1),
            own(rsa.exponent2),
            own(rsa.coefficient),
        ]))
    }

    /// The EC private scalar or the Ed25519 seed, for JWK export.
    pub(crate) fn private_scalar(&self) -> Option<Zeroizing<Vec<u8>>> {
        match &self.0 {
            Private::Ec(_, pair) => {
                let bin: aws_lc_rs::encoding::EcPrivateKeyBin<'_> =
                    pair.private_key().as_be_bytes().ok()?;
                Some(Zeroizing::new(bin.as_ref().to_vec()))
            }
            Private::Ed25519(pair) => {
                let seed: aws_lc_rs::encoding::Curve25519SeedBin<'_> =
                    pair.seed().ok()?.as_be_bytes().ok()?;
                Some(Zeroizing::new(seed.as_ref().to_vec()))
            }
            _ => None,
        }
    }
}

fn rsa_components(pair: &RsaKeyPair) -> (Vec<u8>, Vec<u8>) {
    let public = pair.public_key();
    (
        public.modulus().big_endian_without_leading_zero().to_vec(),
        public.exponent().big_endian_without_leading_zero().to_vec(),
    )
}

/// A public key: RSA, EC or Ed25519. It cannot hold symmetric or private material.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(pub(crate) Public);

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Public {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// The uncompressed point `04 || x || y`.
    Ec { kind: KeyKind, point: Vec<u8> },
    /// The 32-byte public key.
    Ed25519(Vec<u8>),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PublicKey({}, thumbprint {})",
            self.kind(),
            self.thumbprint()
        )
    }
}

impl PublicKey {
    /// Reads a PEM public key (`PUBLIC KEY` or `RSA PUBLIC KEY`), or the public half of a
    /// PEM private key.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = read_pem(text)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            "RSA PUBLIC KEY" => {
                let key = aws_lc_rs::rsa::PublicKey::from_der(&der).map_err(rejected)?;
                Self::from_rsa_components(
                    key.modulus().big_endian_without_leading_zero(),
                    key.exponent().big_endian_without_leading_zero(),
                )
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => PrivateKey::from_pem(text)?
                .public_key()
                .ok_or_else(|| KeyError::Unsupported("no public key".into())),
            other => Err(KeyError::PemLabel(other.to_owned())),
        }
    }

    /// Reads a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der).map_err(der_error)?;
        let oid = spki.algorithm.oid;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Der("public key bit string has unused bits".into()))?;
        if oid == OID_RSA {
            let key = aws_lc_rs::rsa::PublicKey::from_der(der).map_err(rejected)?;
            Self::from_rsa_components(
                key.modulus().big_endian_without_leading_zero(),
                key.exponent().big_endian_without_leading_zero(),
            )
        } else if oid == OID_EC {
            let curve = spki.algorithm.parameters_oid().map_err(der_error)?;
            Self::from_ec_point(ec_kind_of_oid(curve)?, bits)
        } else if oid == OID_ED25519 {
            Self::from_ed25519(bits)
        } else {
            Err(KeyError::Unsupported(format!("public key algorithm {oid}")))
        }
    }

    /// An RSA public key from its modulus and exponent (big-endian; leading zeros are dropped).
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        check_rsa_public(n, e)?;
        PublicKeyComponents { n, e }
            .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
            .map_err(rejected)?;
        Ok(PublicKey(Public::Rsa {
            n: n.to_vec(),
            e: e.to_vec(),
        }))
    }

    /// An EC public key from its uncompressed point; the point must lie on the curve.
    pub fn from_ec_point(kind: KeyKind, point: &[u8]) -> Result<Self, KeyError> {
        let len = coordinate_len(kind);
        if !matches!(kind, KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521) {
            return Err(KeyError::Unsupported(format!("{kind} is not an ECDSA key")));
        }
        if point.len() != 1 + 2 * len || point.first() != Some(&4) {
            return Err(KeyError::Rejected(
                "EC point is not an uncompressed point of the curve's size".into(),
            ));
        }
        ParsedPublicKey::new(ecdsa_verification(kind), point).map_err(rejected)?;
        Ok(PublicKey(Public::Ec {
            kind,
            point: point.to_vec(),
        }))
    }

    /// An Ed25519 public key from its 32 bytes.
    pub fn from_ed25519(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::Rejected(
                "Ed25519 public key is not 32 bytes".into(),
            ));
        }
        ParsedPublicKey::new(&signature::ED25519, bytes).map_err(rejected)?;
        Ok(PublicKey(Public::Ed25519(bytes.to_vec())))
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        match &self.0 {
            Public::Rsa { .. } => KeyKind::Rsa,
            Public::Ec { kind, .. } => *kind,
            Public::Ed25519(_) => KeyKind::Ed25519,
        }
    }

    /// DER `SubjectPublicKeyInfo`.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        let parsed = match &self.0 {
            Public::Rsa { n, e } => PublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256),
            Public::Ec { kind, point } => ParsedPublicKey::new(ecdsa_verification(*kind), point),
            Public::Ed25519(bytes) => ParsedPublicKey::new(&signature::ED25519, bytes),
        }
        .map_err(rejected)?;
        let der = parsed
            .as_der()
            .map_err(|_| KeyError::Der("could not encode SPKI".into()))?;
        Ok(der.as_ref().to_vec())
    }

    /// PEM `SubjectPublicKeyInfo` (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        pem::encode_string("PUBLIC KEY", LineEnding::LF, &self.to_spki_der()?)
            .map_err(|e| KeyError::Pem(e.to_string()))
    }

    /// The RFC 7638 thumbprint: base64url SHA-256 of the canonical public JWK members.
    pub fn thumbprint(&self) -> String {
        self.to_jwk().thumbprint()
    }

    /// RSA modulus size in bits.
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.0 {
            Public::Rsa { n, .. } => Some(bit_len(n)),
            _ => None,
        }
    }
}

/// The ECDSA verification algorithm of a curve, fixed (P1363) signatures only.
pub(crate) fn ecdsa_verification(kind: KeyKind) -> &'static signature::EcdsaVerificationAlgorithm {
    match kind {
        KeyKind::EcP384 => &signature::ECDSA_P384_SHA384_FIXED,
        KeyKind::EcP521 => &signature::ECDSA_P521_SHA512_FIXED,
        _ => &signature::ECDSA_P256_SHA256_FIXED,
    }
}

pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn bit_len(be: &[u8]) -> usize {
    let be = strip_leading_zeros(be);
    match be.first() {
        Some(&top) => be.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

/// The checks every RSA public key passes: at least 2048 bits, an odd exponent of at least 3,
/// and no ROCA fingerprint.
fn check_rsa_public(n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    let bits = bit_len(n);
    if bits < 2048 {
        return Err(KeyError::RsaTooSmall(bits));
    }
    let e = strip_leading_zeros(e);
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    if !odd || (e.len() == 1 && e[0] < 3) {
        return Err(KeyError::RsaBadExponent);
    }
    if roca::is_vulnerable(n) {
        return Err(KeyError::RsaRoca);
    }
    Ok(())
}

/// Detection of RSA moduli made by the Infineon library with the ROCA weakness
/// (Nemec et al., CCS 2017, CVE-2017-15361).
///
/// Those primes have the form `k·M + (65537^a mod M)` for a primorial `M`, so for every small
/// prime `p` dividing `M`, `n mod p` lies in the subgroup of `Z_p*` generated by 65537. A random
/// modulus passes all of these tests with negligible probability. No maintained crate does this,
/// and it needs no cryptography: a reduction of `n` modulo small primes and a table walk.
mod roca {
    /// The odd primes of the primorial used by the vulnerable generator (up to 167).
    const PRIMES: [u64; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];

    pub(super) fn is_vulnerable(n: &[u8]) -> bool {
        PRIMES.iter().all(|&p| {
            let residue = n
                .iter()
                .fold(0u64, |acc, &b| (acc * 256 + u64::from(b)) % p);
            in_subgroup_of_65537(residue, p)
        })
    }

    fn in_subgroup_of_65537(residue: u64, p: u64) -> bool {
        let g = 65537 % p;
        let mut x = 1u64;
        for _ in 0..p {
            if x == residue {
                return true;
            }
            x = x * g % p;
            if x == 1 {
                break;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_through_pkcs8_pem() {
        for spec in [
            KeySpec::Rsa2048,
            KeySpec::P256,
            KeySpec::P384,
            KeySpec::P521,
            KeySpec::Ed25519,
        ] {
            let key = PrivateKey::generate(spec).unwrap();
            let pem = key.to_pem().unwrap();
            let again = PrivateKey::from_pem(&pem).unwrap();
            assert_eq!(key.thumbprint(), again.thumbprint(), "{spec:?}");
            let public = key.public_key().unwrap();
            assert_eq!(
                PublicKey::from_pem(&public.to_pem().unwrap()).unwrap(),
                public
            );
        }
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let secret = Secret::new(b"hunter2-hunter2-hunter2-hunter2!".to_vec());
        assert_eq!(format!("{secret:?}"), "Secret([redacted; 32 bytes])");
        let key = PrivateKey::from_secret(secret);
        assert!(!format!("{key:?}").contains("hunter2"));
    }

    #[test]
    fn freshly_generated_rsa_keys_do_not_look_like_roca() {
        let key = PrivateKey::generate(KeySpec::Rsa2048).unwrap();
        let Some(PublicKey(Public::Rsa { n, .. })) = key.public_key() else {
            panic!()
        };
        assert!(!roca::is_vulnerable(&n));
    }
}
