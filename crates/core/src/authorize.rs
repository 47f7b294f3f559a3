//! `/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2, §3.2.2, §3.3.2): which requests are
//! acceptable, where errors go, and what a logged-in user gets. The code flow, the implicit flow
//! (`id_token`, `id_token token`, `token`) and the hybrid flow (`code` with either or both) are
//! served; PKCE (S256) is required of public clients that ask for a code; `nonce` is required
//! whenever an ID token comes back from this endpoint. The redirect URI must equal a registered
//! callback exactly; until it does, errors are shown as a page and never redirected
//! (RFC 6749 §4.1.2.1). Unknown parameters are ignored (RFC 6749 §3.1).

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::ids::ClientId;
use crate::model::{Client, GrantType, Session};

/// The parameters of an authorization request, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeParams {
    /// The client.
    pub client_id: Option<String>,
    /// Where to send the answer.
    pub redirect_uri: Option<String>,
    /// `code`, `id_token`, `token`, or a space-separated combination.
    pub response_type: Option<String>,
    /// `query` (default for code), `fragment` (default otherwise), `form_post` or `web_message`.
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
    /// `none`, or `login` and/or `consent` (space-separated).
    pub prompt: Option<String>,
    /// Maximum seconds since the user last authenticated.
    pub max_age: Option<String>,
    /// Pre-fills the login form.
    pub login_hint: Option<String>,
    /// The connection to log in with.
    pub connection: Option<String>,
    /// Authentication context classes asked for, space-separated (OIDC Core §3.1.2.1): the
    /// PAPE multi-factor policy asks for a second factor.
    pub acr_values: Option<String>,
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
    /// A page that posts the answer to its parent window (silent authentication in an iframe,
    /// as Auth0's SDKs do it); the redirect URI's origin is the message's target.
    WebMessage,
}

impl ResponseMode {
    /// The mode's name in a request (`form_post`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
            ResponseMode::WebMessage => "web_message",
        }
    }
}

/// What the client asked `/authorize` to answer with (OAuth 2.0 Multiple Response Type Encoding
/// Practices §3): a code, an ID token, an access token, or a combination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseType {
    /// `code`: an authorization code.
    pub code: bool,
    /// `id_token`: an ID token from this endpoint.
    pub id_token: bool,
    /// `token`: an access token from this endpoint.
    pub token: bool,
}

impl ResponseType {
    /// The response type named by space-separated `text` (in any order, each word once).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parsed = ResponseType {
            code: false,
            id_token: false,
            token: false,
        };
        for word in text.split(' ') {
            let slot = match word {
                "code" => &mut parsed.code,
                "id_token" => &mut parsed.id_token,
                "token" => &mut parsed.token,
                _ => return None,
            };
            if std::mem::replace(slot, true) {
                return None;
            }
        }
        Some(parsed)
    }

    /// The words of the response type, space-separated (`code id_token`).
    pub fn words(self) -> String {
        [
            (self.code, "code"),
            (self.id_token, "id_token"),
            (self.token, "token"),
        ]
        .into_iter()
        .filter_map(|(on, word)| on.then_some(word))
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Whether tokens travel through the browser (implicit and hybrid flows), which rules out
    /// the query encoding (Multiple Response Types §5).
    pub fn returns_tokens(self) -> bool {
        self.id_token || self.token
    }

    fn default_mode(self) -> ResponseMode {
        if self.returns_tokens() {
            ResponseMode::Fragment
        } else {
            ResponseMode::Query
        }
    }
}

/// A request that passed validation: everything a login needs to finish it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The client.
    pub client_id: ClientId,
    /// The exact, registered redirect URI.
    pub redirect_uri: String,
    /// What to answer with.
    pub response_type: ResponseType,
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
    /// `prompt=consent`: ask for the user's consent even when a stored grant covers the
    /// request (where consent applies at all: see [`crate::consent`]).
    #[serde(default)]
    pub force_consent: bool,
    /// `max_age`, seconds.
    pub max_age: Option<i64>,
    /// Pre-fills the login form.
    pub login_hint: Option<String>,
    /// The connection to log in with.
    pub connection: Option<String>,
    /// `acr_values`, in the order asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
}

/// The PAPE policy URI that asks for multi-factor authentication in `acr_values` (and the
/// ID token's `acr` once it was done).
pub const MULTI_FACTOR_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

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
    let response_type = params.response_type.as_deref().map(ResponseType::parse);
    let default_mode = match response_type {
        Some(Some(kind)) => kind.default_mode(),
        _ => ResponseMode::Query,
    };
    let mode = match params.response_mode.as_deref() {
        None | Some("") => Ok(default_mode),
        Some("query") => Ok(ResponseMode::Query),
        Some("fragment") => Ok(ResponseMode::Fragment),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some("web_message") => Ok(ResponseMode::WebMessage),
        Some(other) => Err(format!("Unsupported response_mode: {other}")),
    };
    let response_mode = mode.clone().unwrap_or(default_mode);
    let fail = |error: &'static str, description: String| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        response_mode,
        error,
        description,
        state: params.state.clone(),
    };
    let response_mode = mode.map_err(|d| fail("invalid_request", d))?;
    if response_mode == ResponseMode::WebMessage && !web_origin_allowed(client, &redirect_uri) {
        // The answer would be posted to a window of that origin: never to one the client has
        // not listed (Auth0's "Allowed Web Origins").
        return Err(AuthorizeError::Page(format!(
            "response_mode=web_message needs the origin of {redirect_uri} among the \
             application's allowed web origins."
        )));
    }
    let response_type = match (response_type, params.response_type.as_deref()) {
        (Some(Some(kind)), _) => kind,
        (_, None | Some("")) => {
            return Err(fail(
                "invalid_request",
                "Missing required parameter: response_type".into(),
            ));
        }
        (_, Some(other)) => {
            return Err(fail(
                "unsupported_response_type",
                format!("Unsupported response type: {other}"),
            ));
        }
    };
    if response_type.returns_tokens() && response_mode == ResponseMode::Query {
        return Err(fail(
            "invalid_request",
            "response_mode=query is not allowed when tokens are returned from /authorize; \
             use fragment, form_post or web_message"
                .into(),
        ));
    }
    let grants = &client.settings.grant_types;
    if response_type.code && !grants.contains(&GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "the client may not use the authorization code grant".into(),
        ));
    }
    if response_type.returns_tokens() && !grants.contains(&GrantType::Implicit) {
        return Err(fail(
            "unauthorized_client",
            "the client may not use the implicit grant".into(),
        ));
    }
    let scope: Vec<String> = params
        .scope
        .as_deref()
        .unwrap_or("openid")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let nonce = params.nonce.clone().filter(|n| !n.is_empty());
    if response_type.id_token {
        if nonce.is_none() {
            return Err(fail(
                "invalid_request",
                "Nonce is required when response_type includes id_token".into(),
            ));
        }
        if !scope.iter().any(|s| s == "openid") {
            return Err(fail(
                "invalid_request",
                "response_type id_token requires the openid scope".into(),
            ));
        }
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
    if let Some(challenge) = &challenge
        && !is_code_challenge(challenge)
    {
        return Err(fail(
            "invalid_request",
            "code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~' \
             (the S256 digest of the code_verifier, base64url-encoded)"
                .into(),
        ));
    }
    if response_type.code && challenge.is_none() && !client.is_confidential() {
        return Err(fail(
            "invalid_request",
            "Public clients must use PKCE: code_challenge with code_challenge_method=S256".into(),
        ));
    }
    let prompt = params.prompt.as_deref().unwrap_or_default();
    let (mut force_login, mut silent, mut force_consent) = (false, false, false);
    // A space-separated list (OIDC Core §3.1.2.1); `none` stands alone.
    for word in prompt.split(' ').filter(|w| !w.is_empty()) {
        let slot = match word {
            "login" => &mut force_login,
            "none" => &mut silent,
            "consent" => &mut force_consent,
            other => {
                return Err(fail(
                    "invalid_request",
                    format!("Unsupported prompt: {other}"),
                ));
            }
        };
        *slot = true;
    }
    if silent && (force_login || force_consent) {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other prompt values".into(),
        ));
    }
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
        response_type,
        response_mode,
        scope,
        state: params.state.clone(),
        nonce,
        audience: params.audience.clone().filter(|a| !a.is_empty()),
        code_challenge: challenge,
        force_login,
        silent,
        force_consent,
        max_age,
        login_hint: params.login_hint.clone(),
        connection: params.connection.clone().filter(|c| !c.is_empty()),
        acr_values: params
            .acr_values
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Whether `challenge` has the shape RFC 7636 §4.2 gives a code challenge: 43 to 128 characters
/// of the unreserved set.
fn is_code_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The origin (`scheme://host[:port]`) of an absolute URL, as a web origin is written.
pub fn origin_of(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    let rest = &url[scheme_end + 3..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(&url[..scheme_end + 3 + authority_len])
}

/// Whether the origin of `redirect_uri` is one of the client's allowed web origins (compared
/// without case and without a trailing slash, as origins carry neither meaning).
fn web_origin_allowed(client: &Client, redirect_uri: &str) -> bool {
    let Some(origin) = origin_of(redirect_uri) else {
        return false;
    };
    client
        .settings
        .web_origins
        .iter()
        .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

impl Authorization {
    /// Whether the request asks for a second factor (`acr_values` holds the PAPE policy).
    pub fn asks_multi_factor(&self) -> bool {
        self.acr_values.iter().any(|v| v == MULTI_FACTOR_ACR)
    }

    /// Whether `session` (live at `now`) may answer this request without a login page.
    /// `max_age=0` always asks for a fresh login (OIDC Core §3.1.2.1), even for a session
    /// begun in the same second.
    pub fn session_suffices(&self, session: &Session, now: UnixTime) -> bool {
        session.expires_at > now
            && session.idle_expires_at > now
            && !self.force_login
            && self
                .max_age
                .is_none_or(|max| max > 0 && now.0 - session.authenticated_at.0 <= max)
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

/// The key login and consent transactions are sealed with (derived from the master key, so
/// every node can open every other node's).
pub struct TransactionKey(aws_lc_rs::hmac::Key);

impl TransactionKey {
    /// The key from 32 secret bytes.
    pub fn new(bytes: &zeroize::Zeroizing<[u8; 32]>) -> Self {
        TransactionKey(aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            bytes.as_ref(),
        ))
    }

    /// HMAC-SHA256 of `purpose ‖ message`.
    pub(crate) fn tag(&self, purpose: &[u8], message: &[u8]) -> Vec<u8> {
        let mut context = aws_lc_rs::hmac::Context::with_key(&self.0);
        context.update(purpose);
        context.update(message);
        context.sign().as_ref().to_vec()
    }

    /// Whether `tag` is [`TransactionKey::tag`] of `purpose ‖ message` (constant time).
    pub(crate) fn verify(&self, purpose: &[u8], message: &[u8], tag: &[u8]) -> bool {
        let expected = self.tag(purpose, message);
        aws_lc_rs::constant_time::verify_slices_are_equal(&expected, tag).is_ok()
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
    /// Names this login, so it is used once ([`LoginTransaction::spend`]); random, and kept
    /// when the form's CSRF value changes.
    pub id: String,
    /// The validated request.
    pub authorization: Authorization,
    /// Must equal the CSRF cookie of the browser posting the form.
    pub csrf: String,
    /// After this the form is refused.
    pub expires_at: UnixTime,
}

impl LoginTransaction {
    /// A transaction for `authorization`, with a fresh id, open until `expires_at`.
    pub fn new(authorization: Authorization, rng: &dyn crate::Rng, expires_at: UnixTime) -> Self {
        LoginTransaction {
            id: crate::ids::alphanumeric(rng, 22),
            authorization,
            csrf: String::new(),
            expires_at,
        }
    }

    /// Uses the transaction up at `now` (before it expired): `true` for the one login it
    /// yields, `false` for any later one, from any node, however many race. A stored bucket of
    /// one request that refills only after the transaction expired is exactly a single-use
    /// mark, kept by the store's atomic rate-limit upsert and purged with the other buckets.
    pub async fn spend<S: crate::Store>(
        &self,
        store: &S,
        now: UnixTime,
    ) -> crate::store::Result<bool> {
        let limit = crate::rate_limit::RateLimit {
            burst: 1,
            refill_ms: (self.expires_at.0 - now.0 + 1).max(1).saturating_mul(1000),
        };
        let key = format!("login-tx:{}", self.id);
        Ok(store
            .take_rate_limit(&key, limit, now.0.saturating_mul(1000))
            .await?
            .allowed)
    }

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
