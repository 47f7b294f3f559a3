//! `sigil jwt sign`: makes a signed token from a key file and claims.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Map, Value};
use sigil_jose::{Algorithm, KeyKind, SigningKey, UnixTime};

use crate::{input, keyfile, output};

/// What `sigil jwt sign` was asked for.
#[derive(Debug)]
pub(crate) struct Request {
    /// `--key`: PEM private key or private JWK.
    pub(crate) key: PathBuf,
    /// `--alg`.
    pub(crate) alg: Option<Algorithm>,
    /// `--kid`.
    pub(crate) kid: Option<String>,
    /// `--claims JSON|@FILE`.
    pub(crate) claims: Option<String>,
    /// `--iss`.
    pub(crate) iss: Option<String>,
    /// `--sub`.
    pub(crate) sub: Option<String>,
    /// `--aud`, once or more.
    pub(crate) aud: Vec<String>,
    /// `--exp`, seconds after `iat`.
    pub(crate) exp: Option<u64>,
}

/// The algorithm a key signs with when nobody says: the usual one for its kind.
fn default_alg(kind: KeyKind) -> Algorithm {
    match kind {
        KeyKind::Rsa => Algorithm::RS256,
        KeyKind::EcP256 => Algorithm::ES256,
        KeyKind::EcP384 => Algorithm::ES384,
        KeyKind::EcP521 => Algorithm::ES512,
        KeyKind::Ed25519 => Algorithm::EdDSA,
        KeyKind::Oct => Algorithm::HS256,
    }
}

/// Signs the claims and prints the compact JWS.
pub(crate) fn run(request: &Request, now: UnixTime) -> anyhow::Result<ExitCode> {
    let material = keyfile::signing(&request.key)?;
    let alg = match (request.alg, material.alg) {
        (Some(flag), Some(bound)) if flag != bound => bail!(
            "--alg {flag} contradicts the key file's \"alg\": \"{bound}\"; drop --alg or use another key"
        ),
        (Some(alg), _) | (None, Some(alg)) => alg,
        (None, None) => default_alg(material.key.kind()),
    };
    let kid = request.kid.clone().or(material.kid);
    let mut key = SigningKey::new(material.key, alg)
        .with_context(|| format!("cannot sign with key file {}", request.key.display()))?;
    if kid.is_some() {
        key = key.with_kid(kid);
    }

    let claims = claims(request, now)?;
    if !claims.contains_key("exp") {
        output::stderr(
            "note: the token has no exp claim, and verifiers that require one (sigil jwt verify does) will refuse it; add --exp 1h",
        );
    }
    let token = key
        .sign(&Value::Object(claims))
        .context("cannot sign the token")?;
    output::stdout(&token)?;
    Ok(ExitCode::SUCCESS)
}

/// `--claims` as the base, `iat` defaulting to now, then the flags on top.
fn claims(request: &Request, now: UnixTime) -> anyhow::Result<Map<String, Value>> {
    let mut claims = match &request.claims {
        None => Map::new(),
        Some(arg) => {
            let json = input::value_or_file(arg, "claims file")?;
            match serde_json::from_slice(&json) {
                Ok(Value::Object(map)) => map,
                Ok(_) => bail!("--claims must be a JSON object, such as '{{\"scope\":\"read\"}}'"),
                Err(e) => return Err(anyhow!("--claims is not valid JSON: {e}")),
            }
        }
    };
    let iat = match claims.get("iat") {
        None => {
            claims.insert("iat".to_owned(), now.0.into());
            now.0
        }
        Some(value) => value.as_i64().ok_or_else(|| {
            anyhow!("--claims has iat {value}, which is not a whole number of seconds")
        })?,
    };
    if let Some(secs) = request.exp {
        let exp = i64::try_from(secs)
            .ok()
            .and_then(|secs| iat.checked_add(secs))
            .ok_or_else(|| anyhow!("--exp is too far in the future"))?;
        claims.insert("exp".to_owned(), exp.into());
    }
    if let Some(iss) = &request.iss {
        claims.insert("iss".to_owned(), iss.clone().into());
    }
    if let Some(sub) = &request.sub {
        claims.insert("sub".to_owned(), sub.clone().into());
    }
    match request.aud.as_slice() {
        [] => {}
        [one] => {
            claims.insert("aud".to_owned(), one.clone().into());
        }
        many => {
            claims.insert("aud".to_owned(), many.to_vec().into());
        }
    }
    Ok(claims)
}
