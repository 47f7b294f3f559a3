//! The OAuth 2.0 flows, as Auth0 runs them: client authentication, the grants, and the
//! errors they answer with (RFC 6749 §5.2 codes). HTTP stays in `sigil-server`; requests
//! arrive here already parsed into types.

mod access_token;
mod client_assertion;
mod client_auth;
mod client_credentials;
mod code;
mod directory;
mod error;
mod front_channel;
mod grant_login;
mod jwe;
mod mfa_grant;
mod mfa_token;
mod password;
mod passwordless;
mod refresh;
mod response;
pub(crate) mod user_tokens;
mod userinfo_token;

pub use client_assertion::{
    ASSERTION_ALGORITHMS, CLOCK_SKEW, JWT_BEARER, MAX_ASSERTION_LIFETIME, MAX_JTI_LEN,
    assertion_audiences, credential_key,
};
pub(crate) use client_auth::require_grant;
pub use client_auth::{ClientAuth, authenticate};
pub use client_credentials::{ClientCredentialsRequest, canonical_audience, client_credentials};
pub use code::{CODE_LIFETIME, CodeGrant, CodeRequest, authorization_code, issue_code};
pub use directory::Directory;
pub use error::{ErrorCode, FlowError, LogHint, OAuthError};
pub use front_channel::{
    Authorized, ResponseFields, Resumed, authorization_response, resume_authorization,
};
pub use mfa_grant::{
    MFA_API_SCOPES, MfaGrantRequest, MfaProof, mfa_api, mfa_audience, mfa_grant, open_mfa_token,
};
pub use mfa_token::{MFA_TOKEN_LIFETIME, MfaGrant, MfaTokenError, MfaTokenKey};
pub use password::{PasswordRequest, password};
pub use passwordless::{PasswordlessRequest, passwordless_otp};
pub(crate) use refresh::live as refresh_token_live;
pub use refresh::{RefreshKey, RefreshRequest, refresh, revoke};
pub use response::{Issued, TokenResponse};
pub(crate) use user_tokens::api as api_for_audience;
pub use user_tokens::profile_claims;
pub(crate) use user_tokens::sign_id_token;
pub use userinfo_token::{UserinfoGrant, UserinfoKey, UserinfoTokenError};

/// The OpenID Connect scopes Sigil grants beside an API's own, each with the words a consent
/// page shows (`openid` is signing in itself: granted, never shown). The one list the tokens,
/// the consent page and discovery read.
pub const OIDC_SCOPES: [(&str, Option<&str>); 5] = [
    ("openid", None),
    ("profile", Some("Your profile: name, nickname and picture")),
    ("email", Some("Your email address")),
    ("phone", Some("Your phone number")),
    (
        "offline_access",
        Some("Access to your data while you are not using the application"),
    ),
];

/// Whether `scope` is one of [`OIDC_SCOPES`].
pub fn is_oidc_scope(scope: &str) -> bool {
    OIDC_SCOPES.iter().any(|(s, _)| *s == scope)
}

/// The Management API's audience for an issuer: `<issuer>api/v2/`.
pub fn management_audience(issuer: &str) -> String {
    format!("{issuer}api/v2/")
}

/// The only Management API scopes a user's token can carry, as Auth0's: each acts on the
/// user the token is for, never on anyone else. Everything else is for machines, through a
/// client grant.
pub const CURRENT_USER_SCOPES: [&str; 7] = [
    "read:current_user",
    "update:current_user_identities",
    "create:current_user_metadata",
    "update:current_user_metadata",
    "delete:current_user_metadata",
    "create:current_user_device_credentials",
    "delete:current_user_device_credentials",
];
