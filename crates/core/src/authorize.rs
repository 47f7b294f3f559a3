//! `/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): which requests are acceptable, where errors
//! go, and what a logged-in user gets. Only `response_type=code` is served so far; PKCE (S256)
//! is required of public clients. The redirect URI must equal a registered callback exactly;
//! until it does, errors are shown as a page and never redirected (RFC 6749 §4.1.2.1).

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::ids::ClientId;
use crate::model::{Client, GrantType, Session};

/// The parameters of an authorization request, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeParams {
    /// The client.
    pub client_id: Option<String>,
    /// Where to send the answer.
    pub redirect_uri: Option<String>,
    /// `code`.
    pub response_type: Option<String>,
    /// `query` (default for code), `fragment` or `form_post`.
    pub response_mode: Option<String>,
    /// Requested scopes.
    pub scope: Option<String>,
    /// Opaque value echoed back.
    pub state: Option<String>,
    /// OIDC nonce, echoed in the ID token.
    pub nonce: Option<String>,
    /// The API the access token is for.
    pub audience: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method: `S256` only.
    pub code_challenge_method: Option<String>,
    /// `none` or `login`.
    pub prompt: Option<String>,
    /// Maximum seconds since the user last authenticated.
    pub max_age: Option<String>,
    /// Pre-fills the login form.
    pub login_hint: Option<String>,
    /// The connection to log in with.
    pub connection: Option<String>,
    /// Accepted and ignored (Auth0 SDKs send it).
    #[serde(rename = "auth0Client")]
    pub auth0_client: Option<String>,
}

/// How the answer travels back to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the redirect URI's query.
    Query,
    /// In the redirect URI's fragment.
    Fragment,
    /// An auto-submitting HTML form that POSTs to the redirect URI.
    FormPost,
}

/// A request that passed validation: everything a login needs to finish it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The client.
    pub client_id: ClientId,
    /// The exact, registered redirect URI.
    pub redirect_uri: String,
    /// How to answer.
    pub response_mode: ResponseMode,
    /// Requested scopes.
    pub scope: Vec<String>,
    /// Echoed back.
    pub state: Option<String>,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// The API asked for.
    pub audience: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt=login`: the user must authenticate again.
    pub force_login: bool,
    /// `prompt=none`: never show a page.
    pub silent: bool,
    /// `max_age`, seconds.
    pub max_age: Option<i64>,
    /// Pre-fills the login form.
    pub login_hint: Option<String>,
    /// The connection to log in with.
    pub connection: Option<String>,
}

/// Where an authorization error goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Before the redirect URI is trusted: shown to the user, never redirected.
    Page(String),
    /// After: sent to the client at its redirect URI.
    Redirect {
        /// Where.
        redirect_uri: String,
        /// How.
        response_mode: ResponseMode,
        /// RFC 6749 §4.1.2.1 code.
        error: &'static str,
        /// A sentence.
        description: String,
        /// Echoed back.
        state: Option<String>,
    },
}

/// The first check: the client and the redirect URI, before anything may be redirected.
pub fn redirect_target<'a>(
    client: Option<&'a Client>,
    params: &AuthorizeParams,
) -> Result<(&'a Client, String), AuthorizeError> {
    let Some(client) = client else {
        return Err(AuthorizeError::Page(
            "Unknown client: check the application's client_id.".to_owned(),
        ));
    };
    let redirect_uri = match params.redirect_uri.as_deref() {
        Some(uri) => uri,
        // Without one, a client with exactly one callback uses it (RFC 6749 §3.1.2.3).
        None => match client.settings.callbacks.as_slice() {
            [only] => only.as_str(),
            _ => {
                return Err(AuthorizeError::Page(
                    "The request has no redirect_uri and the application has several callbacks."
                        .to_owned(),
                ));
            }
        },
    };
    // Exact string comparison: no prefix, no wildcard, no normalisation.
    if !client.settings.callbacks.iter().any(|c| c == redirect_uri) {
        return Err(AuthorizeError::Page(format!(
            "The redirect_uri {redirect_uri} is not one of the application's allowed callback URLs."
        )));
    }
    Ok((client, redirect_uri.to_owned()))
}

/// Validates the rest of the request for `client`, whose `redirect_uri` was accepted.
pub fn validate(
    client: &Client,
    redirect_uri: String,
    params: &AuthorizeParams,
) -> Result<Authorization, AuthorizeError> {
    let mode = match params.response_mode.as_deref() {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("fragment") => Ok(ResponseMode::Fragment),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(other) => Err(format!("Unsupported response_mode: {other}")),
    };
    let response_mode = mode.clone().unwrap_or(ResponseMode::Query);
    let fail = |error: &'static str, description: String| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        response_mode,
        error,
        description,
        state: params.state.clone(),
    };
    let response_mode = mode.map_err(|d| fail("invalid_request", d))?;
    match params.response_type.as_deref() {
        Some("code") => {}
        None => {
            return Err(fail(
                "invalid_request",
                "Missing required parameter: response_type".into(),
            ));
        }
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                format!("Unsupported response type: {other}"),
            ));
        }
    }
    if !client
        .settings
        .grant_types
        .contains(&GrantType::AuthorizationCode)
    {
        return Err(fail(
            "unauthorized_client",
            "the client may not use the authorization code grant".into(),
        ));
    }
    match params.code_challenge_method.as_deref() {
        None | Some("S256") => {}
        Some(other) => {
            return Err(fail(
                "invalid_request",
                format!("Unsupported code_challenge_method: {other} (use S256)"),
            ));
        }
    }
    let challenge = params.code_challenge.clone().filter(|c| !c.is_empty());
    if challenge.is_none() && !client.is_confidential() {
        return Err(fail(
            "invalid_request",
            "Public clients must use PKCE: code_challenge with code_challenge_method=S256".into(),
        ));
    }
    let (force_login, silent) = match params.prompt.as_deref() {
        None | Some("") => (false, false),
        Some("login") => (true, false),
        Some("none") => (false, true),
        Some(other) => {
            return Err(fail(
                "invalid_request",
                format!("Unsupported prompt: {other}"),
            ));
        }
    };
    let max_age = match params.max_age.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|s| *s >= 0)
                .ok_or_else(|| {
                    fail(
                        "invalid_request",
                        "max_age must be a number of seconds".into(),
                    )
                })?,
        ),
    };
    Ok(Authorization {
        client_id: client.client_id.clone(),
        redirect_uri,
        response_mode,
        scope: params
            .scope
            .as_deref()
            .unwrap_or("openid")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        audience: params.audience.clone().filter(|a| !a.is_empty()),
        code_challenge: challenge,
        force_login,
        silent,
        max_age,
        login_hint: params.login_hint.clone(),
        connection: params.connection.clone().filter(|c| !c.is_empty()),
    })
}

impl Authorization {
    /// Whether `session` (live at `now`) may answer this request without a login page.
    pub fn session_suffices(&self, session: &Session, now: UnixTime) -> bool {
        session.expires_at > now
            && session.idle_expires_at > now
            && !self.force_login
            && self
                .max_age
                .is_none_or(|max| now.0 - session.authenticated_at.0 <= max)
    }

    /// An error for the client at its redirect URI.
    pub fn error(&self, error: &'static str, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            error,
            description: description.into(),
            state: self.state.clone(),
        }
    }
}

/// The key login transactions are sealed with (derived from the master key, so every node can
/// open every other node's).
pub struct TransactionKey(aws_lc_rs::hmac::Key);

impl TransactionKey {
    /// The key from 32 secret bytes.
    pub fn new(bytes: &zeroize::Zeroizing<[u8; 32]>) -> Self {
        TransactionKey(aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            bytes.as_ref(),
        ))
    }
}

impl std::fmt::Debug for TransactionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransactionKey([redacted])")
    }
}

/// An authorization request waiting for the user to log in, carried by the login form itself
/// (no server-side state): the request, the CSRF value its cookie must match, and an end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTransaction {
    /// The validated request.
    pub authorization: Authorization,
    /// Must equal the CSRF cookie of the browser posting the form.
    pub csrf: String,
    /// After this the form is refused.
    pub expires_at: UnixTime,
}

impl LoginTransaction {
    /// `base64url(json).base64url(HMAC-SHA256(json))`.
    pub fn seal(&self, key: &TransactionKey) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let tag = aws_lc_rs::hmac::sign(&key.0, &json);
        let b64 = base64_simd::URL_SAFE_NO_PAD;
        format!(
            "{}.{}",
            b64.encode_to_string(&json),
            b64.encode_to_string(tag.as_ref())
        )
    }

    /// The transaction in `text`, if `key` sealed it and it has not expired at `now`.
    pub fn open(text: &str, key: &TransactionKey, now: UnixTime) -> Option<Self> {
        let (body, tag) = text.split_once('.')?;
        let b64 = base64_simd::URL_SAFE_NO_PAD;
        let json = b64.decode_to_vec(body.as_bytes()).ok()?;
        let tag = b64.decode_to_vec(tag.as_bytes()).ok()?;
        aws_lc_rs::hmac::verify(&key.0, &json, &tag).ok()?;
        let tx: LoginTransaction = serde_json::from_slice(&json).ok()?;
        (tx.expires_at > now).then_some(tx)
    }

    /// Whether `cookie` is this transaction's CSRF value (constant time).
    pub fn csrf_matches(&self, cookie: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.csrf.as_bytes(), cookie.as_bytes())
            .is_ok()
    }
}
