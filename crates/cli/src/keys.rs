//! `sigil keys generate`: a fresh signing key, its private half as PKCS#8 PEM and its public
//! half as a JWK (an HMAC secret has no public half and is written as a private JWK).

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use sigil_jose::{Algorithm, KeySpec, PrivateKey};

use crate::output;

/// Generates a key for `alg` and writes it to `out` (created 0600, never overwritten) or stdout.
pub(crate) fn generate(
    alg: Algorithm,
    kid: Option<String>,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let key = PrivateKey::generate(KeySpec::for_algorithm(alg)).context("cannot generate a key")?;
    let kid = kid.unwrap_or_else(|| key.thumbprint());

    let Some(public) = key.public_key() else {
        let mut jwk = key.to_jwk().context("cannot export the HMAC secret")?;
        jwk.alg = Some(alg.as_str().to_owned());
        jwk.kid = Some(kid);
        let json = serde_json::to_string_pretty(&jwk).context("cannot export the HMAC secret")?;
        match out {
            Some(path) => write_new(path, &json)?,
            None => output::stdout(&json)?,
        }
        output::stderr(
            "note: HMAC secrets have no public half; this JWK both signs and verifies, so keep it secret",
        );
        return Ok(ExitCode::SUCCESS);
    };

    let pem = key.to_pem().context("cannot export the private key")?;
    let jwk = public
        .to_jwk()
        .with_kid(kid)
        .with_alg(alg)
        .context("cannot export the public key")?;
    let jwk = serde_json::to_string_pretty(&jwk).context("cannot export the public key")?;
    match out {
        Some(path) => {
            write_new(path, pem.trim_end())?;
            output::stdout(&jwk)?;
        }
        None => {
            output::stdout(pem.trim_end())?;
            output::stderr(&jwk);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes secret `text` to a new file readable only by its owner; an existing file is an error.
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| match e.kind() {
        ErrorKind::AlreadyExists => anyhow!(
            "{} already exists; refusing to overwrite a key (remove it or choose another --out)",
            path.display()
        ),
        _ => anyhow!("cannot create {}: {e}", path.display()),
    })?;
    writeln!(file, "{text}")
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
