//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3): a secret,
//! compared with the stored SHA-256 digest in constant time; a `private_key_jwt` assertion
//! (RFC 7523, see [`super::client_assertion`]); or, for public clients, the id alone.
//!
//! The client's registered `token_endpoint_auth_method` decides between the first two: a
//! `private_key_jwt` client must send an assertion (its secret, if it still has one, is
//! refused), and an assertion from any other client is refused, as Auth0 does. Auth0 accepts
//! either secret method whatever the registered one among the two, and so does Sigil.

use super::Directory;
use super::client_assertion::{claimed_client, verify_assertion};
use crate::UnixTime;
use crate::ids::ClientId;
use crate::model::{Client, GrantType, TokenEndpointAuthMethod};
use crate::secret::{ClientSecret, Token};

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
    /// A JWT the client signed with one of its registered keys (`private_key_jwt`,
    /// `client_assertion_type` = [`super::JWT_BEARER`]).
    Assertion {
        /// The `client_id` parameter, when sent (RFC 7521 §4.2 makes it optional); the
        /// assertion must then be that client's.
        client_id: Option<ClientId>,
        /// The signed JWT.
        assertion: Token,
    },
}

impl ClientAuth {
    /// The client it names, before anything is checked (an assertion's `client_id`
    /// parameter, when sent).
    pub fn client_id(&self) -> Option<&ClientId> {
        match self {
            ClientAuth::Post { client_id, .. }
            | ClientAuth::Basic { client_id, .. }
            | ClientAuth::Public { client_id } => Some(client_id),
            ClientAuth::Assertion { client_id, .. } => client_id.as_ref(),
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

/// The client, if it exists and proved itself the way it must: its own secret, a valid
/// assertion signed with one of its keys (whose `jti` is then used up), or nothing for a
/// public client (one without a secret). An unknown client and a wrong or missing secret get
/// the same answer. `issuer` and `now` are what assertions are checked against.
pub async fn authenticate(
    store: &impl Directory,
    auth: &ClientAuth,
    issuer: &str,
    now: UnixTime,
) -> Result<Client, FlowError> {
    let refused = || {
        OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication failed: unknown client or wrong secret",
        )
    };
    let client_id = match auth {
        ClientAuth::Post { client_id, .. }
        | ClientAuth::Basic { client_id, .. }
        | ClientAuth::Public { client_id } => client_id.clone(),
        ClientAuth::Assertion {
            client_id,
            assertion,
        } => match client_id.clone().or_else(|| claimed_client(assertion)) {
            Some(id) => id,
            None => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidClient,
                    "client assertion refused: it is not a JWT naming the client in sub",
                )
                .into());
            }
        },
    };
    let Some(client) = store.client(&client_id).await? else {
        return Err(refused().into());
    };
    let pkjwt =
        client.settings.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt;
    let secret = match auth {
        ClientAuth::Assertion { assertion, .. } if pkjwt => {
            verify_assertion(store, &client, assertion, issuer, now).await?;
            return Ok(client);
        }
        ClientAuth::Assertion { .. } => {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "client assertion refused: this client does not authenticate with \
                 private_key_jwt",
            )
            .into());
        }
        _ if pkjwt => {
            return Err(OAuthError::new(
                ErrorCode::InvalidClient,
                "this client authenticates with private_key_jwt: send client_assertion and \
                 client_assertion_type",
            )
            .into());
        }
        ClientAuth::Post { secret, .. } | ClientAuth::Basic { secret, .. } => Some(secret),
        ClientAuth::Public { .. } => None,
    };
    match (&client.secret_digest, secret) {
        (Some(digest), Some(secret)) if digest.matches(secret.expose()) => Ok(client),
        (None, None) => Ok(client),
        _ => Err(refused().into()),
    }
}
