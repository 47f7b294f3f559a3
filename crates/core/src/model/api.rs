//! Resource servers (APIs): the audiences access tokens are made for.

use serde::{Deserialize, Serialize};
use sigil_jose::Algorithm;

use crate::UnixTime;
use crate::ids::ResourceServerId;

/// An API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceServer {
    /// 24 hex digits.
    pub id: ResourceServerId,
    /// The audience (`aud`) of its access tokens; unique; never changes.
    pub identifier: String,
    /// A name for people.
    pub name: String,
    /// The Management API and other APIs Sigil itself serves.
    pub is_system: bool,
    /// Scopes the API defines.
    pub scopes: Vec<ResourceServerScope>,
    /// Access token signing algorithm.
    pub signing_alg: Algorithm,
    /// Access token lifetime in seconds.
    pub token_lifetime: u32,
    /// Access token lifetime for tokens issued to browsers (implicit, SPAs).
    pub token_lifetime_for_web: u32,
    /// RBAC: users get only the scopes their roles and permissions allow.
    pub enforce_policies: bool,
    /// Token profile, and whether `permissions` goes into access tokens.
    pub token_dialect: TokenDialect,
    /// Refresh tokens may be issued for it.
    pub allow_offline_access: bool,
    /// First-party clients are not asked for consent.
    pub skip_consent_for_verifiable_first_party_clients: bool,
    /// When it was made.
    pub created_at: UnixTime,
    /// Last change.
    pub updated_at: UnixTime,
}

/// One scope of an API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceServerScope {
    /// `read:messages`.
    pub value: String,
    /// Shown on the consent page.
    #[serde(default)]
    pub description: String,
}

/// Auth0's access token dialects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenDialect {
    /// `typ: JWT`, scopes in `scope`.
    #[default]
    AccessToken,
    /// As `access_token`, plus `permissions` (RBAC).
    AccessTokenAuthz,
    /// RFC 9068 (`typ: at+jwt`).
    Rfc9068Profile,
    /// RFC 9068 plus `permissions`.
    Rfc9068ProfileAuthz,
}

impl TokenDialect {
    /// Whether access tokens carry `permissions`.
    pub fn includes_permissions(self) -> bool {
        matches!(
            self,
            TokenDialect::AccessTokenAuthz | TokenDialect::Rfc9068ProfileAuthz
        )
    }
}

impl ResourceServer {
    /// A new API with Auth0's defaults: RS256, 24 h tokens (2 h for browsers), no RBAC.
    pub fn new(id: ResourceServerId, identifier: String, name: String, now: UnixTime) -> Self {
        ResourceServer {
            id,
            identifier,
            name,
            is_system: false,
            scopes: Vec::new(),
            signing_alg: Algorithm::RS256,
            token_lifetime: 86_400,
            token_lifetime_for_web: 7_200,
            enforce_policies: false,
            token_dialect: TokenDialect::AccessToken,
            allow_offline_access: false,
            skip_consent_for_verifiable_first_party_clients: true,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether this is the Management API of `issuer`: marked so by `sigil init`, or named by
    /// its audience whatever the mark says.
    pub fn is_management_api(&self, issuer: &str) -> bool {
        self.is_system || self.identifier == crate::oauth::management_audience(issuer)
    }

    /// The API as Auth0's Management API shows a resource server (`GET /resource-servers`,
    /// `sigil apis create --json`).
    pub fn management_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "identifier": self.identifier,
            "is_system": self.is_system,
            "scopes": self.scopes,
            "signing_alg": self.signing_alg,
            "token_lifetime": self.token_lifetime,
            "token_lifetime_for_web": self.token_lifetime_for_web,
            "enforce_policies": self.enforce_policies,
            "token_dialect": self.token_dialect,
            "allow_offline_access": self.allow_offline_access,
            "skip_consent_for_verifiable_first_party_clients": self.skip_consent_for_verifiable_first_party_clients,
        })
    }
}
