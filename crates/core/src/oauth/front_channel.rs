//! What `/authorize` answers a logged-in user (OIDC Core §3.1.2.5, §3.2.2.5, §3.3.2.5): a code,
//! an ID token, an access token, or a combination, as the request's response type says. Tokens
//! returned here never include a refresh token (they travel through the browser); an ID token
//! returned with an access token carries `at_hash`, with a code `c_hash`, so the client can tell
//! they belong together.

use crate::actions::{ActionRunner, ContinueRequest, LoginFacts, PostLogin, run_post_login};
use crate::authorize::Authorization;
use crate::continuation::{CONTINUE_WINDOW, Continuation};
use crate::keyring::KeyRing;
use crate::login::Method;
use crate::model::{Client, Session, User};
use crate::{Rng, Store, UnixTime};

use super::code::{CodeGrant, issue_code};
use super::user_tokens::{Refresh, UserGrant, access_token, api, half_hash, id_token, scopes_for};
use super::{ErrorCode, FlowError, OAuthError};

/// The parameters of the authorization response, in the order they are sent; `state` is added
/// by the caller with the response mode.
pub type ResponseFields = Vec<(&'static str, String)>;

/// Auth0's `transaction.protocol` for a response type.
fn protocol(authz: &Authorization) -> &'static str {
    let kind = &authz.response_type;
    match (kind.code, kind.returns_tokens()) {
        (true, false) => "oidc-basic-profile",
        (true, true) => "oidc-hybrid-profile",
        (false, _) => "oidc-implicit-profile",
    }
}

/// What `/authorize` answers a logged-in user.
#[derive(Debug)]
pub enum Authorized {
    /// The client's answer: a code, tokens, or both.
    Answer(ResponseFields),
    /// A post-login Action sent the user to the tenant's page: the browser goes to
    /// [`Redirect::location`](crate::actions::Redirect::location) with the continuation sealed
    /// as `state`, and `/continue` resumes the login with it.
    Redirect(Box<Continuation>),
}

/// Answers `authz` for the user of `session`, after the post-login Actions: a deny sends the
/// application `access_denied` and issues nothing; a redirect pauses the login (refused with
/// `interaction_required` under `prompt=none`); what they decided goes with the code, or
/// into the tokens returned here.
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn authorization_response(
    store: &impl Store,
    actions: &impl ActionRunner,
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    authz: &Authorization,
    session: &Session,
    ip: Option<&str>,
) -> Result<Authorized, FlowError> {
    let step = Step {
        store,
        keys,
        rng,
        issuer,
        now,
        authz,
        session,
    };
    // The application and the user, read once for post-login or the tokens, whichever first.
    if !actions.is_bound("post-login").await? {
        return step.answer(None, None).await;
    }
    let (client, user) = read_parties(store, authz, session).await?;
    let decided = step
        .post_login(actions, &client, &user, ip, None)
        .await?
        .unwrap_or_default();
    step.decided(decided, client, user).await
}

/// Resumes the login `continuation` paused, for the user of `session` back at `/continue`
/// with `request`: the Action that sent the user away runs its `onContinuePostLogin`, the
/// Actions after it run, and what they decide is added to what was decided before.
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn resume_authorization(
    store: &impl Store,
    actions: &impl ActionRunner,
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    continuation: Continuation,
    session: &Session,
    ip: Option<&str>,
    request: &ContinueRequest,
) -> Result<Authorized, FlowError> {
    let authz = &continuation.authorization;
    let step = Step {
        store,
        keys,
        rng,
        issuer,
        now,
        authz,
        session,
    };
    let (client, user) = read_parties(store, authz, session).await?;
    let resume = Some((continuation.action.as_str(), request));
    let later = step
        .post_login(actions, &client, &user, ip, resume)
        .await?
        .unwrap_or_default();
    let decided = continuation.decided.clone().then(later);
    // Once only, when it succeeds: a replayed state (a second tab, a resent form) does not
    // answer the client again.
    match store
        .record_client_assertion(
            &authz.client_id,
            &format!("continue:{}", continuation.id),
            continuation.expires_at,
            now,
        )
        .await
    {
        Err(crate::StoreError::AlreadyUsed) => {
            return Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "this login already went on from the page it was sent to; log in again",
            )
            .into());
        }
        other => other?,
    }
    step.decided(decided, client, user).await
}

/// One authorization's answer, past the user's authentication.
struct Step<'a, S> {
    store: &'a S,
    keys: &'a KeyRing,
    rng: &'a dyn Rng,
    issuer: &'a str,
    now: UnixTime,
    authz: &'a Authorization,
    session: &'a Session,
}

impl<S: Store> Step<'_, S> {
    /// Runs post-login (resuming an Action when `resume` names one).
    async fn post_login(
        &self,
        actions: &impl ActionRunner,
        client: &Client,
        user: &User,
        ip: Option<&str>,
        resume: Option<(&str, &ContinueRequest)>,
    ) -> Result<Option<PostLogin>, FlowError> {
        let (authz, session) = (self.authz, self.session);
        let api = api(self.store, authz.audience.as_deref()).await?;
        let scope = authz.scope.join(" ");
        // Sessions are started by a password only, so far.
        let methods = [Method {
            name: "pwd",
            timestamp: session.authenticated_at,
        }];
        let facts = LoginFacts {
            client,
            api: api.as_ref(),
            protocol: protocol(authz),
            requested_scopes: &scope,
            ip,
            methods: &methods,
            session: Some(&session.id),
            now: self.now,
            issuer: self.issuer,
            authorization: Some(authz),
            resume,
        };
        run_post_login(actions, self.store, user, facts).await
    }

    /// The answer once post-login has decided: a pause for its redirect, or the client's answer.
    async fn decided(
        &self,
        mut decided: PostLogin,
        client: Client,
        user: User,
    ) -> Result<Authorized, FlowError> {
        let Some(redirect) = decided.redirect.take() else {
            return self.answer(Some(decided), Some((client, user))).await;
        };
        if self.authz.silent {
            return Err(OAuthError::new(
                ErrorCode::InteractionRequired,
                "an Action must send the user to a page, which prompt=none does not allow",
            )
            .into());
        }
        Ok(Authorized::Redirect(Box::new(Continuation {
            id: crate::ids::alphanumeric(self.rng, 24),
            authorization: self.authz.clone(),
            session_id: self.session.id.clone(),
            user_id: self.session.user_id.clone(),
            expires_at: UnixTime(self.now.0 + CONTINUE_WINDOW),
            action: redirect.action.clone(),
            decided: PostLogin {
                redirect: Some(redirect),
                ..decided
            },
        })))
    }

    /// The client's answer: a code carrying `decided`, or tokens made with it.
    async fn answer(
        &self,
        decided: Option<PostLogin>,
        parties: Option<(Client, User)>,
    ) -> Result<Authorized, FlowError> {
        let (store, authz, session) = (self.store, self.authz, self.session);
        let (rng, issuer, now) = (self.rng, self.issuer, self.now);
        let mut fields = ResponseFields::new();
        let code = if authz.response_type.code {
            let code = issue_code(
                store,
                rng,
                now,
                CodeGrant {
                    client_id: authz.client_id.clone(),
                    user_id: session.user_id.clone(),
                    session_id: Some(session.id.clone()),
                    redirect_uri: authz.redirect_uri.clone(),
                    scope: authz.scope.clone(),
                    audience: authz.audience.clone(),
                    nonce: authz.nonce.clone(),
                    code_challenge: authz.code_challenge.clone(),
                    auth_time: session.authenticated_at,
                    actions: decided.clone(),
                },
            )
            .await?;
            fields.push(("code", code.expose().to_owned()));
            Some(code)
        } else {
            None
        };
        if !authz.response_type.returns_tokens() {
            return Ok(Authorized::Answer(fields));
        }

        let (client, user) = match parties {
            Some(parties) => parties,
            None => read_parties(store, authz, session).await?,
        };
        let scope = authz.scope.join(" ");
        let grant = UserGrant {
            client: &client,
            user: &user,
            scope: Some(&scope),
            api: api(store, authz.audience.as_deref()).await?,
            gty: None,
            nonce: authz.nonce.as_deref(),
            auth_time: Some(session.authenticated_at),
            session: Some(&session.id),
            refresh: Refresh::Omit,
            decided: decided.as_ref(),
        };
        let (mut scopes, permissions) = scopes_for(store, issuer, &grant).await?;
        scopes.retain(|s| s != "offline_access");

        let alg = client.settings.jwt_configuration.alg;
        let mut hashes = Vec::new();
        if let Some(code) = &code {
            hashes.push(("c_hash", half_hash(alg, code.expose())));
        }
        if authz.response_type.token {
            let scopes = decided
                .as_ref()
                .map_or_else(|| scopes.clone(), |d| d.access_scopes(&scopes));
            let (token, lifetime) =
                access_token(self.keys, rng, issuer, now, &grant, &scopes, permissions)?;
            hashes.push(("at_hash", half_hash(alg, &token)));
            fields.push(("access_token", token));
            fields.push(("token_type", "Bearer".to_owned()));
            fields.push(("expires_in", lifetime.to_string()));
            fields.push(("scope", scopes.join(" ")));
        }
        if authz.response_type.id_token {
            fields.push((
                "id_token",
                id_token(self.keys, issuer, now, &grant, &scopes, &hashes)?,
            ));
        }
        Ok(Authorized::Answer(fields))
    }
}

/// The application and the user of `authz` and `session`: refused when either is gone, or the
/// user is blocked.
async fn read_parties(
    store: &impl Store,
    authz: &Authorization,
    session: &Session,
) -> Result<(Client, User), FlowError> {
    let refused = |description: &str| -> FlowError {
        OAuthError::new(ErrorCode::AccessDenied, description).into()
    };
    // RFC 6749 §4.1.2.1: the client is no longer valid, so the user is told and never sent
    // to its redirect URI (`invalid_client` is never an authorization response).
    let client = store.client(&authz.client_id).await?.ok_or_else(|| {
        FlowError::from(OAuthError::new(
            ErrorCode::InvalidClient,
            "The application of this login no longer exists.",
        ))
    })?;
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or_else(|| refused("the user no longer exists"))?;
    if user.blocked {
        return Err(refused("user is blocked"));
    }
    Ok((client, user))
}
