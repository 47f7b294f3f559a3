//! Tenant log events for logins and token exchanges, as Auth0 writes them (`s`, `fp`, `fu`,
//! `f`, `ssa`, `fsa`, `fs`, and `seccft`/`feccft`, `seacft`/`feacft`, `sepft`/`fepft`,
//! `sertft`/`fertft`): which type code each outcome is logged as, and what the event carries.
//! The server hands them to an [`Events`] sink, which writes them off the request's path.

use crate::UnixTime;
use crate::accounts::LoginRefusal;
use crate::ids::{ClientId, UserId};
use crate::model::{Client, LogType, NewLogEvent, Strategy, User};
use crate::oauth::{FlowError, TokenResponse};

/// Where events go: queued and written in batches by the server, so that no login waits for
/// its event. An event that cannot be queued is dropped and counted, never waited for.
pub trait Events: Send + Sync {
    /// Queues `event`.
    fn emit(&self, event: NewLogEvent);
}

/// What an event says about the request it records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The client's address.
    pub ip: Option<String>,
    /// Its `User-Agent`.
    pub user_agent: Option<String>,
    /// The host the request was for.
    pub hostname: Option<String>,
    /// The language the caller prefers most (`Accept-Language`'s primary tag), for the
    /// Actions' `event.request.language`.
    pub language: Option<String>,
    /// Where the address is, in Auth0's names (`countryCode`, `cityName`, …), for the Actions'
    /// `event.request.geoip`; empty without a GeoIP database or for an address it lacks.
    pub geoip: crate::model::JsonObject,
    /// The user this browser was remembered for after a second factor, when its signed
    /// cookie checks out (`crate::mfa::remember`).
    pub remembered: Option<crate::mfa::remember::RememberedBrowser>,
}

impl Origin {
    /// `event`, from where this request came.
    pub fn stamp(&self, event: NewLogEvent) -> NewLogEvent {
        NewLogEvent {
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            hostname: self.hostname.clone(),
            ..event
        }
    }
}

/// The token exchanges, each logged with its own pair of type codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exchange {
    /// `authorization_code`: `seacft` / `feacft`.
    AuthorizationCode,
    /// `client_credentials`: `seccft` / `feccft`.
    ClientCredentials,
    /// `password` and Auth0's `password-realm`: `sepft` / `fepft`.
    Password,
    /// `refresh_token`: `sertft` / `fertft`.
    RefreshToken,
    /// Auth0's `passwordless/otp`: `s` / `fepotpft`.
    PasswordlessOtp,
    /// Auth0's `mfa-otp`: `seotpft` / `feotpft`.
    MfaOtp,
    /// Auth0's `mfa-oob`: `seoobft` / `feoobft`.
    MfaOob,
    /// Auth0's `mfa-recovery-code`: `sercft` / `fercft`.
    MfaRecoveryCode,
}

impl Exchange {
    /// The grant's name, as metrics label it.
    pub fn grant_type(self) -> &'static str {
        match self {
            Exchange::AuthorizationCode => "authorization_code",
            Exchange::ClientCredentials => "client_credentials",
            Exchange::Password => "password",
            Exchange::RefreshToken => "refresh_token",
            Exchange::PasswordlessOtp => "passwordless_otp",
            Exchange::MfaOtp => "mfa_otp",
            Exchange::MfaOob => "mfa_oob",
            Exchange::MfaRecoveryCode => "mfa_recovery_code",
        }
    }

    fn log_type(self, success: bool) -> &'static str {
        match (self, success) {
            (Exchange::AuthorizationCode, true) => LogType::SUCCESS_EXCHANGE_CODE,
            (Exchange::AuthorizationCode, false) => LogType::FAILED_EXCHANGE_CODE,
            (Exchange::ClientCredentials, true) => LogType::SUCCESS_EXCHANGE_CLIENT_CREDENTIALS,
            (Exchange::ClientCredentials, false) => LogType::FAILED_EXCHANGE_CLIENT_CREDENTIALS,
            (Exchange::Password, true) => LogType::SUCCESS_EXCHANGE_PASSWORD,
            (Exchange::Password, false) => LogType::FAILED_EXCHANGE_PASSWORD,
            (Exchange::RefreshToken, true) => LogType::SUCCESS_EXCHANGE_REFRESH,
            (Exchange::RefreshToken, false) => LogType::FAILED_EXCHANGE_REFRESH,
            (Exchange::PasswordlessOtp, true) => LogType::SUCCESS_LOGIN,
            (Exchange::PasswordlessOtp, false) => LogType::FAILED_EXCHANGE_PASSWORDLESS_OTP,
            (Exchange::MfaOtp, true) => LogType::SUCCESS_EXCHANGE_MFA_OTP,
            (Exchange::MfaOtp, false) => LogType::FAILED_EXCHANGE_MFA_OTP,
            (Exchange::MfaOob, true) => LogType::SUCCESS_EXCHANGE_MFA_OOB,
            (Exchange::MfaOob, false) => LogType::FAILED_EXCHANGE_MFA_OOB,
            (Exchange::MfaRecoveryCode, true) => LogType::SUCCESS_EXCHANGE_MFA_RECOVERY_CODE,
            (Exchange::MfaRecoveryCode, false) => LogType::FAILED_EXCHANGE_MFA_RECOVERY_CODE,
        }
    }
}

/// A success event's `details`: Auth0's link to the Actions' executions that shaped it.
fn executions_details(executions: &[String]) -> serde_json::Map<String, serde_json::Value> {
    let mut details = serde_json::Map::new();
    if !executions.is_empty() {
        details.insert(
            "actions".to_owned(),
            serde_json::json!({ "executions": executions }),
        );
    }
    details
}

/// A database connection's strategy and its kind, as Auth0 logs them.
fn database_strategy(event: NewLogEvent) -> NewLogEvent {
    with_strategy(Strategy::Auth0, event)
}

fn with_strategy(strategy: Strategy, event: NewLogEvent) -> NewLogEvent {
    NewLogEvent {
        strategy: Some(strategy.as_str().to_owned()),
        strategy_type: Some(strategy.kind().as_str().to_owned()),
        ..event
    }
}

/// The strategy of the connection `user` belongs to (its own identity's provider).
fn strategy_of(user: &User) -> Strategy {
    user.identities
        .first()
        .and_then(|i| Strategy::parse(&i.provider))
        .unwrap_or(Strategy::Auth0)
}

/// The event of a token request of `kind` by `client` (as it named itself), answered with
/// `outcome`; `None` when the flow already wrote its own (a reused refresh token's `ferrt`).
pub fn exchange(
    kind: Exchange,
    outcome: Result<&TokenResponse, &FlowError>,
    client: Option<&ClientId>,
    now: UnixTime,
    origin: &Origin,
) -> Option<NewLogEvent> {
    let event = match outcome {
        Ok(answer) => {
            let issued = &answer.issued;
            let event = NewLogEvent {
                client_id: client.cloned(),
                client_name: issued.client_name.clone(),
                user_id: issued.user_id.clone(),
                user_name: issued.user_name.clone(),
                connection: issued.connection.clone(),
                connection_id: issued.connection_id.clone(),
                audience: issued.audience.clone(),
                scope: answer.scope.clone(),
                details: executions_details(&issued.executions),
                ..NewLogEvent::new(kind.log_type(true), now)
            };
            if issued.connection_id.is_some() {
                with_strategy(issued.strategy.unwrap_or(Strategy::Auth0), event)
            } else {
                event
            }
        }
        Err(FlowError::OAuth(e)) => {
            let (log_type, user_id) = match &e.log {
                Some(hint) if hint.recorded => return None,
                Some(hint) => (hint.log_type, hint.user_id.clone()),
                None => (kind.log_type(false), None),
            };
            NewLogEvent {
                description: Some(e.description.clone()),
                client_id: client.cloned(),
                user_id,
                ..NewLogEvent::new(log_type, now)
            }
        }
        Err(e @ (FlowError::Store(_) | FlowError::Sign(_) | FlowError::Busy(_))) => NewLogEvent {
            description: Some(match e {
                FlowError::Busy(_) => "the server was too busy to answer".to_owned(),
                _ => "the server failed".to_owned(),
            }),
            client_id: client.cloned(),
            ..NewLogEvent::new(kind.log_type(false), now)
        },
    };
    Some(origin.stamp(event))
}

/// The application and connection a login on the hosted pages was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginContext<'a> {
    /// The application.
    pub client_id: &'a ClientId,
    /// Its name, when known.
    pub client_name: Option<&'a str>,
    /// The database connection asked for, by name (the tenant's default when `None`).
    pub connection: Option<&'a str>,
}

impl LoginContext<'_> {
    fn event(&self, log_type: &str, now: UnixTime, origin: &Origin) -> NewLogEvent {
        origin.stamp(database_strategy(NewLogEvent {
            client_id: Some(self.client_id.clone()),
            client_name: self.client_name.map(str::to_owned),
            connection: self.connection.map(str::to_owned),
            ..NewLogEvent::new(log_type, now)
        }))
    }
}

fn user_name(user: &User) -> Option<String> {
    user.email
        .clone()
        .or_else(|| user.username.clone())
        .or_else(|| user.name.clone())
}

/// A login answered to `client` (`s`, or `ssa` for silent authentication, `prompt=none`),
/// however `user` authenticated (a password or a signup on the hosted page, the SSO session),
/// once the steps after the login have run: it names the post-login Actions' `executions`.
pub fn login_answered(
    client: &Client,
    user: &User,
    silent: bool,
    executions: &[String],
    now: UnixTime,
) -> NewLogEvent {
    let log_type = if silent {
        LogType::SUCCESS_SILENT_AUTH
    } else {
        LogType::SUCCESS_LOGIN
    };
    with_strategy(
        strategy_of(user),
        NewLogEvent {
            client_id: Some(client.client_id.clone()),
            client_name: Some(client.name.clone()),
            user_id: Some(user.user_id.clone()),
            user_name: user_name(user),
            connection: user.identities.first().map(|i| i.connection.clone()),
            connection_id: Some(user.connection_id.to_string()),
            details: executions_details(executions),
            ..NewLogEvent::new(log_type, now)
        },
    )
}

/// A login that the steps after the user's authentication refused (an Action's deny, a
/// declined consent, a page `prompt=none` cannot show): `f`, or `fsa` for `prompt=none`, with
/// the reason the application was given.
pub fn login_stopped(
    client: &ClientId,
    user: &UserId,
    silent: bool,
    why: &str,
    now: UnixTime,
    origin: &Origin,
) -> NewLogEvent {
    let log_type = if silent {
        LogType::FAILED_SILENT_AUTH
    } else {
        LogType::FAILED_LOGIN
    };
    origin.stamp(NewLogEvent {
        client_id: Some(client.clone()),
        user_id: Some(user.clone()),
        description: Some(why.to_owned()),
        ..NewLogEvent::new(log_type, now)
    })
}

/// A refused login on the hosted page: `fu` (no such user), `fp` (wrong password) or `f`
/// (blocked); `typed` is the name the user typed.
pub fn login_refused(
    context: &LoginContext<'_>,
    refusal: &LoginRefusal,
    typed: &str,
    now: UnixTime,
    origin: &Origin,
) -> NewLogEvent {
    let hint = refusal.log_hint();
    NewLogEvent {
        description: Some(refusal.message().to_owned()),
        user_id: hint.user_id,
        user_name: Some(typed.to_owned()),
        ..context.event(hint.log_type, now, origin)
    }
}

/// Silent authentication (`prompt=none`) that no SSO session could answer: `fsa`, with the
/// reason the application was given.
pub fn silent_refused(
    context: &LoginContext<'_>,
    why: &str,
    now: UnixTime,
    origin: &Origin,
) -> NewLogEvent {
    NewLogEvent {
        description: Some(why.to_owned()),
        ..context.event(LogType::FAILED_SILENT_AUTH, now, origin)
    }
}

/// A user made by their first login through another identity provider (`ss`, as Auth0 logs
/// it beside the login's `s`).
pub fn federated_signup(
    client: &ClientId,
    user: &User,
    connection: &crate::model::Connection,
    now: UnixTime,
    origin: &Origin,
) -> NewLogEvent {
    origin.stamp(with_strategy(
        connection.strategy,
        NewLogEvent {
            client_id: Some(client.clone()),
            user_id: Some(user.user_id.clone()),
            user_name: user_name(user),
            connection: Some(connection.name.clone()),
            connection_id: Some(connection.id.to_string()),
            ..NewLogEvent::new(LogType::SUCCESS_SIGNUP, now)
        },
    ))
}

/// A login through another identity provider that Sigil refused (`f`): the provider refused
/// it, or its answer could not be used; `why` is what the application was told.
pub fn federated_refused(
    client: &ClientId,
    connection: &crate::model::Connection,
    why: &str,
    now: UnixTime,
    origin: &Origin,
) -> NewLogEvent {
    origin.stamp(with_strategy(
        connection.strategy,
        NewLogEvent {
            client_id: Some(client.clone()),
            connection: Some(connection.name.clone()),
            connection_id: Some(connection.id.to_string()),
            description: Some(why.to_owned()),
            ..NewLogEvent::new(LogType::FAILED_LOGIN, now)
        },
    ))
}

/// A refused signup (`fs`), with the reason the user was given.
pub fn signup_refused(
    context: &LoginContext<'_>,
    email: &str,
    why: &str,
    now: UnixTime,
    origin: &Origin,
) -> NewLogEvent {
    NewLogEvent {
        description: Some(why.to_owned()),
        user_name: Some(email.to_owned()),
        ..context.event(LogType::FAILED_SIGNUP, now, origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::{ErrorCode, Issued, OAuthError};

    fn answer() -> TokenResponse {
        TokenResponse {
            access_token: "at".to_owned(),
            token_type: "Bearer",
            expires_in: 60,
            scope: Some("read:a".to_owned()),
            id_token: None,
            refresh_token: None,
            recovery_code: None,
            issued: Issued {
                client_name: Some("App".to_owned()),
                audience: Some("https://api/".to_owned()),
                ..Issued::default()
            },
        }
    }

    #[test]
    fn each_exchange_is_logged_with_its_own_codes() {
        let client = ClientId("c1".to_owned());
        let origin = Origin {
            ip: Some("192.0.2.1".to_owned()),
            ..Origin::default()
        };
        let refused: FlowError = OAuthError::new(ErrorCode::InvalidGrant, "no").into();
        let cases = [
            (Exchange::ClientCredentials, true, "seccft"),
            (Exchange::ClientCredentials, false, "feccft"),
            (Exchange::AuthorizationCode, true, "seacft"),
            (Exchange::AuthorizationCode, false, "feacft"),
            (Exchange::Password, true, "sepft"),
            (Exchange::Password, false, "fepft"),
            (Exchange::RefreshToken, true, "sertft"),
            (Exchange::RefreshToken, false, "fertft"),
        ];
        let ok = answer();
        for (kind, success, code) in cases {
            let outcome = if success { Ok(&ok) } else { Err(&refused) };
            let event = exchange(kind, outcome, Some(&client), UnixTime(10), &origin).unwrap();
            assert_eq!(event.log_type.as_ref().unwrap().as_str(), code);
            assert_eq!(event.ip.as_deref(), Some("192.0.2.1"));
            assert_eq!(event.date_ms, 10_000);
            if success {
                assert_eq!(event.audience.as_deref(), Some("https://api/"));
                assert_eq!(event.scope.as_deref(), Some("read:a"));
            } else {
                assert_eq!(event.description.as_deref(), Some("no"));
            }
        }
    }

    #[test]
    fn a_refused_password_says_which_credential_was_wrong_and_a_recorded_one_is_not_repeated() {
        let user = UserId("auth0|1".to_owned());
        for (refusal, code) in [
            (LoginRefusal::UnknownUser, "fu"),
            (LoginRefusal::WrongPassword(user.clone()), "fp"),
            (LoginRefusal::Blocked(user.clone()), "f"),
        ] {
            let error = refusal.into_flow_error();
            let event = exchange(
                Exchange::Password,
                Err(&error),
                None,
                UnixTime(0),
                &Origin::default(),
            )
            .unwrap();
            assert_eq!(event.log_type.unwrap().as_str(), code);
        }
        let recorded: FlowError = OAuthError::new(ErrorCode::InvalidGrant, "reused")
            .logged_as(crate::oauth::LogHint {
                log_type: LogType::FAILED_REFRESH_REUSE,
                user_id: None,
                recorded: true,
            })
            .into();
        assert_eq!(
            exchange(
                Exchange::RefreshToken,
                Err(&recorded),
                None,
                UnixTime(0),
                &Origin::default()
            ),
            None
        );
    }
}
