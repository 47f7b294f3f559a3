//! Logins gone to another identity provider, until their callback: single use by a
//! `DELETE … RETURNING` that also checks the browser binding and the expiry, so of racing
//! callbacks one wins, on every backend. The login, nonce and PKCE verifier are sealed under
//! the master key, bound to the state's digest.

use serde::{Deserialize, Serialize};
use sigil_core::UnixTime;
use sigil_core::ids::ConnectionId;
use sigil_core::model::FederationTransaction;
use sigil_core::secret::SecretDigest;
use sigil_core::store::Result;

use crate::SqlStore;
use crate::codec::{digest, from_json, open, seal, to_json};
use crate::database::on_pool;
use crate::error::{OrBackend as _, write_error};

/// What is sealed.
#[derive(Serialize, Deserialize)]
struct Sealed {
    login: String,
    nonce: Option<String>,
    code_verifier: Option<String>,
}

/// The row's purpose for sealing: its state digest, so a sealed value moved to another row
/// does not open.
fn purpose(state_digest: &SecretDigest) -> String {
    format!(
        "federation transaction {}",
        base64_simd::URL_SAFE_NO_PAD.encode_to_string(state_digest.0)
    )
}

pub(crate) async fn create_federation_transaction(
    store: &SqlStore,
    tx: &FederationTransaction,
) -> Result<()> {
    const SQL: &str = "INSERT INTO federation_transactions \
                       (state_digest, binding_digest, connection_id, sealed, expires_at) \
                       VALUES ($1, $2, $3, $4, $5)";
    let plain = to_json(
        "federation transaction",
        &Sealed {
            login: tx.login.clone(),
            nonce: tx.nonce.clone(),
            code_verifier: tx.code_verifier.clone(),
        },
    )?;
    let sealed = seal(&store.key, &purpose(&tx.state_digest), plain.as_bytes())?;
    on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(tx.state_digest.0.to_vec())
        .bind(tx.binding_digest.0.to_vec())
        .bind(tx.connection_id.as_str())
        .bind(&sealed)
        .bind(tx.expires_at.0)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, |_| sigil_core::Conflict::Token, "connection"))?
        .rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    state_digest: Vec<u8>,
    binding_digest: Vec<u8>,
    connection_id: String,
    sealed: Vec<u8>,
    expires_at: i64,
}

pub(crate) async fn take_federation_transaction(
    store: &SqlStore,
    state_digest: &SecretDigest,
    binding_digest: &SecretDigest,
    now: UnixTime,
) -> Result<Option<FederationTransaction>> {
    const SQL: &str = "DELETE FROM federation_transactions \
                       WHERE state_digest = $1 AND binding_digest = $2 AND expires_at > $3 \
                       RETURNING state_digest, binding_digest, connection_id, sealed, expires_at";
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(SQL)
        .bind(state_digest.0.to_vec())
        .bind(binding_digest.0.to_vec())
        .bind(now.0)
        .fetch_optional(pool)
        .await
        .db()?);
    let Some(row) = row else {
        return Ok(None);
    };
    let state_digest = digest("federation transaction", &row.state_digest)?;
    let plain = open(
        &store.key,
        "federation transaction",
        &purpose(&state_digest),
        &row.sealed,
    )?;
    let text = std::str::from_utf8(&plain)
        .map_err(|e| crate::error::corrupt("federation transaction", e))?;
    let sealed: Sealed = from_json("federation transaction", text)?;
    Ok(Some(FederationTransaction {
        state_digest,
        binding_digest: digest("federation transaction", &row.binding_digest)?,
        connection_id: ConnectionId(row.connection_id),
        login: sealed.login,
        nonce: sealed.nonce,
        code_verifier: sealed.code_verifier,
        expires_at: UnixTime(row.expires_at),
    }))
}
