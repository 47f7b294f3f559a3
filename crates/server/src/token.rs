//! Parsing `/oauth/token` requests: a form (`application/x-www-form-urlencoded`, everyone) or a
//! JSON body (auth0-python), where JSON `null` means absent, into a typed request. Unknown
//! parameters, repeated parameters, wrong types and unknown grants are refused here, with the
//! RFC 6749 code that says which.

use axum::http::{HeaderMap, header};
use serde::Deserialize;
use sigil_core::events::Origin;
use sigil_core::ids::ClientId;
use sigil_core::oauth::{
    ClientAuth, ClientCredentialsRequest, CodeRequest, ErrorCode, JWT_BEARER, MfaGrantRequest,
    MfaProof, OAuthError, PasswordRequest, PasswordlessRequest, RefreshRequest,
};
use sigil_core::secret::{ClientSecret, Token};

/// Every parameter the token endpoint knows, for any grant. The ones of grants not served yet
/// are accepted so that their error names the grant, not the parameter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Read as the grants they belong to land.
struct Params {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
    scope: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    realm: Option<String>,
    otp: Option<String>,
    client_assertion: Option<String>,
    client_assertion_type: Option<String>,
    device_code: Option<String>,
    resource: Option<String>,
    organization: Option<String>,
    mfa_token: Option<String>,
    recovery_code: Option<String>,
    oob_code: Option<String>,
    binding_code: Option<String>,
}

/// A token request Sigil can serve.
#[derive(Debug)]
pub(crate) enum TokenRequest {
    /// RFC 6749 §4.4.
    ClientCredentials(ClientCredentialsRequest),
    /// RFC 6749 §4.3, and Auth0's password-realm.
    Password(PasswordRequest),
    /// RFC 6749 §6.
    Refresh(RefreshRequest),
    /// RFC 6749 §4.1.3.
    Code(CodeRequest),
    /// Auth0's `passwordless/otp`.
    Passwordless(PasswordlessRequest),
    /// Auth0's `mfa-otp` and `mfa-recovery-code`.
    Mfa(MfaGrantRequest),
}

impl TokenRequest {
    /// Which exchange it is, for the tenant log.
    pub(crate) fn exchange(&self) -> sigil_core::events::Exchange {
        use sigil_core::events::Exchange;
        match self {
            TokenRequest::ClientCredentials(_) => Exchange::ClientCredentials,
            TokenRequest::Password(_) => Exchange::Password,
            TokenRequest::Refresh(_) => Exchange::RefreshToken,
            TokenRequest::Code(_) => Exchange::AuthorizationCode,
            TokenRequest::Passwordless(_) => Exchange::PasswordlessOtp,
            TokenRequest::Mfa(r) => match r.proof {
                MfaProof::Otp(_) => Exchange::MfaOtp,
                MfaProof::Oob { .. } => Exchange::MfaOob,
                MfaProof::RecoveryCode(_) => Exchange::MfaRecoveryCode,
            },
        }
    }

    /// How the client presented itself.
    pub(crate) fn auth(&self) -> &ClientAuth {
        match self {
            TokenRequest::ClientCredentials(r) => &r.auth,
            TokenRequest::Password(r) => &r.auth,
            TokenRequest::Refresh(r) => &r.auth,
            TokenRequest::Code(r) => &r.auth,
            TokenRequest::Passwordless(r) => &r.auth,
            TokenRequest::Mfa(r) => &r.auth,
        }
    }
}

fn invalid(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}

/// The grants Sigil recognises but does not serve yet, named so the error says so.
const NOT_YET: [&str; 1] = ["urn:ietf:params:oauth:grant-type:device_code"];

const MFA_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";

const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";

const MFA_RECOVERY_CODE: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

const PASSWORDLESS_OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

pub(crate) fn required(value: Option<String>, name: &str) -> Result<String, OAuthError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid(format!("Missing required parameter: {name}")))
}

/// `/oauth/revoke`'s parameters (RFC 7009 §2.1).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeParams {
    token: Option<String>,
    #[allow(dead_code)] // Sigil revokes refresh tokens only; the hint changes nothing.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion: Option<String>,
    client_assertion_type: Option<String>,
}

/// A parsed revocation request.
pub(crate) struct RevokeRequest {
    pub(crate) auth: ClientAuth,
    pub(crate) token: Token,
}

/// Parses a revocation request.
pub(crate) fn parse_revoke(headers: &HeaderMap, body: &[u8]) -> Result<RevokeRequest, OAuthError> {
    let params: RevokeParams = read_body(headers, body)?;
    let basic = basic_credentials(headers)?;
    let credentials = Credentials {
        basic,
        client_id: params.client_id,
        client_secret: params.client_secret,
        client_assertion: params.client_assertion,
        client_assertion_type: params.client_assertion_type,
    };
    Ok(RevokeRequest {
        auth: client_auth(credentials)?,
        token: Token::new(required(params.token, "token")?),
    })
}

/// Parses the body (by its content type) and the `Authorization` header; `origin` is where the
/// request came from.
pub(crate) fn parse(
    headers: &HeaderMap,
    body: &[u8],
    origin: Origin,
) -> Result<TokenRequest, OAuthError> {
    let mut params: Params = read_body(headers, body)?;
    let credentials = Credentials {
        basic: basic_credentials(headers)?,
        client_id: params.client_id.take(),
        client_secret: params.client_secret.take(),
        client_assertion: params.client_assertion.take(),
        client_assertion_type: params.client_assertion_type.take(),
    };
    let grant_type = params
        .grant_type
        .as_deref()
        .filter(|g| !g.is_empty())
        .ok_or_else(|| invalid("Missing required parameter: grant_type"))?;
    match grant_type {
        "client_credentials" => Ok(TokenRequest::ClientCredentials(ClientCredentialsRequest {
            auth: client_auth(credentials)?,
            audience: params.audience,
            scope: params.scope,
            ip: origin.ip,
        })),
        "authorization_code" => Ok(TokenRequest::Code(CodeRequest {
            auth: client_auth(credentials)?,
            code: Token::new(required(params.code, "code")?),
            redirect_uri: params.redirect_uri,
            code_verifier: params.code_verifier,
        })),
        "refresh_token" => Ok(TokenRequest::Refresh(RefreshRequest {
            auth: client_auth(credentials)?,
            refresh_token: Token::new(required(params.refresh_token, "refresh_token")?),
            scope: params.scope,
            origin,
        })),
        "password" | PASSWORD_REALM => {
            // Without a realm, both grants use the tenant's default directory (auth0-python's
            // login() sends password-realm with `"realm": null` when none is given).
            let realm = params.realm.filter(|r| !r.is_empty());
            Ok(TokenRequest::Password(PasswordRequest {
                auth: client_auth(credentials)?,
                username: required(params.username, "username")?,
                password: required(params.password, "password")?.into(),
                realm,
                audience: params.audience,
                scope: params.scope,
                origin,
            }))
        }
        PASSWORDLESS_OTP => Ok(TokenRequest::Passwordless(PasswordlessRequest {
            auth: client_auth(credentials)?,
            username: required(params.username, "username")?,
            otp: required(params.otp, "otp")?.into(),
            realm: required(params.realm, "realm")?,
            audience: params.audience,
            scope: params.scope,
            origin,
        })),
        MFA_OTP | MFA_OOB | MFA_RECOVERY_CODE => {
            let mfa_token = required(params.mfa_token, "mfa_token")?;
            let proof = match grant_type {
                MFA_OTP => MfaProof::Otp(required(params.otp, "otp")?.into()),
                MFA_OOB => MfaProof::Oob {
                    oob_code: required(params.oob_code, "oob_code")?.into(),
                    binding_code: required(params.binding_code, "binding_code")?.into(),
                },
                _ => {
                    MfaProof::RecoveryCode(required(params.recovery_code, "recovery_code")?.into())
                }
            };
            Ok(TokenRequest::Mfa(MfaGrantRequest {
                auth: client_auth(credentials)?,
                mfa_token,
                proof,
                origin,
            }))
        }
        other if NOT_YET.contains(&other) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("Grant type '{other}' is not supported by this server yet"),
        )),
        other => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("Unsupported grant type: {other}"),
        )),
    }
}

/// A form or JSON body (by its content type) as `T`.
pub(crate) fn read_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(body)
            .map_err(|e| invalid(format!("malformed form body: {e}"))),
        "application/json" => {
            serde_json::from_slice(body).map_err(|e| invalid(format!("malformed JSON body: {e}")))
        }
        _ => Err(invalid(
            "the body must be application/x-www-form-urlencoded or application/json",
        )),
    }
}

/// The client's credentials in a request other than the token endpoint's
/// (`/passwordless/start`): HTTP Basic, a secret or an assertion in the body, or the id alone.
pub(crate) fn request_client_auth(
    headers: &HeaderMap,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion: Option<String>,
    client_assertion_type: Option<String>,
) -> Result<ClientAuth, OAuthError> {
    client_auth(Credentials {
        basic: basic_credentials(headers)?,
        client_id,
        client_secret,
        client_assertion,
        client_assertion_type,
    })
}

/// Whatever a request carries to authenticate its client.
struct Credentials {
    basic: Option<(String, String)>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion: Option<String>,
    client_assertion_type: Option<String>,
}

/// The client's credentials: HTTP Basic, a secret in the body, or a JWT assertion (RFC 7521
/// §4.2), and never two of them (RFC 6749 §2.3); a client_id alone for public clients.
fn client_auth(credentials: Credentials) -> Result<ClientAuth, OAuthError> {
    let Credentials {
        basic,
        client_id,
        client_secret,
        client_assertion,
        client_assertion_type,
    } = credentials;
    let nonempty = |v: Option<String>| v.filter(|v| !v.is_empty());
    match (nonempty(client_assertion), nonempty(client_assertion_type)) {
        (None, None) => {}
        (Some(assertion), Some(kind)) => {
            if kind != JWT_BEARER {
                return Err(invalid(format!(
                    "unsupported client_assertion_type; use {JWT_BEARER}"
                )));
            }
            if basic.is_some() || client_secret.is_some() {
                return Err(invalid(
                    "the client authenticated twice (a client secret and client_assertion); \
                     use one",
                ));
            }
            return Ok(ClientAuth::Assertion {
                client_id: nonempty(client_id).map(ClientId),
                assertion: Token::new(assertion),
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(invalid(
                "client_assertion and client_assertion_type must be sent together",
            ));
        }
    }
    match (basic, client_id, client_secret) {
        (Some(_), _, Some(_)) => Err(invalid(
            "the client authenticated twice (HTTP Basic and client_secret); use one",
        )),
        (Some((id, secret)), body_id, None) => {
            if body_id.as_ref().is_some_and(|b| *b != id) {
                return Err(invalid("client_id differs from the HTTP Basic user"));
            }
            Ok(ClientAuth::Basic {
                client_id: ClientId(id),
                secret: ClientSecret::new(secret),
            })
        }
        (None, Some(id), Some(secret)) => Ok(ClientAuth::Post {
            client_id: ClientId(id),
            secret: ClientSecret::new(secret),
        }),
        // A public client names itself only; a confidential one doing so is refused later.
        (None, Some(id), None) if !id.is_empty() => Ok(ClientAuth::Public {
            client_id: ClientId(id),
        }),
        (None, _, _) => Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "client authentication required: client_id and client_secret, HTTP Basic, or \
             client_assertion",
        )),
    }
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::new(ErrorCode::InvalidClient, "malformed HTTP Basic credentials");
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = base64_simd::STANDARD
        .decode_to_vec(encoded.trim().as_bytes())
        .map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| -> Result<String, OAuthError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("v={s}")).map_err(|_| bad())?;
        Ok(pairs.into_iter().next().map(|(_, v)| v).unwrap_or_default())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}
