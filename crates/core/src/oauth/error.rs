//! OAuth errors: an RFC 6749 code and a sentence for the caller.

/// RFC 6749 §5.2 (and Auth0's) error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// A parameter is missing, repeated or malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, password) is invalid.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// The grant type is not one Sigil knows.
    UnsupportedGrantType,
    /// The requested scope is invalid.
    InvalidScope,
    /// The request was refused (no client grant for the API, unknown API).
    AccessDenied,
    /// `prompt=none` and the login needs the user at a page (OIDC Core §3.1.2.6): an
    /// Action's redirect.
    InteractionRequired,
    /// `prompt=none` and the login needs the user to log in: Auth0's answer when a second
    /// factor is needed (OIDC Core §3.1.2.6).
    LoginRequired,
    /// `prompt=none` and the user must first approve what the application asks (OIDC Core
    /// §3.1.2.6).
    ConsentRequired,
    /// Auth0's signup refusal (the user exists, signups are off).
    InvalidSignup,
    /// Auth0's answer to a password the connection's policy refuses.
    InvalidPassword,
    /// A token presented for inspection (`/tokeninfo`'s ID token) does not verify (RFC 6750
    /// §3.1's code).
    InvalidToken,
    /// The endpoint is switched off for this tenant (Auth0's legacy `/tokeninfo`).
    NotFound,
    /// Sigil failed; details are in the server log only.
    ServerError,
    /// The server is too busy to answer now (RFC 6749 §4.1.2.1's code, here for the token
    /// endpoint too): every password worker is taken. Answered 503 with `Retry-After`.
    TemporarilyUnavailable,
    /// Too many requests from this address: 429.
    TooManyRequests,
    /// `/passwordless/start`: no such connection, disabled, or not passwordless.
    BadConnection,
    /// `/passwordless/start`: the email is missing or not an address.
    BadEmail,
    /// `/passwordless/start`: the phone number is missing or not in E.164 form.
    BadPhoneNumber,
    /// `/passwordless/start`: `authParams` is not an object of strings.
    BadAuthParams,
    /// `/passwordless/start`: a property not allowed, or one of the wrong type.
    BadRequest,
    /// `/passwordless/start`: the SMS provider refused or could not be reached.
    SmsProviderError,
    /// Auth0's: the password grants' user must pass a second factor first; the answer carries
    /// the `mfa_token` (403).
    MfaRequired,
    /// Auth0's: the `mfa_token` has expired (403).
    ExpiredToken,
    /// Auth0's `/mfa/challenge`: the user has no factor to be challenged with (400).
    AssociationRequired,
    /// Auth0's `/mfa/challenge`: none of the user's factors is of the types asked for (400).
    UnsupportedChallengeType,
    /// Auth0's: the user's bucket of second-factor attempts is empty, or brute-force
    /// protection blocks the login (429).
    TooManyAttempts,
    /// Auth0's answer to an administrator-blocked user's right password (401).
    Unauthorized,
    /// Auth0's: the right password, found in a data breach, with breached-password
    /// detection's `block` shield (401).
    PasswordLeaked,
}

impl ErrorCode {
    /// The code on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InvalidSignup => "invalid_signup",
            ErrorCode::InvalidPassword => "invalid_password",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::NotFound => "not_found",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::BadConnection => "bad.connection",
            ErrorCode::BadEmail => "bad.email",
            ErrorCode::BadPhoneNumber => "bad.phone_number",
            ErrorCode::BadAuthParams => "bad.authParams",
            ErrorCode::BadRequest => "bad.request",
            ErrorCode::SmsProviderError => "sms_provider_error",
            ErrorCode::MfaRequired => "mfa_required",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::AssociationRequired => "association_required",
            ErrorCode::UnsupportedChallengeType => "unsupported_challenge_type",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::PasswordLeaked => "password_leaked",
            ErrorCode::Unauthorized => "unauthorized",
        }
    }
}

/// An OAuth error answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The code.
    pub code: ErrorCode,
    /// What was wrong, for the caller.
    pub description: String,
    /// Auth0's finer `name` beside the code, where Auth0 gives one (`PasswordStrengthError`,
    /// `PasswordDictionaryError` with `invalid_password`): SDKs and Lock tell refusals apart by it.
    pub name: Option<&'static str>,
    /// How the tenant log records this refusal, where not as its flow's own failure (a
    /// password grant's wrong password is `fp`, not `fepft`); never sent.
    pub log: Option<LogHint>,
    /// Why, as the tenant log says it where that is not what the caller is told (the reason of
    /// an Action's deny, beside its message for the user); never sent.
    pub reason: Option<Box<str>>,
    /// Members sent beside `error` and `error_description` (`mfa_required`'s `mfa_token` and
    /// `mfa_requirements`); boxed, as nearly every error has none.
    pub extra: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

/// A refusal's tenant log type code, and the user it concerns when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHint {
    /// Auth0's type code (`fp`, `fu`, `f`, …).
    pub log_type: &'static str,
    /// The user, when the refusal knows who it was.
    pub user_id: Option<crate::ids::UserId>,
    /// The flow wrote the event itself (with details only it knows): nothing more to log.
    pub recorded: bool,
}

impl OAuthError {
    /// An error with `code` and `description`.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
            name: None,
            log: None,
            reason: None,
            extra: None,
        }
    }

    /// The same error, with `name: value` sent beside its code and description.
    pub fn with(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extra
            .get_or_insert_with(Box::default)
            .insert(name.to_owned(), value);
        self
    }

    /// The same error, with `reason` for the tenant log (never sent).
    pub fn because(self, reason: impl Into<String>) -> Self {
        OAuthError {
            reason: Some(reason.into().into_boxed_str()),
            ..self
        }
    }

    /// What the tenant log says of this refusal: its reason, else its description.
    pub fn logged_reason(&self) -> &str {
        self.reason.as_deref().unwrap_or(&self.description)
    }

    /// The same error, logged as `hint` says.
    pub fn logged_as(self, hint: LogHint) -> Self {
        OAuthError {
            log: Some(hint),
            ..self
        }
    }

    /// The same error, with Auth0's `name`.
    pub fn named(self, name: &'static str) -> Self {
        OAuthError {
            name: Some(name),
            ..self
        }
    }
}

/// Why a flow failed: the caller's mistake (an [`OAuthError`] to send back), or Sigil's own
/// failure (logged by the server; the caller sees only `server_error`).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// An answer for the caller.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] crate::StoreError),
    /// A token could not be signed (no current signing key, or the key failed).
    #[error("signing: {0}")]
    Sign(String),
    /// The password workers are all taken: the caller is told to come back shortly.
    #[error(transparent)]
    Busy(#[from] crate::password::Busy),
}

impl FlowError {
    /// Whether the flow failed because the database cannot serve right now.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, FlowError::Store(e) if e.is_unavailable())
    }
}
