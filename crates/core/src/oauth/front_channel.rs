//! What `/authorize` answers a logged-in user (OIDC Core §3.1.2.5, §3.2.2.5, §3.3.2.5): a code,
//! an ID token, an access token, or a combination, as the request's response type says. Tokens
//! returned here never include a refresh token (they travel through the browser); an ID token
//! returned with an access token carries `at_hash`, with a code `c_hash`, so the client can tell
//! they belong together.
//!
//! Between the login and the answer come the steps that may pause it on a page, each as one
//! [`Continuation`]: consent, then the post-login Actions (both resumed at `/continue`), then
//! the second factor (resumed by the MFA pages).

use futures_util::future::try_join3;

use crate::actions::{
    ActionRunner, ContinueRequest, LoginFacts, PostLogin, roles_if_bound, run_post_login,
};
use crate::authorize::{Authorization, MULTI_FACTOR_ACR};
use crate::consent::{consent_check, grant_consent};
use crate::continuation::{CONTINUE_WINDOW, Continuation, Pending};
use crate::events::{self, Events, Origin};
use crate::keyring::KeyRing;
use crate::login;
use crate::mfa;
use crate::model::{Client, LogType, NewLogEvent, Session, User};
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
    /// The login waits on a page, with the continuation sealed as its `state`: the consent
    /// page, or the tenant's page a post-login Action sent the user to (at
    /// [`Redirect::location`](crate::actions::Redirect::location)). `/continue` resumes it.
    Paused(Box<Continuation>),
}

/// How the user came back to a paused login.
#[derive(Debug)]
pub enum Resumed<'a> {
    /// From the consent page, with their answer.
    Consent {
        /// Accept (else Decline).
        accept: bool,
    },
    /// From the page an Action sent them to, with what the browser sent.
    Action(&'a ContinueRequest),
    /// From the MFA pages, the second factor passed (the continuation says so: the pages seal
    /// it again with `passed` once the user's code is accepted).
    SecondFactor,
}

/// Answers `authz` for the user of `session`. The steps after the login, in order: consent,
/// where the user must approve what a third-party application asks (a pause for the consent
/// page; `consent_required` under `prompt=none`); the post-login Actions, whose deny sends the
/// application `access_denied` and issues nothing, and whose redirect pauses the login
/// (`interaction_required` under `prompt=none`); then the client's answer, with what the
/// Actions decided in the code or in the tokens returned here.
///
/// The login's success event (`s`, `ssa` for `prompt=none`) is written when the client is
/// answered, so that it names the Actions' executions; a login these steps refuse is `f`
/// (`fsa`) with the reason the application was given, as at Auth0.
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn authorization_response(
    store: &impl Store,
    actions: &impl ActionRunner,
    events: &dyn Events,
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    authz: &Authorization,
    session: &Session,
    origin: &Origin,
) -> Result<Authorized, FlowError> {
    let step = Step {
        store,
        events,
        keys,
        rng,
        issuer,
        now,
        authz,
        session,
        origin,
        resuming: None,
    };
    let answered = async {
        if consent_check(store, issuer, authz, &session.user_id)
            .await?
            .is_some()
        {
            if authz.silent {
                return Err(OAuthError::new(ErrorCode::ConsentRequired, "Consent required").into());
            }
            let csrf = String::new();
            return Ok(step.pause(Pending::Consent { csrf }, PostLogin::default()));
        }
        step.after_consent(actions).await
    }
    .await;
    step.stopped(answered)
}

/// Resumes the login `continuation` paused, for the user of `session`, who came back as
/// `resumed` says: after the consent page, the user's approval is recorded and the login goes
/// on to the post-login Actions (Decline answers `access_denied`); after an Action's page, that
/// Action runs its `onContinuePostLogin`, the Actions after it run, and what they decide is
/// added to what was decided before. A continuation goes on once, when it gets that far.
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn resume_authorization(
    store: &impl Store,
    actions: &impl ActionRunner,
    events: &dyn Events,
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    continuation: Continuation,
    session: &Session,
    origin: &Origin,
    resumed: Resumed<'_>,
) -> Result<Authorized, FlowError> {
    let authz = &continuation.authorization;
    let step = Step {
        store,
        events,
        keys,
        rng,
        issuer,
        now,
        authz,
        session,
        origin,
        resuming: Some(&continuation),
    };
    let answered = match (&continuation.pending, resumed) {
        (Pending::Consent { .. }, Resumed::Consent { accept: false }) => Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "User did not authorize the request",
        )
        .into()),
        (Pending::Consent { .. }, Resumed::Consent { accept: true }) => {
            match grant_consent(store, rng, issuer, now, authz, &session.user_id).await {
                Ok(_) => step.after_consent(actions).await,
                Err(e) => Err(e),
            }
        }
        (Pending::Action { name }, Resumed::Action(request)) => {
            step.resume_action(actions, name, request, &continuation.decided)
                .await
        }
        (Pending::Mfa { passed: true, .. }, Resumed::SecondFactor) => {
            step.after_second_factor(continuation.decided.clone()).await
        }
        _ => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "this login does not wait for that answer",
        )
        .into()),
    };
    step.stopped(answered)
}

/// One authorization's answer, past the user's authentication.
struct Step<'a, S> {
    store: &'a S,
    events: &'a dyn Events,
    keys: &'a KeyRing,
    rng: &'a dyn Rng,
    issuer: &'a str,
    now: UnixTime,
    authz: &'a Authorization,
    session: &'a Session,
    /// Where the request came from, for the Actions and the events.
    origin: &'a Origin,
    /// The paused login this step resumes, if it does.
    resuming: Option<&'a Continuation>,
}

impl<S: Store> Step<'_, S> {
    /// The login paused until `pending` is answered, with what post-login `decided` so far.
    fn pause(&self, pending: Pending, decided: PostLogin) -> Authorized {
        Authorized::Paused(Box::new(Continuation {
            id: crate::ids::alphanumeric(self.rng, 24),
            authorization: self.authz.clone(),
            session_id: self.session.id.clone(),
            user_id: self.session.user_id.clone(),
            pending,
            decided,
            expires_at: UnixTime(self.now.0 + CONTINUE_WINDOW),
        }))
    }

    /// Records that the paused login this step resumes goes on, once it has got this far
    /// without failing (a failed Action's page may be answered again): a replayed `state`
    /// (a second tab, a resent form) does not answer the client twice.
    async fn go_on(&self) -> Result<(), FlowError> {
        let Some(paused) = self.resuming else {
            return Ok(());
        };
        let once = format!("continue:{}", paused.id);
        match self
            .store
            .record_client_assertion(&self.authz.client_id, &once, paused.expires_at, self.now)
            .await
        {
            Err(crate::StoreError::AlreadyUsed) => Err(OAuthError::new(
                ErrorCode::AccessDenied,
                "this login already went on from the page it was sent to; log in again",
            )
            .into()),
            other => Ok(other?),
        }
    }

    /// The steps after consent: post-login, then the answer.
    async fn after_consent(&self, actions: &impl ActionRunner) -> Result<Authorized, FlowError> {
        let (client, user) = read_parties(self.store, self.authz, self.session).await?;
        if !actions.is_bound("post-login").await? {
            self.go_on().await?;
            return self.second_factor(None, client, user).await;
        }
        let decided = self
            .post_login(actions, &client, &user, None)
            .await?
            .unwrap_or_default();
        self.decided(decided, client, user).await
    }

    /// Back from the page the Action `name` sent the user to, with `request`: it resumes in
    /// its `onContinuePostLogin`, the Actions after it run, and what they decide is added to
    /// what was decided `before`.
    async fn resume_action(
        &self,
        actions: &impl ActionRunner,
        name: &str,
        request: &ContinueRequest,
        before: &PostLogin,
    ) -> Result<Authorized, FlowError> {
        let (client, user) = read_parties(self.store, self.authz, self.session).await?;
        let later = self
            .post_login(actions, &client, &user, Some((name, request)))
            .await?
            .unwrap_or_default();
        self.decided(before.clone().then(later), client, user).await
    }

    /// `answered`, after writing the event of a login these steps refused (`f`, or `fsa` for
    /// `prompt=none`) with the reason the application is given. Server failures are the
    /// server's log's, and an application that is gone is no login.
    fn stopped(&self, answered: Result<Authorized, FlowError>) -> Result<Authorized, FlowError> {
        if let Err(FlowError::OAuth(e)) = &answered
            && e.code != ErrorCode::InvalidClient
        {
            self.events.emit(events::login_stopped(
                &self.authz.client_id,
                &self.session.user_id,
                self.authz.silent,
                &e.description,
                self.now,
                self.origin,
            ));
        }
        answered
    }

    /// Runs post-login (resuming an Action when `resume` names one).
    async fn post_login(
        &self,
        actions: &impl ActionRunner,
        client: &Client,
        user: &User,
        resume: Option<(&str, &ContinueRequest)>,
    ) -> Result<Option<PostLogin>, FlowError> {
        let (authz, session) = (self.authz, self.session);
        // Three reads at once (the event's roles only when an Action is bound).
        let (api, methods, roles) = try_join3(
            api(self.store, authz.audience.as_deref()),
            async { Ok(login::session_methods(self.store, session).await?) },
            roles_if_bound(actions, self.store, &user.user_id),
        )
        .await?;
        let scope = authz.scope.join(" ");
        let facts = LoginFacts {
            client,
            api: api.as_ref(),
            protocol: protocol(authz),
            requested_scopes: &scope,
            origin: self.origin,
            methods: &methods,
            session: Some(&session.id),
            now: self.now,
            issuer: self.issuer,
            authorization: Some(authz),
            resume,
            roles,
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
        self.go_on().await?;
        // What the Actions recorded of how the user authenticated, for the session's later
        // logins (`event.authentication.methods`).
        for name in std::mem::take(&mut decided.record_methods) {
            self.store
                .record_session_method(&self.session.id, &name, self.now)
                .await?;
        }
        let Some(redirect) = decided.redirect.take() else {
            return self.second_factor(Some(decided), client, user).await;
        };
        if self.authz.silent {
            return Err(OAuthError::new(
                ErrorCode::InteractionRequired,
                "an Action must send the user to a page, which prompt=none does not allow",
            )
            .into());
        }
        let name = redirect.action.clone();
        let decided = PostLogin {
            redirect: Some(redirect),
            ..decided
        };
        Ok(self.pause(Pending::Action { name }, decided))
    }

    /// The second factor, after the Actions: when the login needs one (`mfa::need`) and the
    /// session has not passed one, nor may a remembered browser skip it, the login pauses for
    /// the MFA pages (`login_required` "Multifactor authentication required" under
    /// `prompt=none`, Auth0's answer); else the client's answer,
    /// with `amr: ["mfa"]` when the session passed one (but for `prompt=none`, as at Auth0).
    /// Nothing is read for a tenant without an enabled factor.
    async fn second_factor(
        &self,
        decided: Option<PostLogin>,
        client: Client,
        user: User,
    ) -> Result<Authorized, FlowError> {
        let settings = self.store.tenant_settings().await?.unwrap_or_default().mfa;
        if settings.factors.is_empty() {
            return self.answer(decided, client, user).await;
        }
        let methods = login::session_methods(self.store, self.session).await?;
        if methods.iter().any(|m| m.name == mfa::METHOD) {
            // As at Auth0, silent authentication's ID token does not repeat `amr`.
            let decided = if self.authz.silent {
                decided
            } else {
                Some(self.passed(decided))
            };
            return self.answer(decided, client, user).await;
        }
        let action = decided.as_ref().and_then(|d| d.multifactor);
        let Some(allow_remember) = mfa::need(&settings, self.authz.asks_multi_factor(), action)
        else {
            return self.answer(decided, client, user).await;
        };
        if allow_remember && let Some(browser) = &self.origin.remembered {
            let memory = self.store.remembered_browsers(&user.user_id).await?;
            if browser.remembers(&user.user_id, memory, self.now) {
                self.store
                    .remembered_browser_used(&user.user_id, self.now)
                    .await?;
                return self.answer(decided, client, user).await;
            }
        }
        if self.authz.silent {
            return Err(OAuthError::new(
                ErrorCode::LoginRequired,
                "Multifactor authentication required",
            )
            .into());
        }
        self.events.emit(self.origin.stamp(NewLogEvent {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            user_id: Some(user.user_id.clone()),
            ..NewLogEvent::new(LogType::MFA_REQUIRED, self.now)
        }));
        let pending = Pending::Mfa {
            csrf: String::new(),
            allow_remember,
            passed: false,
            recovery_code: None,
            mailed: None,
        };
        Ok(self.pause(pending, decided.unwrap_or_default()))
    }

    /// Back from the MFA pages, the second factor passed: the session remembers it, and the
    /// client is answered with `amr: ["mfa"]`.
    async fn after_second_factor(&self, decided: PostLogin) -> Result<Authorized, FlowError> {
        self.go_on().await?;
        self.store
            .record_session_method(&self.session.id, mfa::METHOD, self.now)
            .await?;
        let (client, user) = read_parties(self.store, self.authz, self.session).await?;
        self.answer(Some(self.passed(Some(decided))), client, user)
            .await
    }

    /// `decided`, for a login whose session passed a second factor: the ID token's `amr`, and
    /// `acr` when the request asked for the PAPE policy.
    fn passed(&self, decided: Option<PostLogin>) -> PostLogin {
        let mut decided = decided.unwrap_or_default();
        decided.amr = vec![mfa::METHOD.to_owned()];
        decided.acr = self
            .authz
            .asks_multi_factor()
            .then(|| MULTI_FACTOR_ACR.to_owned());
        decided
    }

    /// The client's answer for `user` of `client`: a code carrying `decided`, or tokens made
    /// with it; and the login's success event.
    async fn answer(
        &self,
        decided: Option<PostLogin>,
        client: Client,
        user: User,
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
        let executions = decided.as_ref().map_or(&[][..], |d| &d.executions[..]);
        let mut event = events::login_answered(&client, &user, authz.silent, executions, now);
        // Auth0's record of a second factor in the success event.
        if let Some(decided) = decided.as_ref().filter(|d| !d.amr.is_empty()) {
            event
                .details
                .insert("performed_amr".to_owned(), decided.amr.clone().into());
            if let Some(acr) = &decided.acr {
                event
                    .details
                    .insert("performed_acr".to_owned(), acr.as_str().into());
            }
        }
        if !authz.response_type.returns_tokens() {
            self.events.emit(self.origin.stamp(event));
            return Ok(Authorized::Answer(fields));
        }

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
        self.events.emit(self.origin.stamp(event));
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
