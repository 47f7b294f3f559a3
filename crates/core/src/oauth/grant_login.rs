//! The end of the grants that log a user in at the token endpoint (`password`,
//! `password-realm`, `passwordless/otp`), once the user is known: the login completed (no
//! session), post-login run (`oauth2-password`), then either `mfa_required` (a second factor is
//! needed: `mfa_grant`) or the tokens issued.

use futures_util::future::try_join;

use crate::actions::{ActionRunner, LoginFacts, roles_if_bound, run_post_login};
use crate::events::{LoginContext, Origin};
use crate::keyring::KeyRing;
use crate::login::{self, Login, Proof};
use crate::model::{Client, ResourceServer};
use crate::{Rng, Store, UnixTime};

use super::mfa_grant::{Issuing, required};
use super::user_tokens::{Refresh, UserGrant, issue};
use super::{FlowError, TokenResponse};

/// A login at the token endpoint whose user proved who they are.
pub(crate) struct GrantLogin<'a> {
    /// How (`Proof::Grant` or `Proof::OneTimeCode`), with the user.
    pub(crate) proof: Proof<'a>,
    /// The application.
    pub(crate) client: &'a Client,
    /// The connection, by name, when the request named one.
    pub(crate) connection: Option<&'a str>,
    /// The API asked for.
    pub(crate) api: Option<ResourceServer>,
    /// Requested scopes, space-separated.
    pub(crate) scope: Option<&'a str>,
    /// Where the request came from.
    pub(crate) origin: &'a Origin,
    /// The access token's `gty`.
    pub(crate) gty: Option<&'static str>,
}

/// Completes `grant`'s login and issues its tokens.
pub(crate) async fn log_in_and_issue(
    store: &impl Store,
    keys: &KeyRing,
    rng: &dyn Rng,
    actions: &impl ActionRunner,
    issuer: &str,
    now: UnixTime,
    grant: GrantLogin<'_>,
) -> Result<TokenResponse, FlowError> {
    let GrantLogin {
        proof,
        client,
        connection,
        api,
        scope,
        origin,
        gty,
    } = grant;
    let user = match &proof {
        Proof::Grant(user) | Proof::OneTimeCode { user, .. } => *user,
        _ => {
            return Err(FlowError::Store(crate::StoreError::Corrupt {
                what: "grant login",
                why: "a token endpoint login without a user".to_owned(),
            }));
        }
    };
    let login = Login {
        proof,
        context: LoginContext {
            client_id: &client.client_id,
            client_name: Some(&client.name),
            connection,
        },
        origin,
    };
    // The event's roles (when an Action is bound) are read while the login is recorded.
    let (completed, roles) = try_join(
        async { Ok(login::complete(store, rng, now, login).await?) },
        roles_if_bound(actions, store, &user.user_id),
    )
    .await?;
    let facts = LoginFacts {
        client,
        api: api.as_ref(),
        protocol: "oauth2-password",
        requested_scopes: scope.unwrap_or_default(),
        origin,
        methods: &completed.methods,
        session: None,
        now,
        issuer,
        authorization: None,
        resume: None,
        roles,
    };
    let decided = run_post_login(actions, store, user, facts).await?;
    let issuing = Issuing {
        client,
        user,
        connection,
        api: api.as_ref(),
        scope,
        auth_time: completed.auth_time,
        decided: decided.as_ref(),
    };
    if let Some(mfa_required) = required(store, keys, rng, issuer, now, issuing).await? {
        return Err(mfa_required.into());
    }
    issue(
        store,
        keys,
        rng,
        issuer,
        now,
        &UserGrant {
            client,
            user,
            scope,
            api,
            gty,
            nonce: None,
            auth_time: Some(completed.auth_time),
            session: None,
            refresh: Refresh::NewFamily,
            decided: decided.as_ref(),
        },
    )
    .await
}
