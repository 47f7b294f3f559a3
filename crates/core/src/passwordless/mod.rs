//! Passwordless login (Auth0's `email` and `sms` connections): a one-time code, or for email a
//! magic link carrying it, sent to the user; entering it (the `passwordless/otp` grant, the
//! hosted code page) or following the link logs the user in, making the account at the first
//! login unless the connection's `disable_signup` says otherwise.
//!
//! The rules, as Auth0's:
//! - only the latest code of a recipient works: a new start replaces it;
//! - a code works once, for the connection's `totp.time_step` (3 minutes by default), and only
//!   for the application that asked for it;
//! - [`MAX_ATTEMPTS`] wrong tries end it: each try is reserved in one SQL statement before the
//!   code is compared, so racing guesses get no more between them;
//! - a start costs one of [`START_LIMIT`] per hour per address;
//! - a blocked user is sent nothing (the answer is the same, so it tells no one).
//!
//! Codes are kept as HMAC-SHA256 digests under a key derived from the master key ([`CodeKey`]):
//! a 6-digit code has too few values for a plain hash to hide it from whoever reads the
//! database.
//!
//! - [`settings`]: the connection's `options` checked, and read as what a login needs.

pub mod settings;

use std::future::Future;

use aws_lc_rs::{constant_time, hmac};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

pub use settings::{
    EmailMessage, GatewayAuth, Message, PasswordlessSettings, SmsMessage, SmsProvider,
};

use crate::attack_protection::brute_force;
use crate::connections::{self, Unusable};
use crate::email_templates::{Letter, Template};
use crate::events::Origin;
use crate::federation::Policy;
use crate::ids::{ClientId, ConnectionId, UserId};
use crate::model::outbox::SMS_KIND;
use crate::model::{
    Client, Connection, JsonObject, LogType, NewLogEvent, OutgoingEmail, PasswordlessCode,
    Strategy, TemplateName, User,
};
use crate::oauth::{ClientAuth, ErrorCode, FlowError, LogHint, OAuthError, authenticate};
use crate::rate_limit::RateLimit;
use crate::{Conflict, Rng, Store, StoreError, UnixTime};

/// Wrong tries that end a code (Auth0's 3).
pub const MAX_ATTEMPTS: u32 = 3;

/// Starts per hour from one address (Auth0's 50).
pub const START_LIMIT: RateLimit = RateLimit::per_hour(50, 50);

/// The key codes are digested under; every node derives the same one from the master key.
pub struct CodeKey(hmac::Key);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey([redacted])")
    }
}

impl CodeKey {
    /// The key from 32 secret bytes.
    pub fn new(bytes: &Zeroizing<[u8; 32]>) -> Self {
        CodeKey(hmac::Key::new(hmac::HMAC_SHA256, bytes.as_ref()))
    }

    /// The digest of `code` sent by `connection` to `recipient`: bound to both, so a digest
    /// cannot be moved to another recipient.
    fn digest(&self, connection: &ConnectionId, recipient: &str, code: &str) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.0);
        for part in [connection.as_str(), recipient, code] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part.as_bytes());
        }
        let tag = context.sign();
        let mut digest = [0u8; 32];
        digest.copy_from_slice(tag.as_ref());
        digest
    }
}

/// Whether a code or a magic link is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Send {
    /// A code to enter.
    Code,
    /// A link that logs in (email only).
    Link,
}

/// Who a code goes to: an address (`email` connections) or a phone number (`sms`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// An email address, in lower case.
    Email(String),
    /// A phone number in E.164 form.
    Phone(String),
}

impl Recipient {
    /// The form codes are filed under.
    pub fn key(&self) -> &str {
        match self {
            Recipient::Email(address) | Recipient::Phone(address) => address,
        }
    }

    /// `email` or `sms`: the channel, and the login's method.
    pub fn channel(&self) -> &'static str {
        match self {
            Recipient::Email(_) => "email",
            Recipient::Phone(_) => "sms",
        }
    }

    /// The recipient a passwordless `strategy` connection takes `username` as, or the error
    /// Auth0 gives (`bad.email`, `bad.phone_number`).
    pub fn parse(strategy: Strategy, username: &str) -> Result<Self, OAuthError> {
        let username = username.trim();
        match strategy {
            Strategy::Sms => {
                if is_e164(username) {
                    Ok(Recipient::Phone(username.to_owned()))
                } else {
                    Err(OAuthError::new(
                        ErrorCode::BadPhoneNumber,
                        "phone_number must be in E.164 format, such as +14155550123",
                    ))
                }
            }
            _ => {
                if crate::model::user::plausible_email(username) {
                    Ok(Recipient::Email(crate::model::user::normalized(username)))
                } else {
                    Err(OAuthError::new(
                        ErrorCode::BadEmail,
                        "email must be an email address",
                    ))
                }
            }
        }
    }
}

/// Auth0's pattern for phone numbers: `+` and 1 to 15 digits.
fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// An SMS to send.
#[derive(Debug)]
pub struct Sms<'a> {
    /// The phone number.
    pub to: &'a str,
    /// The text.
    pub body: &'a str,
    /// The sender the connection names.
    pub from: Option<&'a str>,
    /// The end user's request (`forward_req_info`).
    pub origin: &'a Origin,
}

/// Why an SMS was not sent, as Auth0 words it to the application.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The provider answered with a status other than success.
    #[error("Unexpected response while calling the SMS gateway: {0}")]
    Status(u16),
    /// The provider refused Sigil's credentials.
    #[error("Authentication failed while calling the SMS gateway: {0}")]
    Authentication(u16),
    /// The provider could not be reached in time.
    #[error("Unexpected response while calling the SMS gateway: unreachable")]
    Unreachable,
}

/// Sends SMS through a connection's provider (the server's HTTP client).
pub trait SmsSender: std::marker::Send + Sync {
    /// Sends `sms` through `provider` (never [`SmsProvider::Outbox`]).
    fn send_sms(
        &self,
        provider: &SmsProvider,
        sms: &Sms<'_>,
    ) -> impl Future<Output = Result<(), SmsError>> + std::marker::Send;
}

/// A `/passwordless/start` request, parsed.
#[derive(Debug)]
pub struct StartRequest {
    /// How the application authenticated (its id alone for a public one).
    pub auth: ClientAuth,
    /// The connection's name.
    pub connection: String,
    /// `email`.
    pub email: Option<String>,
    /// `phone_number`.
    pub phone_number: Option<String>,
    /// `send`: `code` or `link`; `None` is Auth0's default (`link` by email, `code` by SMS).
    pub send: Option<String>,
    /// `authParams`: the magic link's parameters.
    pub auth_params: Option<Value>,
    /// Where the request came from.
    pub origin: Origin,
}

/// What a start did.
#[derive(Debug)]
pub struct Started {
    /// Auth0's `_id` of the request.
    pub id: String,
    /// To whom.
    pub recipient: Recipient,
    /// The connection.
    pub connection: Connection,
    /// The event to log (`cls` or `cs`), when something was sent.
    pub event: Option<NewLogEvent>,
}

fn refuse(code: ErrorCode, description: impl Into<String>) -> FlowError {
    OAuthError::new(code, description).into()
}

/// The passwordless connection `name`, when `client` may use it; else Auth0's `bad.connection`.
pub async fn connection_for(
    store: &impl Store,
    client: &ClientId,
    name: &str,
    code: ErrorCode,
) -> Result<Connection, FlowError> {
    let connection = match connections::usable_by(store, client, name).await? {
        Ok(connection) => connection,
        Err(Unusable::Unknown) => return Err(refuse(code, "Connection does not exist")),
        Err(Unusable::Disabled) => return Err(refuse(code, "Connection is disabled")),
    };
    if !connection.strategy.is_passwordless() {
        return Err(refuse(
            code,
            "Invalid connection strategy. It must either be a passwordless connection",
        ));
    }
    Ok(connection)
}

/// The settings of a passwordless `connection` (checked when it was saved).
pub fn settings_of(
    connection: &Connection,
    policy: &Policy,
) -> Result<PasswordlessSettings, FlowError> {
    let upstream = connection.upstream.clone().unwrap_or_default();
    PasswordlessSettings::of(connection.strategy, &upstream, policy).map_err(|e| {
        tracing::error!(connection = %connection.name, error = %e, "a passwordless connection's stored options do not hold");
        FlowError::Store(StoreError::Corrupt {
            what: "connection options",
            why: e.to_string(),
        })
    })
}

/// The magic link's parameters: `authParams` (an object of strings) over the connection's.
fn link_params(
    given: Option<Value>,
    defaults: &JsonObject,
) -> Result<Vec<(String, String)>, FlowError> {
    let given = match given {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(refuse(
                ErrorCode::BadAuthParams,
                "authParams must be an object",
            ));
        }
    };
    let mut merged = defaults.clone();
    merged.extend(given);
    merged
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, b.to_string())),
            _ => Err(refuse(
                ErrorCode::BadAuthParams,
                format!("authParams.{k} must be a string"),
            )),
        })
        .collect()
}

/// `/passwordless/start`: the application authenticated, the connection usable by it and
/// passwordless, the recipient well formed, `send` and `authParams` as Auth0 takes them; then
/// [`send_code`].
#[allow(clippy::too_many_arguments)] // The flow's inputs; grouping them would only rename them.
pub async fn start(
    store: &impl Store,
    sms: &impl SmsSender,
    rng: &dyn Rng,
    key: &CodeKey,
    policy: &Policy,
    issuer: &str,
    now: UnixTime,
    request: StartRequest,
) -> Result<Started, FlowError> {
    let client = authenticate(store, &request.auth, issuer, now).await?;
    let connection = connection_for(
        store,
        &client.client_id,
        &request.connection,
        ErrorCode::BadConnection,
    )
    .await?;
    let settings = settings_of(&connection, policy)?;
    let recipient = match connection.strategy {
        Strategy::Sms => Recipient::parse(
            Strategy::Sms,
            request.phone_number.as_deref().unwrap_or_default(),
        )?,
        _ => Recipient::parse(
            Strategy::Email,
            request.email.as_deref().unwrap_or_default(),
        )?,
    };
    let by_sms = connection.strategy == Strategy::Sms;
    let send = match (request.send.as_deref(), by_sms) {
        (Some("code"), _) | (None, true) => Send::Code,
        (Some("link") | None, false) => Send::Link,
        (Some("link"), true) => {
            return Err(refuse(
                ErrorCode::BadRequest,
                "send must be code: an SMS connection sends codes only",
            ));
        }
        (Some(other), _) => {
            return Err(refuse(
                ErrorCode::BadRequest,
                format!("send must be code or link, not {other}"),
            ));
        }
    };
    let params = match send {
        Send::Link => link_params(request.auth_params, &settings.auth_params)?,
        Send::Code => Vec::new(),
    };
    let code = CodeToSend {
        client: &client,
        connection: &connection,
        settings: &settings,
        recipient,
        send,
        link_params: params,
        origin: &request.origin,
    };
    send_code(store, sms, rng, key, issuer, now, code).await
}

/// A code (or link) about to be sent: to whom, for which application, through which
/// connection.
#[derive(Debug)]
pub struct CodeToSend<'a> {
    /// The application asking (only it may use the code).
    pub client: &'a Client,
    /// The passwordless connection.
    pub connection: &'a Connection,
    /// Its settings.
    pub settings: &'a PasswordlessSettings,
    /// To whom.
    pub recipient: Recipient,
    /// A code, or a magic link.
    pub send: Send,
    /// A magic link's parameters (`/authorize`'s).
    pub link_params: Vec<(String, String)>,
    /// The end user's request.
    pub origin: &'a Origin,
}

/// Sends a code (or a magic link), from `/passwordless/start` or the hosted login page: the
/// address under its hourly limit; nothing for a blocked user; refused for a stranger when the
/// connection's `disable_signup` is on; the code stored (replacing the last), then mailed,
/// kept in the outbox, or sent through the SMS provider, whose refusal is Auth0's
/// `sms_provider_error`.
pub async fn send_code(
    store: &impl Store,
    sms: &impl SmsSender,
    rng: &dyn Rng,
    key: &CodeKey,
    issuer: &str,
    now: UnixTime,
    request: CodeToSend<'_>,
) -> Result<Started, FlowError> {
    let CodeToSend {
        client,
        connection,
        settings,
        recipient,
        send,
        link_params: params,
        origin,
    } = request;
    if let Some(ip) = &origin.ip {
        let taken = store
            .take_rate_limit(
                &format!("passwordless_start:{ip}"),
                START_LIMIT,
                now.0.saturating_mul(1000),
            )
            .await?;
        if !taken.allowed {
            return Err(refuse(
                ErrorCode::TooManyRequests,
                "Too many requests: at most 50 codes or links an hour from one address",
            ));
        }
    }
    let existing = find_user(store, connection, &recipient).await?;
    if existing.is_none() && settings.disable_signup {
        return Err(refuse(
            ErrorCode::BadRequest,
            "Public signup is disabled: there is no user with this address in the connection",
        ));
    }
    let id = crate::ids::hex(rng, 12);
    let started = |event| Started {
        id: id.clone(),
        recipient: recipient.clone(),
        connection: connection.clone(),
        event,
    };
    if existing.as_ref().is_some_and(|u| u.blocked) {
        // Nothing is sent to a blocked user; the answer does not say so.
        return Ok(started(None));
    }
    let code = crate::ids::digits(rng, settings.code_length);
    store
        .put_passwordless_code(&PasswordlessCode {
            connection_id: connection.id.clone(),
            recipient: recipient.key().to_owned(),
            digest: key.digest(&connection.id, recipient.key(), &code),
            client_id: client.client_id.clone(),
            attempts: 0,
            created_at: now,
            expires_at: UnixTime(now.0 + settings.lifetime),
        })
        .await?;
    let link = (send == Send::Link)
        .then(|| magic_link(issuer, client, connection, &recipient, &code, &params));
    let tenant = store.tenant_settings().await?.unwrap_or_default();
    let letter_user = letter_user(connection, &recipient, existing.as_ref(), now);
    let letter = Letter {
        user: &letter_user,
        tenant: &tenant,
        application: Some(client),
        connection: Some(&connection.name),
        url: link.as_deref(),
        code: Some(&code),
        lifetime: Some(settings.lifetime),
    };
    match &settings.message {
        Message::Email(own) => {
            let template = if own.body.is_some() {
                Template::passwordless(own)
            } else {
                match Template::for_mail(store, TemplateName::AuthEmailByCode).await? {
                    Some(tenants) if own.from.is_none() && own.subject.is_none() => tenants,
                    _ => Template::passwordless(own),
                }
            };
            let kind = match send {
                Send::Code => "passwordless_code",
                Send::Link => "passwordless_link",
            };
            store
                .queue_email(&template.compose(&letter, recipient.key(), kind, now))
                .await?;
        }
        Message::Sms(message) => {
            let body = sms_text(message, &letter, &code);
            match &message.provider {
                SmsProvider::Outbox => {
                    store
                        .queue_email(&OutgoingEmail {
                            to: recipient.key().to_owned(),
                            subject: String::new(),
                            body: body.to_string(),
                            html: None,
                            from: message.from.clone(),
                            kind: SMS_KIND.to_owned(),
                            created_at: now,
                        })
                        .await?;
                }
                provider => {
                    let sent = sms
                        .send_sms(
                            provider,
                            &Sms {
                                to: recipient.key(),
                                body: &body,
                                from: message.from.as_deref(),
                                origin,
                            },
                        )
                        .await;
                    // The sender logged why, once.
                    if let Err(e) = sent {
                        return Err(refuse(ErrorCode::SmsProviderError, e.to_string()));
                    }
                }
            }
        }
    }
    let log_type = match send {
        Send::Link => LogType::CODE_LINK_SENT,
        Send::Code => LogType::CODE_SENT,
    };
    let event = origin.stamp(NewLogEvent {
        client_id: Some(client.client_id.clone()),
        client_name: Some(client.name.clone()),
        connection: Some(connection.name.clone()),
        connection_id: Some(connection.id.to_string()),
        strategy: Some(connection.strategy.as_str().to_owned()),
        strategy_type: Some(connection.strategy.kind().as_str().to_owned()),
        user_id: existing.as_ref().map(|u| u.user_id.clone()),
        user_name: Some(recipient.key().to_owned()),
        description: Some(match send {
            Send::Link => "a login link was sent".to_owned(),
            Send::Code => "a login code was sent".to_owned(),
        }),
        ..NewLogEvent::new(log_type, now)
    });
    Ok(started(Some(event)))
}

/// The event of a code (or link) refused at a page: `f`, naming the connection and recipient.
pub fn refused_event(
    connection: &Connection,
    client: &ClientId,
    recipient: &Recipient,
    description: &str,
    origin: &Origin,
    now: UnixTime,
) -> NewLogEvent {
    origin.stamp(NewLogEvent {
        client_id: Some(client.clone()),
        connection: Some(connection.name.clone()),
        connection_id: Some(connection.id.to_string()),
        strategy: Some(connection.strategy.as_str().to_owned()),
        strategy_type: Some(connection.strategy.kind().as_str().to_owned()),
        user_name: Some(recipient.key().to_owned()),
        description: Some(description.to_owned()),
        ..NewLogEvent::new(LogType::FAILED_LOGIN, now)
    })
}

/// `/passwordless/verify_redirect?…`: the link that logs in with `code` as `/authorize` with
/// `params` would (auth0.js's form).
fn magic_link(
    issuer: &str,
    client: &Client,
    connection: &Connection,
    recipient: &Recipient,
    code: &str,
    params: &[(String, String)],
) -> String {
    let mut url = format!("{issuer}passwordless/verify_redirect?");
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_id", client.client_id.as_str())
        .append_pair("connection", &connection.name)
        .append_pair("email", recipient.key())
        .append_pair("verification_code", code);
    for (name, value) in params {
        if !matches!(
            name.as_str(),
            "client_id" | "connection" | "email" | "verification_code"
        ) {
            query.append_pair(name, value);
        }
    }
    url.push_str(&query.finish());
    url
}

/// The text of an SMS: the connection's template with the code (`@@password@@`, or Liquid's
/// `{{ code }}`); a Liquid template that fails falls back to Auth0's default text.
fn sms_text(message: &SmsMessage, letter: &Letter<'_>, code: &str) -> Zeroizing<String> {
    let text = if message.liquid {
        crate::email_templates::render_text(&message.template, letter).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the SMS template fails; Sigil's default text is used");
            settings::DEFAULT_SMS_TEMPLATE.replace("@@password@@", code)
        })
    } else {
        message.template.replace("@@password@@", code)
    };
    Zeroizing::new(text)
}

/// The user a mail or SMS is written to: the account when there is one, else who it will be
/// (Auth0 gives a passwordless template `user.email` only).
fn letter_user(
    connection: &Connection,
    recipient: &Recipient,
    existing: Option<&User>,
    now: UnixTime,
) -> User {
    existing
        .cloned()
        .unwrap_or_else(|| new_user(UserId::from("pending"), connection, recipient, now))
}

/// The user of `connection` that `recipient` is.
async fn find_user(
    store: &impl Store,
    connection: &Connection,
    recipient: &Recipient,
) -> Result<Option<User>, StoreError> {
    match recipient {
        Recipient::Email(address) => store.user_by_email(&connection.id, address).await,
        Recipient::Phone(number) => store.user_by_phone(&connection.id, number).await,
    }
}

/// A passwordless connection's new user: `email|<24 hex>` or `sms|<24 hex>`, the address or
/// number proven by the code that made it.
fn new_user(
    user_id: UserId,
    connection: &Connection,
    recipient: &Recipient,
    now: UnixTime,
) -> User {
    let user = User::first(user_id, connection, now);
    match recipient {
        Recipient::Email(address) => User {
            name: Some(address.clone()),
            nickname: Some(
                address
                    .split_once('@')
                    .map_or(address.as_str(), |(local, _)| local)
                    .to_owned(),
            ),
            email: Some(address.clone()),
            email_verified: true,
            ..user
        },
        Recipient::Phone(number) => User {
            name: Some(number.clone()),
            nickname: Some(number.clone()),
            phone_number: Some(number.clone()),
            phone_verified: true,
            mfa_enrolled_at: None,
            ..user
        },
    }
}

/// Why a code did not log anyone in. The application hears only Auth0's one sentence
/// ([`CodeRefusal::into_flow_error`]), whatever the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    /// No live code (never sent, expired, used, or out of tries), or not this one.
    Wrong,
    /// The user is blocked.
    Blocked(UserId),
    /// No user, and the connection makes none.
    NoSignup,
    /// Brute-force protection blocks this address or number (from this client address): the
    /// code was not checked.
    TooManyAttempts,
}

impl CodeRefusal {
    /// As the token endpoint answers it: 403 `invalid_grant`, logged as `fepotpft` (`f` for a
    /// blocked user).
    pub fn into_flow_error(self, recipient: &Recipient) -> FlowError {
        let mut code = ErrorCode::InvalidGrant;
        let (message, log_type, user_id) = match self {
            CodeRefusal::Wrong | CodeRefusal::NoSignup => (
                match recipient {
                    Recipient::Email(_) => "Wrong email or verification code.",
                    Recipient::Phone(_) => "Wrong phone number or verification code.",
                },
                LogType::FAILED_EXCHANGE_PASSWORDLESS_OTP,
                None,
            ),
            CodeRefusal::Blocked(user) => ("user is blocked", LogType::FAILED_LOGIN, Some(user)),
            CodeRefusal::TooManyAttempts => {
                code = ErrorCode::TooManyAttempts;
                (
                    brute_force::BLOCKED,
                    LogType::FAILED_EXCHANGE_PASSWORDLESS_OTP,
                    None,
                )
            }
        };
        OAuthError::new(code, message)
            .logged_as(LogHint {
                log_type,
                user_id,
                recorded: false,
            })
            .into()
    }
}

/// A code someone entered (or a magic link's): where, by whom, for whom.
#[derive(Clone, Copy, Debug)]
pub struct Entered<'a> {
    /// The passwordless connection.
    pub connection: &'a Connection,
    /// Its settings.
    pub settings: &'a PasswordlessSettings,
    /// The application it is entered at.
    pub client: &'a ClientId,
    /// Whose code it claims to be.
    pub recipient: &'a Recipient,
    /// The code.
    pub code: &'a str,
    /// The client's address, which brute-force protection counts failures under.
    pub ip: Option<&'a str>,
}

/// Whether `code` is the live code of `recipient` in `connection` for `client`: one of the
/// code's tries taken atomically, compared in constant time, and used up once.
async fn check_code(
    store: &impl Store,
    key: &CodeKey,
    connection: &Connection,
    client: &ClientId,
    recipient: &Recipient,
    code: &str,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let Some(stored) = store
        .try_passwordless_code(&connection.id, recipient.key(), now, MAX_ATTEMPTS)
        .await?
    else {
        return Ok(false);
    };
    let digest = key.digest(&connection.id, recipient.key(), code.trim());
    let matches = constant_time::verify_slices_are_equal(&digest, &stored.digest).is_ok();
    if !matches || &stored.client_id != client {
        return Ok(false);
    }
    // False when another request used it a moment ago.
    store
        .consume_passwordless_code(&connection.id, recipient.key(), &digest)
        .await
}

/// The user whose code `entered` is, once: the try reserved (on the code's own few tries and,
/// before anything, on brute-force protection's counter for the address or number and the
/// client's address, as a password's), the code compared in constant time and used up, the
/// account made at a first login (unless `disable_signup`), the address or number marked
/// proven. A linked account logs in as its primary user.
pub async fn redeem(
    store: &impl Store,
    rng: &dyn Rng,
    key: &CodeKey,
    entered: Entered<'_>,
    now: UnixTime,
) -> Result<Result<User, CodeRefusal>, StoreError> {
    let Entered {
        connection,
        settings,
        client,
        recipient,
        code,
        ip,
    } = entered;
    let protection = store
        .tenant_settings()
        .await?
        .unwrap_or_default()
        .brute_force;
    let gate =
        brute_force::reserve(store, &protection, &connection.id, recipient.key(), ip, now).await?;
    if gate == brute_force::Gate::Blocked {
        return Ok(Err(CodeRefusal::TooManyAttempts));
    }
    let checked = check_code(store, key, connection, client, recipient, code, now).await?;
    brute_force::settle(store, &protection, &gate, checked, now).await?;
    if !checked {
        return Ok(Err(CodeRefusal::Wrong));
    }
    let user = match find_user(store, connection, recipient).await? {
        Some(user) => user,
        None if settings.disable_signup => return Ok(Err(CodeRefusal::NoSignup)),
        None => {
            let id = UserId(format!(
                "{}|{}",
                connection.provider(),
                crate::ids::hex(rng, 12)
            ));
            let user = new_user(id, connection, recipient, now);
            match store.create_user(&user).await {
                Ok(()) => user,
                // A racing first login made it.
                Err(StoreError::Conflict(Conflict::Email | Conflict::PhoneNumber)) => {
                    match find_user(store, connection, recipient).await? {
                        Some(user) => user,
                        None => return Ok(Err(CodeRefusal::Wrong)),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    };
    let mut user = match user.linked_to.clone() {
        None => user,
        Some(primary) => match store.user(&primary).await? {
            Some(primary) => primary,
            None => return Ok(Err(CodeRefusal::Wrong)),
        },
    };
    if user.blocked {
        return Ok(Err(CodeRefusal::Blocked(user.user_id)));
    }
    // The code proved the address or number.
    let unproven = match recipient {
        Recipient::Email(address) => {
            !user.email_verified
                && user
                    .email
                    .as_deref()
                    .map(crate::model::user::normalized)
                    .as_deref()
                    == Some(address.as_str())
        }
        Recipient::Phone(number) => {
            !user.phone_verified && user.phone_number.as_deref() == Some(number.as_str())
        }
    };
    if unproven {
        match recipient {
            Recipient::Email(_) => user.email_verified = true,
            Recipient::Phone(_) => user.phone_verified = true,
        }
        user.updated_at = now;
        store.update_user(&user).await?;
    }
    Ok(Ok(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_checked_as_auth0_does() {
        for (strategy, given, want) in [
            (Strategy::Email, " Ann@Example.COM ", Ok("ann@example.com")),
            (Strategy::Email, "ann", Err("bad.email")),
            (Strategy::Email, "", Err("bad.email")),
            (Strategy::Sms, "+14155550123", Ok("+14155550123")),
            (Strategy::Sms, "14155550123", Err("bad.phone_number")),
            (Strategy::Sms, "+1 415 555", Err("bad.phone_number")),
            (Strategy::Sms, "+1234567890123456", Err("bad.phone_number")),
        ] {
            let got = Recipient::parse(strategy, given);
            match (got, want) {
                (Ok(r), Ok(key)) => assert_eq!(r.key(), key, "{given}"),
                (Err(e), Err(code)) => assert_eq!(e.code.as_str(), code, "{given}"),
                (got, want) => panic!("{given}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn codes_are_digits_of_the_length_asked_and_digests_bind_the_recipient() {
        let rng = crate::SystemRng;
        for length in [4, 6, 10] {
            let code = crate::ids::digits(&rng, length);
            assert_eq!(code.len(), length);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        let key = CodeKey::new(&Zeroizing::new([7u8; 32]));
        let connection = ConnectionId::from("con_1");
        let a = key.digest(&connection, "a@example.com", "123456");
        assert_eq!(a, key.digest(&connection, "a@example.com", "123456"));
        assert_ne!(a, key.digest(&connection, "b@example.com", "123456"));
        assert_ne!(
            a,
            key.digest(&ConnectionId::from("con_2"), "a@example.com", "123456")
        );
        // Lengths are part of the input: moving a character between parts changes it.
        assert_ne!(key.digest(&connection, "a@example.com1", "23456"), a);
    }

    #[test]
    fn link_parameters_lay_the_request_over_the_connection() {
        let mut defaults = JsonObject::new();
        defaults.insert("scope".into(), Value::from("openid"));
        defaults.insert("response_type".into(), Value::from("code"));
        let given = serde_json::json!({"scope": "openid email", "state": "s1"});
        let mut params = link_params(Some(given), &defaults).unwrap();
        params.sort();
        assert_eq!(
            params,
            [
                ("response_type".to_owned(), "code".to_owned()),
                ("scope".to_owned(), "openid email".to_owned()),
                ("state".to_owned(), "s1".to_owned()),
            ]
        );
        assert!(link_params(Some(Value::from("x")), &defaults).is_err());
        assert!(link_params(Some(serde_json::json!({"a": {}})), &defaults).is_err());
    }
}
