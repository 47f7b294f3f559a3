//! Key files as `sigil jwt sign --key` and `sigil jwt verify --key` read them: a PEM key
//! (PKCS#8, PKCS#1, SEC1 or SPKI) or a JWK JSON document.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use sigil_jose::{Algorithm, Jwk, KeySet, PrivateKey, PublicKey, SkippedKey, VerifyingKey};

use crate::input;

/// A private key read for signing, with what its JWK said about it, if it was a JWK.
pub(crate) struct SigningMaterial {
    /// The key.
    pub(crate) key: PrivateKey,
    /// The JWK's `alg`, which binds the key to that algorithm.
    pub(crate) alg: Option<Algorithm>,
    /// The JWK's `kid`.
    pub(crate) kid: Option<String>,
}

/// A public key read for registration, with what its JWK said about it, if it was a JWK.
pub(crate) struct PublicMaterial {
    /// The key.
    pub(crate) key: PublicKey,
    /// The JWK's `alg`.
    pub(crate) alg: Option<Algorithm>,
    /// The JWK's `kid`.
    pub(crate) kid: Option<String>,
}

/// What a key file holds, told apart by its first character.
enum KeyText {
    Json(Vec<u8>),
    Pem(String),
}

fn read(path: &Path) -> anyhow::Result<KeyText> {
    let bytes = input::read_file(path, "key file")?;
    if bytes.trim_ascii_start().starts_with(b"{") {
        return Ok(KeyText::Json(bytes));
    }
    match String::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN ") => Ok(KeyText::Pem(text)),
        _ => bail!(
            "key file {} is neither PEM (-----BEGIN PRIVATE KEY-----) nor a JWK (JSON); DER files are not read, convert them to PEM",
            path.display()
        ),
    }
}

fn parse_jwk(path: &Path, json: &[u8]) -> anyhow::Result<Jwk> {
    serde_json::from_slice(json)
        .map_err(|e| anyhow!("key file {} is not a valid JWK: {e}", path.display()))
}

/// Reads a private key for signing.
pub(crate) fn signing(path: &Path) -> anyhow::Result<SigningMaterial> {
    let shown = path.display();
    match read(path)? {
        KeyText::Json(json) => {
            let jwk = parse_jwk(path, &json)?;
            if !jwk.is_private() {
                bail!("key file {shown} holds a public JWK; signing needs the private key");
            }
            let alg = jwk
                .algorithm()
                .with_context(|| format!("cannot use key file {shown}"))?;
            let key = jwk
                .private_key()
                .with_context(|| format!("cannot use key file {shown}"))?;
            Ok(SigningMaterial {
                key,
                alg,
                kid: jwk.kid,
            })
        }
        KeyText::Pem(text) => {
            let key = PrivateKey::from_pem(&text)
                .with_context(|| format!("cannot use key file {shown}"))?;
            Ok(SigningMaterial {
                key,
                alg: None,
                kid: None,
            })
        }
    }
}

/// Reads a public key to register (`sigil clients create --public-key`): a PEM public key or a
/// public JWK. A private key is refused: only its owner should hold it.
pub(crate) fn public(path: &Path) -> anyhow::Result<PublicMaterial> {
    let shown = path.display();
    let private = || {
        anyhow!(
            "key file {shown} holds a private key; register only the public half (a PUBLIC KEY PEM or a public JWK)"
        )
    };
    match read(path)? {
        KeyText::Json(json) => {
            let jwk = parse_jwk(path, &json)?;
            if jwk.is_private() {
                return Err(private());
            }
            let material = || -> Result<PublicMaterial, sigil_jose::KeyError> {
                jwk.check_signature_use()?;
                Ok(PublicMaterial {
                    key: jwk.public_key()?,
                    alg: jwk.algorithm()?,
                    kid: jwk.kid.clone(),
                })
            };
            material().with_context(|| format!("cannot use key file {shown}"))
        }
        KeyText::Pem(text) => {
            if text.contains("PRIVATE KEY-----") {
                return Err(private());
            }
            let key = PublicKey::from_pem(&text)
                .with_context(|| format!("cannot use key file {shown}"))?;
            Ok(PublicMaterial {
                key,
                alg: None,
                kid: None,
            })
        }
    }
}

/// Reads the key(s) to verify with: a PEM public or private key (only its public half is
/// kept), a JWK, or a JWK Set.
pub(crate) fn verifying(path: &Path) -> anyhow::Result<(KeySet, Vec<SkippedKey>)> {
    let shown = path.display();
    match read(path)? {
        KeyText::Json(json) => {
            let value: serde_json::Value = serde_json::from_slice(&json)
                .map_err(|e| anyhow!("key file {shown} is not valid JSON: {e}"))?;
            if value.get("keys").is_some() {
                return KeySet::from_jwks(&json)
                    .with_context(|| format!("cannot use key file {shown}"));
            }
            let jwk = parse_jwk(path, &json)?;
            let key = VerifyingKey::from_jwk(&jwk)
                .with_context(|| format!("cannot use key file {shown}"))?;
            Ok((KeySet::single(key), Vec::new()))
        }
        KeyText::Pem(text) => {
            let key = PublicKey::from_pem(&text)
                .and_then(|public| VerifyingKey::from_public_key(&public))
                .with_context(|| format!("cannot use key file {shown}"))?;
            Ok((KeySet::single(key), Vec::new()))
        }
    }
}
