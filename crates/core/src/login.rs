//! Where a login completes, however it began: a password on the login page or a signup on the
//! signup page, a session that suffices (SSO, `prompt=none`), the password grants, the social
//! and enterprise callbacks, passwordless codes. [`complete`] starts or extends the session, records
//! the login (the user's `last_login` and `logins_count`), and returns what the steps after it
//! need: the user, the session, `auth_time` and how the user authenticated (Auth0's
//! `authentication.methods`).
//!
//! The login's tenant log event is written where it ends, as at Auth0: `s` (`ssa`) when the
//! application is answered, after the post-login Actions, whose executions it names, or `f`
//! (`fsa`) when they refuse it (`oauth::authorization_response`); `sepft` at the token
//! endpoint.
//!
//! A refresh comes here too, for the facts its post-login needs, from what the refresh token
//! carries; it is no new login, so nothing is recorded (Auth0 counts no login for it either).

use crate::events::{LoginContext, Origin};
use crate::ids::{SessionId, UserId};
use crate::model::{Session, User};
use crate::secret::Token;
use crate::{Rng, Store, StoreError, UnixTime};

/// How the user proved who they are in this login.
pub enum Proof<'a> {
    /// Their password (or a new account's), at a hosted page: a session starts.
    Page(&'a User),
    /// Another identity provider vouched for them (`/login/callback`): a session starts.
    Federated(&'a User),
    /// Their password, at the token endpoint (`password`, `password-realm`): no session.
    Grant(&'a User),
    /// A one-time code (or magic link) sent by a passwordless connection: a session starts
    /// when the login is a browser's (a hosted page, a magic link), none at the token endpoint.
    OneTimeCode {
        /// Who.
        user: &'a User,
        /// `email` or `sms`: how the code travelled, the login's method.
        channel: &'static str,
        /// Whether a browser logs in (a session starts).
        browser: bool,
    },
    /// The browser's session sufficed: it is used again, and extended.
    Session {
        /// The live session the request's cookie names.
        session: &'a Session,
    },
    /// A refresh token, whose login was earlier.
    Refresh {
        /// Its user.
        user: &'a User,
        /// When its login was (the token's `auth_time`), when known.
        auth_time: Option<UnixTime>,
    },
}

/// A login to complete.
pub struct Login<'a> {
    /// How the user proved who they are.
    pub proof: Proof<'a>,
    /// The application and connection, for the session and the event.
    pub context: LoginContext<'a>,
    /// Where the request came from.
    pub origin: &'a Origin,
}

/// How the user authenticated, as Auth0's `authentication.methods[]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Method {
    /// `pwd` (a password), `federated`, `email`, `sms`, `mfa` (a second factor, recorded in
    /// the session by the MFA step); or the name a
    /// post-login Action recorded for its own method (`api.authentication.recordMethod`).
    pub name: String,
    /// When.
    pub timestamp: UnixTime,
}

/// What a completed login established.
#[derive(Debug)]
pub struct Completed {
    /// Who logged in.
    pub user_id: UserId,
    /// The session the login started or used (none for the token endpoint's grants).
    pub session: Option<Session>,
    /// A new session's cookie value, to set in the browser.
    pub cookie: Option<Token>,
    /// When the user last proved who they are (`auth_time`; for a refresh token that does
    /// not say, now).
    pub auth_time: UnixTime,
    /// How the user authenticated, oldest first.
    pub methods: Vec<Method>,
}

/// Completes `login` at `now`. A store failure fails the login: nothing is half recorded that
/// the user is then told succeeded.
pub async fn complete(
    store: &impl Store,
    rng: &dyn Rng,
    now: UnixTime,
    login: Login<'_>,
) -> Result<Completed, StoreError> {
    let Login {
        proof,
        context,
        origin,
    } = login;
    let ip = origin.ip.as_deref();
    match proof {
        Proof::Page(user)
        | Proof::Federated(user)
        | Proof::OneTimeCode {
            user,
            browser: true,
            ..
        } => {
            let method = match proof {
                Proof::Federated(_) => FEDERATED,
                Proof::OneTimeCode { channel, .. } => channel,
                _ => PASSWORD,
            };
            let settings = store.tenant_settings().await?.unwrap_or_default();
            let cookie = Token::generate(rng);
            let session = Session {
                id: SessionId::generate(rng),
                cookie_digest: cookie.digest(),
                user_id: user.user_id.clone(),
                created_at: now,
                authenticated_at: now,
                last_seen_at: now,
                expires_at: UnixTime(now.0 + i64::from(settings.session_lifetime) * 3600),
                idle_expires_at: UnixTime(now.0 + i64::from(settings.idle_session_lifetime) * 3600),
                clients: vec![context.client_id.clone()],
                ip: origin.ip.clone(),
                user_agent: origin.user_agent.clone(),
                method: method.to_owned(),
            };
            store.create_session(&session).await?;
            store.record_login(&user.user_id, ip, now).await?;
            Ok(Completed {
                user_id: user.user_id.clone(),
                session: Some(session),
                cookie: Some(cookie),
                auth_time: now,
                methods: vec![Method {
                    name: method.to_owned(),
                    timestamp: now,
                }],
            })
        }
        Proof::Grant(user)
        | Proof::OneTimeCode {
            user,
            browser: false,
            ..
        } => {
            let method = match proof {
                Proof::OneTimeCode { channel, .. } => channel,
                _ => PASSWORD,
            };
            store.record_login(&user.user_id, ip, now).await?;
            Ok(Completed {
                user_id: user.user_id.clone(),
                session: None,
                cookie: None,
                auth_time: now,
                methods: vec![Method {
                    name: method.to_owned(),
                    timestamp: now,
                }],
            })
        }
        Proof::Session { session } => {
            // Using the session extends its idle lifetime, never past its absolute end, and
            // never shortens it.
            let idle = store
                .tenant_settings()
                .await?
                .map_or(0, |s| i64::from(s.idle_session_lifetime) * 3600);
            let idle_expires_at =
                UnixTime((now.0 + idle).min(session.expires_at.0)).max(session.idle_expires_at);
            store
                .touch_session(&session.id, now, idle_expires_at, Some(context.client_id))
                .await?;
            let mut session = session.clone();
            session.last_seen_at = now;
            session.idle_expires_at = idle_expires_at;
            if !session.clients.contains(context.client_id) {
                session.clients.push(context.client_id.clone());
            }
            Ok(Completed {
                user_id: session.user_id.clone(),
                auth_time: session.authenticated_at,
                methods: session_methods(store, &session).await?,
                session: Some(session),
                cookie: None,
            })
        }
        Proof::Refresh { user, auth_time } => Ok(Completed {
            user_id: user.user_id.clone(),
            session: None,
            cookie: None,
            auth_time: auth_time.unwrap_or(now),
            // A refresh token keeps no method: a federated user logs in only through their
            // provider, a passwordless one with a code, anyone else with a password.
            methods: auth_time
                .map(|timestamp| Method {
                    name: only_method(user).to_owned(),
                    timestamp,
                })
                .into_iter()
                .collect(),
        }),
    }
}

/// How the user of `session` authenticated, oldest first: how it started (a password, or
/// another identity provider), then what post-login Actions recorded in it.
pub async fn session_methods(
    store: &impl Store,
    session: &Session,
) -> Result<Vec<Method>, StoreError> {
    let recorded = store.session_methods(&session.id).await?;
    let mut methods = vec![Method {
        name: session.method.clone(),
        timestamp: session.authenticated_at,
    }];
    methods.extend(
        recorded
            .into_iter()
            .map(|(name, timestamp)| Method { name, timestamp }),
    );
    Ok(methods)
}

/// Auth0's method names: a password, another identity provider.
const PASSWORD: &str = "pwd";
const FEDERATED: &str = "federated";

/// The one way `user`'s connection lets them log in: `federated` for another identity
/// provider's users, `email` or `sms` for a passwordless connection's, else `pwd`.
fn only_method(user: &User) -> &'static str {
    if user.is_federated() {
        return FEDERATED;
    }
    match user
        .identities
        .first()
        .and_then(|i| crate::model::Strategy::parse(&i.provider))
    {
        Some(strategy) if strategy.is_passwordless() => strategy.as_str(),
        _ => PASSWORD,
    }
}
