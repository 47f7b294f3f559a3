//! Client authentication at the token endpoint (RFC 6749 §2.3): the secret is compared with
//! the stored SHA-256 digest in constant time.

use crate::Store;
use crate::ids::ClientId;
use crate::model::{Client, TokenEndpointAuthMethod};
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
}

impl ClientAuth {
    fn parts(&self) -> (&ClientId, &ClientSecret, TokenEndpointAuthMethod) {
        match self {
            ClientAuth::Post { client_id, secret } => {
                (client_id, secret, TokenEndpointAuthMethod::ClientSecretPost)
            }
            ClientAuth::Basic { client_id, secret } => (
                client_id,
                secret,
                TokenEndpointAuthMethod::ClientSecretBasic,
            ),
        }
    }
}

/// The client, if it exists and the secret is its own. An unknown client and a wrong secret get
/// the same answer. Auth0 accepts either secret method whatever the client's registered
/// `token_endpoint_auth_method` among the two, and so does Sigil.
pub async fn authenticate(store: &impl Store, auth: &ClientAuth) -> Result<Client, FlowError> {
    let (client_id, secret, _method) = auth.parts();
    let refused = || {
        OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication failed: unknown client or wrong secret",
        )
    };
    let Some(client) = store.client(client_id).await? else {
        return Err(refused().into());
    };
    match &client.secret_digest {
        Some(digest) if digest.matches(secret.expose()) => Ok(client),
        _ => Err(refused().into()),
    }
}
