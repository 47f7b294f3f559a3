//! `sigil jwt verify`: checks a token's signature and claims against keys from a file, a URL,
//! an issuer's discovery document, or a shared secret.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;
use sigil_jose::{
    Algorithm, KeyKind, KeySet, Secret, SkippedKey, UnixTime, Validation, Verifier, VerifyingKey,
};

use super::reason::{self, AllowedAlgs, Reason};
use crate::{fetch, input, keyfile, output};

/// Where the keys come from: exactly one of these (clap enforces it).
#[derive(Debug)]
pub(crate) enum KeySource {
    /// `--jwks FILE|URL`.
    Jwks(String),
    /// `--issuer URL`: OpenID Connect discovery.
    Issuer(String),
    /// `--key FILE`.
    Key(PathBuf),
    /// `--secret S|@FILE`.
    Secret(String),
}

/// What to check beyond the signature.
#[derive(Debug)]
pub(crate) struct Checks {
    /// `--alg`: the allow-list; empty means "whatever the keys verify".
    pub(crate) algs: Vec<Algorithm>,
    /// `--iss`.
    pub(crate) iss: Option<String>,
    /// `--aud`: the token must name at least one.
    pub(crate) aud: Vec<String>,
    /// `--leeway`, seconds.
    pub(crate) leeway: u64,
}

/// Keys ready to verify with, and what is known about where they came from.
struct Keys {
    set: KeySet,
    skipped: Vec<SkippedKey>,
    /// What the keys are, for messages ("key file k.pem", "the JWKS at https://…").
    origin: String,
    /// The issuer named by a discovery document.
    discovered_issuer: Option<String>,
}

/// Verifies `token` as of `now`. Prints the claims and exits 0 when valid; prints one line and
/// exits 1 when not. Errors (exit 2) are for input that is not a token or keys that cannot be had.
pub(crate) fn run(
    token: &str,
    source: &KeySource,
    checks: &Checks,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    let keys = load(source)?;
    if keys.set.is_empty() {
        bail!(
            "{} has no key that can verify signatures{}",
            keys.origin,
            skipped_summary(&keys.skipped)
        );
    }
    let allowed = allowed_algorithms(&keys, &checks.algs)?;
    let algs = match &allowed {
        AllowedAlgs::Flag(algs) | AllowedAlgs::FromKeys { algs, .. } => algs.clone(),
        AllowedAlgs::Unknown => Vec::new(),
    };
    let mut validation = Validation::new(algs).leeway(checks.leeway);
    let issuer_source = match (&checks.iss, &keys.discovered_issuer) {
        (Some(iss), _) => {
            validation = validation.issuer(iss);
            "--iss"
        }
        (None, Some(iss)) => {
            validation = validation.issuer(iss);
            "the discovery document"
        }
        (None, None) => "",
    };
    for aud in &checks.aud {
        validation = validation.audience(aud);
    }
    let verifier = Verifier::new(keys.set, validation);
    match verifier.verify::<serde_json::Value>(token, now) {
        Ok(verified) => {
            // A JSON value always serializes; the fallback is never shown.
            output::stdout(&serde_json::to_string_pretty(&verified.claims).unwrap_or_default())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let cx = reason::Context {
                leeway: checks.leeway,
                allowed,
                kids: verifier
                    .keys()
                    .keys()
                    .iter()
                    .filter_map(|k| k.kid().map(str::to_owned))
                    .collect(),
                skipped: keys
                    .skipped
                    .iter()
                    .map(|s| (s.kid.clone(), s.reason.to_string()))
                    .collect(),
                issuer_source,
            };
            match reason::describe(&e, &cx) {
                Reason::Invalid(line) => {
                    output::stderr(&format!("invalid: {line}"));
                    Ok(ExitCode::from(1))
                }
                Reason::Malformed(line) => Err(anyhow!(line)),
            }
        }
    }
}

/// The `--alg` values, each of which some key must be able to verify; or, without `--alg`,
/// every algorithm the keys verify (an RSA key never brings HS256 along).
fn allowed_algorithms(keys: &Keys, flag: &[Algorithm]) -> anyhow::Result<AllowedAlgs> {
    let key_list = keys.set.keys();
    if !flag.is_empty() {
        for alg in flag {
            if !key_list.iter().any(|k| k.supports(*alg)) {
                let kinds = kinds(key_list);
                let kinds = kinds.iter().map(ToString::to_string).collect::<Vec<_>>();
                bail!(
                    "--alg {alg}: no key can verify it ({} holds {}); drop --alg or pass a key for it",
                    keys.origin,
                    kinds.join(" and ")
                );
            }
        }
        return Ok(AllowedAlgs::Flag(flag.to_vec()));
    }
    let algs = Algorithm::ALL
        .into_iter()
        .filter(|alg| key_list.iter().any(|k| k.supports(*alg)))
        .collect();
    Ok(AllowedAlgs::FromKeys {
        kinds: kinds(key_list),
        algs,
    })
}

fn kinds(keys: &[VerifyingKey]) -> Vec<KeyKind> {
    let mut kinds = Vec::new();
    for key in keys {
        if !kinds.contains(&key.kind()) {
            kinds.push(key.kind());
        }
    }
    kinds
}

fn skipped_summary(skipped: &[SkippedKey]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let parts = skipped
        .iter()
        .map(|s| match &s.kid {
            Some(kid) => format!("kid \"{kid}\": {}", s.reason),
            None => s.reason.to_string(),
        })
        .collect::<Vec<_>>();
    format!(" (skipped {})", parts.join("; "))
}

fn load(source: &KeySource) -> anyhow::Result<Keys> {
    match source {
        KeySource::Key(path) => {
            let (set, skipped) = keyfile::verifying(path)?;
            Ok(Keys {
                set,
                skipped,
                origin: format!("key file {}", path.display()),
                discovered_issuer: None,
            })
        }
        KeySource::Secret(arg) => {
            let secret = Secret::new(input::value_or_file(arg, "secret file")?);
            let key =
                VerifyingKey::from_secret(secret.expose_secret()).context("cannot use --secret")?;
            Ok(Keys {
                set: KeySet::single(key),
                skipped: Vec::new(),
                origin: "--secret".to_owned(),
                discovered_issuer: None,
            })
        }
        KeySource::Jwks(location) => jwks(location, None),
        KeySource::Issuer(issuer) => discover(issuer),
    }
}

/// Reads a JWK Set from a file or an http(s) URL.
fn jwks(location: &str, discovered_issuer: Option<String>) -> anyhow::Result<Keys> {
    let (json, origin) = if fetch::is_url(location) {
        (fetch::get(location)?, format!("the JWKS at {location}"))
    } else {
        let path = PathBuf::from(location);
        (
            input::read_file(&path, "JWKS file")?,
            format!("JWKS file {location}"),
        )
    };
    let (set, skipped) =
        KeySet::from_jwks(&json).with_context(|| format!("{origin} is unusable"))?;
    Ok(Keys {
        set,
        skipped,
        origin,
        discovered_issuer,
    })
}

/// The members of an OpenID Provider Metadata document that verification needs
/// (OpenID Connect Discovery 1.0 §3).
#[derive(Deserialize)]
struct ProviderMetadata {
    issuer: String,
    jwks_uri: String,
}

/// The discovery document's URL: `<issuer>/.well-known/openid-configuration`, with exactly
/// one slash between them whether or not the issuer ends in one (Discovery §4.1).
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// OpenID Connect discovery: fetches the provider metadata, then its `jwks_uri`.
fn discover(issuer: &str) -> anyhow::Result<Keys> {
    if !fetch::is_url(issuer) {
        bail!(
            "--issuer {issuer:?} is not an http(s) URL; pass the issuer URL, such as https://tenant.example.com/"
        );
    }
    let url = discovery_url(issuer);
    let body = fetch::get(&url)?;
    let metadata: ProviderMetadata = serde_json::from_slice(&body)
        .map_err(|e| anyhow!("the discovery document at {url} is not usable: {e}"))?;
    // Discovery §4.3 wants the issuer to be identical to the URL it was fetched under. A
    // missing or extra final slash on the command line is forgiven; anything else is not.
    if metadata.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        bail!(
            "the discovery document at {url} names issuer {:?}, not {issuer:?}; check --issuer",
            metadata.issuer
        );
    }
    if !fetch::is_url(&metadata.jwks_uri) {
        bail!(
            "the discovery document at {url} has jwks_uri {:?}, which is not an http(s) URL",
            metadata.jwks_uri
        );
    }
    jwks(&metadata.jwks_uri, Some(metadata.issuer))
}

#[cfg(test)]
mod tests {
    use super::discovery_url;

    #[test]
    fn discovery_url_joins_with_one_slash() {
        for issuer in [
            "https://i.example",
            "https://i.example/",
            "https://i.example//",
        ] {
            assert_eq!(
                discovery_url(issuer),
                "https://i.example/.well-known/openid-configuration"
            );
        }
        assert_eq!(
            discovery_url("https://i.example/tenant/"),
            "https://i.example/tenant/.well-known/openid-configuration"
        );
    }
}
