//! `sigil keys list|rotate|revoke`: the tenant's signing keys in the database (Auth0's
//! `/keys/signing` shapes with `--json`), and [`ensure`], which makes a family's current and
//! next key when they are missing (`sigil init` for RSA, `sigil apis create --alg PS256|ES256`
//! for RSA-PSS and P-256) through core's `KeyFamily::ensure`, which the Management API shares.
//! `keys generate`, which writes a key file and touches no database, lives in `crate::keys`.
//!
//! Keys come in families, each with its own life cycle: the RSA family (RS256) made by `init`,
//! the RSA-PSS family (PS256) made with the first PS256 API or application, and the P-256
//! family (ES256) made with the first ES256 API, so that the default configuration publishes
//! RS256 keys only. The commands name a family by the algorithm its keys are made for.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};
use sigil_core::model::{KeyState, SigningKeyRecord};
use sigil_core::{Store, StoreError};
use sigil_jose::{Algorithm, UnixTime};

use super::{Format, auth0_time, print};
use crate::storage::{self, Location};

/// The key families, as core defines them.
pub(crate) use sigil_core::key_family::KeyFamily as Family;

/// What to run when `family` has no keys.
fn how_to_make(family: Family) -> &'static str {
    match family {
        Family::Rs256 => "`sigil init` makes them",
        Family::Ps256 => "the first `sigil apis create --alg PS256` makes them",
        Family::Es256 => "the first `sigil apis create --alg ES256` makes them",
    }
}

/// `--alg` of `keys rotate`: RS256, PS256 or ES256.
fn family(text: &str) -> Result<Family, String> {
    text.parse::<Algorithm>()
        .ok()
        .and_then(Family::signing)
        .ok_or_else(|| {
            "use RS256 (the RSA keys), PS256 (the RSA-PSS keys) or ES256 (the P-256 keys)"
                .to_owned()
        })
}

/// `sigil keys rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The family to rotate: RS256 (the RSA keys), PS256 (the RSA-PSS keys) or ES256 (the
    /// P-256 keys).
    #[arg(long, value_name = "ALG", default_value = "RS256", value_parser = family)]
    pub(crate) alg: Family,
    #[command(flatten)]
    pub(crate) format: Format,
}

/// `sigil keys revoke`.
#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    /// The key id (see `sigil keys list`). A kid may begin with `-` (thumbprints are base64url).
    #[arg(allow_hyphen_values = true)]
    pub(crate) kid: String,
    #[command(flatten)]
    pub(crate) format: Format,
}

/// Makes `family`'s current and next keys if missing ([`Family::ensure`], race-safe);
/// returns a line for each key made.
pub(crate) async fn ensure(
    store: &impl Store,
    family: Family,
    now: UnixTime,
) -> anyhow::Result<Vec<String>> {
    let created = family.ensure(store, now).await?;
    Ok(created
        .iter()
        .map(|record| {
            format!(
                "signing key: created {} key {} ({})",
                family.alg(),
                record.kid,
                record.state.as_str()
            )
        })
        .collect())
}

fn key_line(key: &SigningKeyRecord) -> String {
    format!(
        "{:<9} {} {}  created {}",
        key.state.as_str(),
        key.alg,
        key.kid,
        auth0_time(key.created_at)
    )
}

/// Every signing key, for the commands below.
async fn read_keys(store: &impl Store) -> anyhow::Result<Vec<SigningKeyRecord>> {
    store
        .signing_keys()
        .await
        .context("cannot read the signing keys")
}

/// `sigil keys list`.
pub(crate) fn list(
    format: &Format,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    storage::with_initialised(location, now, async |opened| {
        let keys = read_keys(&opened.store).await?;
        let json = Value::Array(keys.iter().map(SigningKeyRecord::management_json).collect());
        print(
            format,
            &json,
            &keys.iter().map(key_line).collect::<Vec<_>>(),
        )?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `sigil keys rotate [--alg RS256|ES256]`: in that family, the next key (published since the
/// last rotation) starts signing, the current one becomes previous and stays published, and a
/// new next key is published. The other family is untouched.
pub(crate) fn rotate(
    args: &RotateArgs,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    let family = args.alg;
    storage::with_initialised(location, now, async |opened| {
        let before = read_keys(&opened.store).await?;
        if !before
            .iter()
            .any(|k| family.holds(k) && k.state == KeyState::Current)
        {
            anyhow::bail!(
                "there are no {} signing keys to rotate; {}",
                family.alg(),
                how_to_make(family)
            );
        }
        let next = family
            .generate(KeyState::Next, now)
            .context("cannot generate a signing key")?;
        opened
            .store
            .rotate_signing_keys(&next, now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => anyhow::anyhow!(
                    "another rotation happened at the same moment; run `sigil keys list` and \
                     rotate again if needed"
                ),
                other => anyhow::Error::new(other).context("cannot rotate the signing keys"),
            })?;
        let keys = read_keys(&opened.store).await?;
        let find = |state| keys.iter().find(|k| family.holds(k) && k.state == state);
        let (current, next) = (find(KeyState::Current), find(KeyState::Next));
        let json = json!({
            "current": current.map(SigningKeyRecord::management_json),
            "next": next.map(SigningKeyRecord::management_json),
        });
        let lines = [
            format!(
                "rotated the {} keys: {} now signs; {} is the next key; servers pick this up \
                 within {} s",
                family.alg(),
                current.map_or("?", |k| k.kid.as_str()),
                next.map_or("?", |k| k.kid.as_str()),
                sigil_server::KEYS_TTL
            ),
            "the previous key stays published until `sigil keys revoke` removes it".to_owned(),
        ];
        print(&args.format, &json, &lines)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `sigil keys revoke KID`.
pub(crate) fn revoke(
    args: &RevokeArgs,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    storage::with_initialised(location, now, async |opened| {
        let keys = read_keys(&opened.store).await?;
        let Some(key) = keys.iter().find(|k| k.kid == args.kid) else {
            anyhow::bail!(
                "there is no signing key {}; see `sigil keys list`",
                args.kid
            );
        };
        match key.state {
            KeyState::Current => anyhow::bail!(
                "{} is the current {} signing key and cannot be revoked; run `sigil keys rotate{}` \
                 first",
                args.kid,
                key.alg,
                match Family::signing(key.alg) {
                    Some(Family::Es256) => " --alg ES256",
                    Some(Family::Ps256) => " --alg PS256",
                    Some(Family::Rs256) | None => "",
                }
            ),
            KeyState::Revoked => anyhow::bail!("{} is already revoked", args.kid),
            KeyState::Next | KeyState::Previous => {}
        }
        opened
            .store
            .revoke_signing_key(&args.kid, now)
            .await
            .context("cannot revoke the signing key")?;
        let key = read_keys(&opened.store)
            .await?
            .into_iter()
            .find(|k| k.kid == args.kid);
        let json = key
            .as_ref()
            .map_or(Value::Null, SigningKeyRecord::management_json);
        print(
            &args.format,
            &json,
            &[format!(
                "revoked {}: it is no longer published, and tokens it signed no longer verify",
                args.kid
            )],
        )?;
        Ok(ExitCode::SUCCESS)
    })
}
