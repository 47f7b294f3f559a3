//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037 §2) and thumbprints (RFC 7638).
//!
//! [`Jwk`] is the general form read from files and key sets, private members included.
//! [`PublicJwk`] and [`JwkSet`] are what Sigil publishes: they are built only from a
//! [`PublicKey`], and have no field that could carry a private or symmetric key.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::alg::{Algorithm, KeyKind};
use crate::b64;
use crate::error::KeyError;
use crate::key::{Private, PrivateKey, Public, PublicKey, Secret, coordinate_len};

/// A JWK as found in the wild: any key type, public or private.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP` or `oct`.
    pub kty: String,
    /// Intended use (`sig` or `enc`).
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// The one algorithm the key is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Curve (`EC`, `OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// X coordinate (`EC`) or public key (`OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Y coordinate (`EC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private exponent (`RSA`), private scalar (`EC`) or seed (`OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// RSA first prime factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// RSA second prime factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// RSA first factor CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    /// RSA second factor CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    /// RSA first CRT coefficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    /// Symmetric key value (`oct`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "[redacted]");
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("use", &self.key_use)
            .field("key_ops", &self.key_ops)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("d", &redacted(&self.d))
            .field("k", &redacted(&self.k))
            .finish_non_exhaustive()
    }
}

fn member(value: &Option<String>, name: &str) -> Result<Vec<u8>, KeyError> {
    let text = value
        .as_deref()
        .ok_or_else(|| KeyError::Jwk(format!("missing \"{name}\"")))?;
    b64::decode(text).map_err(|_| KeyError::Jwk(format!("\"{name}\" is not unpadded base64url")))
}

impl Jwk {
    /// The `alg` member as an [`Algorithm`], if present.
    pub fn algorithm(&self) -> Result<Option<Algorithm>, KeyError> {
        self.alg
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(KeyError::from)
    }

    /// Refuses keys meant for something other than signatures (RFC 7517 §4.2, §4.3).
    pub fn check_signature_use(&self) -> Result<(), KeyError> {
        if let Some(u) = self.key_use.as_deref().filter(|u| *u != "sig") {
            return Err(KeyError::WrongUse(format!("use is \"{u}\"")));
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|op| op == "verify" || op == "sign")
        {
            return Err(KeyError::WrongUse(format!("key_ops is {ops:?}")));
        }
        Ok(())
    }

    /// Whether the JWK carries private or symmetric material.
    pub fn is_private(&self) -> bool {
        self.d.is_some() || self.k.is_some()
    }

    fn kind(&self) -> Result<KeyKind, KeyError> {
        match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => Ok(KeyKind::Rsa),
            ("oct", _) => Ok(KeyKind::Oct),
            ("EC", Some("P-256")) => Ok(KeyKind::EcP256),
            ("EC", Some("P-384")) => Ok(KeyKind::EcP384),
            ("EC", Some("P-521")) => Ok(KeyKind::EcP521),
            ("OKP", Some("Ed25519")) => Ok(KeyKind::Ed25519),
            ("EC" | "OKP", crv) => {
                Err(KeyError::Unsupported(format!("{} curve {crv:?}", self.kty)))
            }
            (kty, _) => Err(KeyError::Unsupported(format!("kty \"{kty}\""))),
        }
    }

    /// The key's kind, after checking that `alg` (when present) suits it.
    pub fn checked_kind(&self) -> Result<KeyKind, KeyError> {
        let kind = self.kind()?;
        if let Some(alg) = self.algorithm()?
            && alg.key_kind() != kind
        {
            return Err(KeyError::AlgorithmMismatch { alg, kind });
        }
        Ok(kind)
    }

    fn ec_point(&self, kind: KeyKind) -> Result<Vec<u8>, KeyError> {
        let (x, y) = (member(&self.x, "x")?, member(&self.y, "y")?);
        let len = coordinate_len(kind);
        if x.len() != len || y.len() != len {
            return Err(KeyError::Jwk(format!(
                "EC coordinates must be {len} bytes each"
            )));
        }
        Ok([&[4u8][..], &x, &y].concat())
    }

    /// The public key in this JWK (of a private JWK, its public half). Fails for `oct`.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        match self.checked_kind()? {
            KeyKind::Oct => Err(KeyError::Symmetry(
                "an oct JWK is a shared secret, not a public key",
            )),
            KeyKind::Rsa => {
                PublicKey::from_rsa_components(&member(&self.n, "n")?, &member(&self.e, "e")?)
            }
            KeyKind::Ed25519 => PublicKey::from_ed25519(&member(&self.x, "x")?),
            kind => PublicKey::from_ec_point(kind, &self.ec_point(kind)?),
        }
    }

    /// The private key (or HMAC secret) in this JWK.
    pub fn private_key(&self) -> Result<PrivateKey, KeyError> {
        match self.checked_kind()? {
            KeyKind::Oct => Ok(PrivateKey::from_secret(Secret::new(member(&self.k, "k")?))),
            KeyKind::Rsa => {
                let get = |v, name| member(v, name).map(zeroize::Zeroizing::new);
                let (d, p, q) = (get(&self.d, "d")?, get(&self.p, "p")?, get(&self.q, "q")?);
                let (dp, dq, qi) = (
                    get(&self.dp, "dp")?,
                    get(&self.dq, "dq")?,
                    get(&self.qi, "qi")?,
                );
                PrivateKey::from_rsa_components(
                    &member(&self.n, "n")?,
                    &member(&self.e, "e")?,
                    [&d, &p, &q, &dp, &dq, &qi],
                )
            }
            KeyKind::Ed25519 => {
                let seed = zeroize::Zeroizing::new(member(&self.d, "d")?);
                PrivateKey::from_ed25519_components(&seed, &member(&self.x, "x")?)
            }
            kind => {
                let d = zeroize::Zeroizing::new(member(&self.d, "d")?);
                if d.len() != coordinate_len(kind) {
                    return Err(KeyError::Jwk(format!(
                        "\"d\" must be {} bytes",
                        coordinate_len(kind)
                    )));
                }
                PrivateKey::from_ec_components(kind, &d, &self.ec_point(kind)?)
            }
        }
    }
}

impl PrivateKey {
    /// The private JWK (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2), without `kid` or `alg`.
    pub fn to_jwk(&self) -> Result<Jwk, KeyError> {
        if let Private::Oct(secret) = &self.0 {
            return Ok(Jwk {
                kty: "oct".into(),
                k: Some(b64::encode(secret.expose_secret())),
                ..Jwk::default()
            });
        }
        let public = self.public_key().ok_or(KeyError::Generation)?;
        let mut jwk = public.to_jwk().to_jwk();
        jwk.key_use = None;
        if let Some([d, p, q, dp, dq, qi]) = self.rsa_private_components()? {
            jwk.d = Some(b64::encode(&d));
            jwk.p = Some(b64::encode(&p));
            jwk.q = Some(b64::encode(&q));
            jwk.dp = Some(b64::encode(&dp));
            jwk.dq = Some(b64::encode(&dq));
            jwk.qi = Some(b64::encode(&qi));
        } else if let Some(d) = self.private_scalar() {
            jwk.d = Some(b64::encode(&d));
        }
        Ok(jwk)
    }
}

/// A public JWK as Sigil publishes it. Only [`PublicKey::to_jwk`] makes one, so it can hold
/// neither private members nor a symmetric key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublicJwk {
    #[serde(flatten)]
    params: PublicParams,
    #[serde(rename = "use")]
    key_use: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    alg: Option<Algorithm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kty")]
enum PublicParams {
    #[serde(rename = "RSA")]
    Rsa { n: String, e: String },
    #[serde(rename = "EC")]
    Ec {
        crv: &'static str,
        x: String,
        y: String,
    },
    #[serde(rename = "OKP")]
    Okp { crv: &'static str, x: String },
}

impl PublicKey {
    /// The public JWK, with `use: "sig"` and neither `kid` nor `alg` yet.
    pub fn to_jwk(&self) -> PublicJwk {
        let params = match &self.0 {
            Public::Rsa { n, e } => PublicParams::Rsa {
                n: b64::encode(n),
                e: b64::encode(e),
            },
            Public::Ec { kind, point } => {
                let len = coordinate_len(*kind);
                PublicParams::Ec {
                    crv: kind.curve().unwrap_or_default(),
                    x: b64::encode(&point[1..=len]),
                    y: b64::encode(&point[1 + len..]),
                }
            }
            Public::Ed25519(x) => PublicParams::Okp {
                crv: "Ed25519",
                x: b64::encode(x),
            },
        };
        PublicJwk {
            params,
            key_use: "sig",
            alg: None,
            kid: None,
        }
    }
}

impl PublicJwk {
    /// Sets the `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets the `alg`, which must suit the key.
    pub fn with_alg(mut self, alg: Algorithm) -> Result<Self, KeyError> {
        let kind = self.kind();
        if alg.key_kind() != kind {
            return Err(KeyError::AlgorithmMismatch { alg, kind });
        }
        self.alg = Some(alg);
        Ok(self)
    }

    /// The `kid`, if set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `alg`, if set.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The key kind.
    pub fn kind(&self) -> KeyKind {
        match &self.params {
            PublicParams::Rsa { .. } => KeyKind::Rsa,
            PublicParams::Ec { crv: "P-384", .. } => KeyKind::EcP384,
            PublicParams::Ec { crv: "P-521", .. } => KeyKind::EcP521,
            PublicParams::Ec { .. } => KeyKind::EcP256,
            PublicParams::Okp { .. } => KeyKind::Ed25519,
        }
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url).
    pub fn thumbprint(&self) -> String {
        match &self.params {
            PublicParams::Rsa { n, e } => thumbprint(&[("e", e), ("kty", "RSA"), ("n", n)]),
            PublicParams::Ec { crv, x, y } => {
                thumbprint(&[("crv", crv), ("kty", "EC"), ("x", x), ("y", y)])
            }
            PublicParams::Okp { crv, x } => thumbprint(&[("crv", crv), ("kty", "OKP"), ("x", x)]),
        }
    }

    /// The general [`Jwk`] form of this key.
    pub fn to_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            key_use: Some(self.key_use.to_owned()),
            alg: self.alg.map(|a| a.as_str().to_owned()),
            kid: self.kid.clone(),
            ..Jwk::default()
        };
        match &self.params {
            PublicParams::Rsa { n, e } => {
                jwk.kty = "RSA".into();
                jwk.n = Some(n.clone());
                jwk.e = Some(e.clone());
            }
            PublicParams::Ec { crv, x, y } => {
                jwk.kty = "EC".into();
                jwk.crv = Some((*crv).to_owned());
                jwk.x = Some(x.clone());
                jwk.y = Some(y.clone());
            }
            PublicParams::Okp { crv, x } => {
                jwk.kty = "OKP".into();
                jwk.crv = Some((*crv).to_owned());
                jwk.x = Some(x.clone());
            }
        }
        jwk
    }
}

/// A public JWK Set (RFC 7517 §5), as served at `/.well-known/jwks.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<PublicJwk>,
}

impl FromIterator<PublicJwk> for JwkSet {
    fn from_iter<I: IntoIterator<Item = PublicJwk>>(iter: I) -> Self {
        JwkSet {
            keys: iter.into_iter().collect(),
        }
    }
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
/// Every value here is base64url or a registered name, so none needs JSON escaping.
pub(crate) fn thumbprint(members: &[(&str, &str)]) -> String {
    let mut json = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!("\"{name}\":\"{value}\""));
    }
    json.push('}');
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, json.as_bytes());
    b64::encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk: Jwk = serde_json::from_str(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            jwk.public_key().unwrap().thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn private_jwks_round_trip() {
        use crate::key::KeySpec;
        for spec in [
            KeySpec::Rsa2048,
            KeySpec::P256,
            KeySpec::P384,
            KeySpec::P521,
            KeySpec::Ed25519,
            KeySpec::Oct(32),
        ] {
            let key = PrivateKey::generate(spec).unwrap();
            let jwk = key.to_jwk().unwrap();
            let again = jwk.private_key().unwrap();
            assert_eq!(key.thumbprint(), again.thumbprint(), "{spec:?}");
            assert_eq!(again.to_jwk().unwrap(), jwk, "{spec:?}");
        }
    }

    #[test]
    fn published_jwks_has_no_private_members() {
        use crate::key::KeySpec;
        let key = PrivateKey::generate(KeySpec::P256).unwrap();
        let set: JwkSet = [key.public_key().unwrap().to_jwk().with_kid("a")]
            .into_iter()
            .collect();
        let json = serde_json::to_value(&set).unwrap();
        let member = &json["keys"][0];
        assert_eq!(member["kty"], "EC");
        assert_eq!(member["use"], "sig");
        assert!(member.get("d").is_none());
    }
}
