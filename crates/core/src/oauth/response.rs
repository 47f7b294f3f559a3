//! The token endpoint's success answer (RFC 6749 §5.1).

use serde::Serialize;

use crate::ids::UserId;

/// What `/oauth/token` returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The scopes granted, space-separated; omitted when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// A refresh token, when `offline_access` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The user's new recovery code, after the `mfa-recovery-code` grant used the old one: the
    /// application must show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
    /// Who and what the tokens were issued for, for the tenant log; never sent.
    #[serde(skip)]
    pub issued: Issued,
}

/// What a tenant log event records about an issuance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Issued {
    /// The application's name.
    pub client_name: Option<String>,
    /// The user, for a user's tokens.
    pub user_id: Option<UserId>,
    /// Their email (or username, or name).
    pub user_name: Option<String>,
    /// The user's connection, by name.
    pub connection: Option<String>,
    /// Its id.
    pub connection_id: Option<String>,
    /// Its strategy.
    pub strategy: Option<crate::model::Strategy>,
    /// The API the access token is for.
    pub audience: Option<String>,
    /// The access token's algorithm (`dir` for an opaque token good only at `/userinfo`).
    pub alg: Option<&'static str>,
    /// The Actions' executions that shaped the tokens.
    pub executions: Vec<String>,
}
