//! Client authentication at the token endpoint (RFC 6749 §2.3): the secret is compared with
//! the stored SHA-256 digest in constant time.

use super::Directory;
use crate::ids::ClientId;
use crate::model::{Client, GrantType};
use crate::secret::ClientSecret;

use super::{ErrorCode, FlowError, OAuthError};

/// How the client presented itself.
#[derive(Clone, Debug)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the body (form or JSON).
    Post {
        /// The client.
        client_id: ClientId,
        /// Its secret.
        secret: ClientSecret,
    },
    /// HTTP Basic with the client id and secret.
    Basic {
        /// The client.
        client_id: ClientId,
        /// Its secret.
        secret: ClientSecret,
    },
    /// A public client (RFC 6749 §2.1): only its id, no secret.
    Public {
        /// The client.
        client_id: ClientId,
    },
}

impl ClientAuth {
    /// The client id and the secret presented, if any.
    fn parts(&self) -> (&ClientId, Option<&ClientSecret>) {
        match self {
            ClientAuth::Post { client_id, secret } | ClientAuth::Basic { client_id, secret } => {
                (client_id, Some(secret))
            }
            ClientAuth::Public { client_id } => (client_id, None),
        }
    }
}

/// Refuses a client allowed none of `grants` (`unauthorized_client`, Auth0's sentence naming
/// the first).
pub(crate) fn require_grant(client: &Client, grants: &[GrantType]) -> Result<(), FlowError> {
    if grants
        .iter()
        .any(|g| client.settings.grant_types.contains(g))
    {
        return Ok(());
    }
    let name = grants.first().map_or("", |g| g.as_str());
    Err(OAuthError::new(
        ErrorCode::UnauthorizedClient,
        format!("Grant type '{name}' not allowed for the client."),
    )
    .into())
}

/// The client, if it exists and the secret is its own (a public client, one without a secret,
/// presents none). An unknown client and a wrong or missing secret get the same answer. Auth0
/// accepts either secret method whatever the client's registered `token_endpoint_auth_method`
/// among the two, and so does Sigil.
pub async fn authenticate(store: &impl Directory, auth: &ClientAuth) -> Result<Client, FlowError> {
    let (client_id, secret) = auth.parts();
    let refused = || {
        OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication failed: unknown client or wrong secret",
        )
    };
    let Some(client) = store.client(client_id).await? else {
        return Err(refused().into());
    };
    match (&client.secret_digest, secret) {
        (Some(digest), Some(secret)) if digest.matches(secret.expose()) => Ok(client),
        (None, None) => Ok(client),
        _ => Err(refused().into()),
    }
}
