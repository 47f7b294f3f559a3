//! `sigil keys list|rotate|revoke`: the tenant's signing keys in the database (Auth0's
//! `/keys/signing` shapes with `--json`). `keys generate`, which writes a key file and touches
//! no database, lives in `crate::keys`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};
use sigil_core::model::{KeyState, SigningKeyRecord};
use sigil_core::{Store, StoreError};
use sigil_jose::UnixTime;

use super::{Format, auth0_time, print};
use crate::storage::{self, Location};

/// `sigil keys revoke`.
#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    /// The key id (see `sigil keys list`).
    pub(crate) kid: String,
    #[command(flatten)]
    pub(crate) format: Format,
}

/// A key as Auth0's Management API shows it (no private material, ever).
fn key_json(key: &SigningKeyRecord) -> Value {
    let time = |t: Option<UnixTime>| t.map(auth0_time);
    json!({
        "kid": key.kid,
        "alg": key.alg.as_str(),
        "state": key.state.as_str(),
        "current": key.state == KeyState::Current,
        "next": key.state == KeyState::Next,
        "previous": key.state == KeyState::Previous,
        "revoked": key.state == KeyState::Revoked,
        "created_at": auth0_time(key.created_at),
        "current_since": time(key.current_since),
        "current_until": time(key.previous_since),
        "revoked_at": time(key.revoked_at),
    })
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
        let json = Value::Array(keys.iter().map(key_json).collect());
        print(
            format,
            &json,
            &keys.iter().map(key_line).collect::<Vec<_>>(),
        )?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `sigil keys rotate`: the next key (published since the last rotation) starts signing, the
/// current one becomes previous and stays published, and a new next key is published.
pub(crate) fn rotate(
    format: &Format,
    location: &Location,
    now: UnixTime,
) -> anyhow::Result<ExitCode> {
    storage::with_initialised(location, now, async |opened| {
        let next = SigningKeyRecord::generate_rs256(KeyState::Next, now)
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
        let current = keys.iter().find(|k| k.state == KeyState::Current);
        let json = json!({
            "current": current.map(key_json),
            "next": keys.iter().find(|k| k.state == KeyState::Next).map(key_json),
        });
        let mut lines = vec![format!(
            "rotated: {} now signs; {} is the next key; servers pick this up within {} s",
            current.map_or("?", |k| k.kid.as_str()),
            keys.iter()
                .find(|k| k.state == KeyState::Next)
                .map_or("?", |k| k.kid.as_str()),
            sigil_server::KEYS_TTL
        )];
        lines.push(
            "the previous key stays published until `sigil keys revoke` removes it".to_owned(),
        );
        print(format, &json, &lines)?;
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
        match keys.iter().find(|k| k.kid == args.kid).map(|k| k.state) {
            None => anyhow::bail!(
                "there is no signing key {}; see `sigil keys list`",
                args.kid
            ),
            Some(KeyState::Current) => anyhow::bail!(
                "{} is the current signing key and cannot be revoked; run `sigil keys rotate` first",
                args.kid
            ),
            Some(KeyState::Revoked) => anyhow::bail!("{} is already revoked", args.kid),
            Some(KeyState::Next | KeyState::Previous) => {}
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
        let json = key.as_ref().map_or(Value::Null, key_json);
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
