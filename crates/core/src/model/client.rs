//! Clients (applications): who may ask for tokens, from where, and how they prove it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sigil_jose::Algorithm;

use crate::ids::ClientId;
use crate::secret::{ClientSecret, SecretDigest};
use crate::{Rng, UnixTime};

/// An application.
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    /// 32 letters and digits.
    pub client_id: ClientId,
    /// Shown on login and consent pages.
    pub name: String,
    /// Auth0's application type.
    pub app_type: AppType,
    /// First-party applications skip consent for APIs that allow it.
    pub is_first_party: bool,
    /// SHA-256 of the client secret; `None` for public clients.
    pub secret_digest: Option<SecretDigest>,
    /// The secret itself, kept (sealed under the master key at rest) only while the client's ID
    /// tokens are HS256-signed with it; otherwise only the digest exists.
    pub signing_secret: Option<ClientSecret>,
    /// Everything else, as Auth0's client object has it.
    pub settings: ClientSettings,
    /// When it was made.
    pub created_at: UnixTime,
    /// Last change.
    pub updated_at: UnixTime,
}

impl Client {
    /// A new client with Auth0's defaults for `app_type`: first party, the type's grants and
    /// token endpoint authentication, RS256 ID tokens. `secret` is given for confidential
    /// types; only its digest is kept.
    pub fn new(
        client_id: ClientId,
        name: String,
        app_type: AppType,
        secret: Option<&ClientSecret>,
        now: UnixTime,
    ) -> Self {
        Client {
            client_id,
            name,
            app_type,
            is_first_party: true,
            secret_digest: secret.map(ClientSecret::digest),
            signing_secret: None,
            settings: ClientSettings::for_type(app_type),
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the client can prove who it is at the token endpoint, with a secret or a
    /// registered key. Public clients cannot, so their authorization codes need PKCE.
    pub fn is_confidential(&self) -> bool {
        self.secret_digest.is_some()
            || self.settings.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt
    }

    /// Whether the client's settings call for a client secret: a confidential type that
    /// authenticates with `client_secret_post` or `client_secret_basic`. Public clients and
    /// `private_key_jwt` clients have none.
    pub fn needs_secret(&self) -> bool {
        !self.app_type.is_public()
            && matches!(
                self.settings.token_endpoint_auth_method,
                TokenEndpointAuthMethod::ClientSecretPost
                    | TokenEndpointAuthMethod::ClientSecretBasic
            )
    }

    /// Makes `secret` the client's only secret: its digest is kept, and the secret itself
    /// (sealed at rest) only while ID tokens are HS256-signed with it.
    pub fn set_secret(&mut self, secret: &ClientSecret) {
        self.secret_digest = Some(secret.digest());
        self.signing_secret = self
            .settings
            .jwt_configuration
            .alg
            .is_symmetric()
            .then(|| secret.clone());
    }

    /// Brings the kept secret in line with the settings after a change: dropped when the
    /// client no longer needs one (and its sealed copy when ID tokens are no longer HS256),
    /// and a new one made when it needs one Sigil cannot produce (it keeps only digests, so
    /// a client switched to HS256 gets a new secret to sign with). Returns the new secret,
    /// which exists nowhere else: it must be shown to the caller now or never.
    pub fn settle_secret(&mut self, rng: &dyn Rng) -> Option<ClientSecret> {
        if !self.needs_secret() {
            self.secret_digest = None;
            self.signing_secret = None;
            return None;
        }
        let symmetric = self.settings.jwt_configuration.alg.is_symmetric();
        if self.secret_digest.is_none() || (symmetric && self.signing_secret.is_none()) {
            let secret = ClientSecret::generate(rng);
            self.set_secret(&secret);
            return Some(secret);
        }
        if !symmetric {
            self.signing_secret = None;
        }
        None
    }

    /// The client as Auth0's Management API returns it; `client_secret` only when given (on
    /// creation and rotation, the times it exists outside the digest). Absent values are
    /// omitted, as Auth0 does; keys registered for `private_key_jwt` appear as Auth0's
    /// `client_authentication_methods`, by credential id.
    pub fn management_json(&self, secret: Option<&ClientSecret>) -> serde_json::Value {
        use serde_json::{Value, json};
        let mut object = match serde_json::to_value(&self.settings) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        object.remove("credentials");
        object.retain(|_, v| !v.is_null());
        if !self.settings.credentials.is_empty() {
            let ids: Vec<Value> = self
                .settings
                .credentials
                .iter()
                .map(|c| json!({ "id": c.id }))
                .collect();
            object.insert(
                "client_authentication_methods".into(),
                json!({ "private_key_jwt": { "credentials": ids } }),
            );
        }
        let mut out = serde_json::Map::new();
        out.insert("client_id".into(), json!(self.client_id));
        out.insert("name".into(), json!(self.name));
        out.insert("app_type".into(), json!(self.app_type));
        out.insert("is_first_party".into(), json!(self.is_first_party));
        if let Some(secret) = secret {
            out.insert("client_secret".into(), secret.expose().into());
        }
        out.extend(object);
        Value::Object(out)
    }
}

/// Auth0's application types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    /// Single-page application (public, PKCE).
    Spa,
    /// Native or mobile application (public, PKCE).
    Native,
    /// Server-side web application (confidential).
    RegularWeb,
    /// Machine to machine (confidential, client credentials).
    NonInteractive,
}

impl AppType {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AppType::Spa => "spa",
            AppType::Native => "native",
            AppType::RegularWeb => "regular_web",
            AppType::NonInteractive => "non_interactive",
        }
    }

    /// The type named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }

    /// Whether clients of this type cannot keep a secret.
    pub fn is_public(self) -> bool {
        matches!(self, AppType::Spa | AppType::Native)
    }
}

/// OAuth 2.0 grant types, as Auth0 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GrantType {
    /// `authorization_code`.
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    /// `implicit`.
    #[serde(rename = "implicit")]
    Implicit,
    /// `refresh_token`.
    #[serde(rename = "refresh_token")]
    RefreshToken,
    /// `client_credentials`.
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// `password`.
    #[serde(rename = "password")]
    Password,
    /// Auth0's password grant with a realm (connection).
    #[serde(rename = "http://auth0.com/oauth/grant-type/password-realm")]
    PasswordRealm,
    /// RFC 8628 device authorization.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
    /// Auth0's passwordless grant: a one-time code sent by an `email` or `sms` connection.
    #[serde(rename = "http://auth0.com/oauth/grant-type/passwordless/otp")]
    PasswordlessOtp,
    /// RFC 7523's JWT bearer grant, the one Auth0's legacy `/delegation` endpoint takes (an ID
    /// token for a new one), allowed only while the tenant enables legacy delegation.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
    /// Auth0's MFA grant with a code from an authenticator app.
    #[serde(rename = "http://auth0.com/oauth/grant-type/mfa-otp")]
    MfaOtp,
    /// Auth0's MFA grant with a code sent out of band (email).
    #[serde(rename = "http://auth0.com/oauth/grant-type/mfa-oob")]
    MfaOob,
    /// Auth0's MFA grant with the recovery code.
    #[serde(rename = "http://auth0.com/oauth/grant-type/mfa-recovery-code")]
    MfaRecoveryCode,
}

impl GrantType {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Implicit => "implicit",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
            GrantType::PasswordRealm => "http://auth0.com/oauth/grant-type/password-realm",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
            GrantType::PasswordlessOtp => "http://auth0.com/oauth/grant-type/passwordless/otp",
            GrantType::MfaOtp => "http://auth0.com/oauth/grant-type/mfa-otp",
            GrantType::MfaOob => "http://auth0.com/oauth/grant-type/mfa-oob",
            GrantType::MfaRecoveryCode => "http://auth0.com/oauth/grant-type/mfa-recovery-code",
        }
    }

    /// The grant named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// Public client: no secret, PKCE instead.
    None,
    /// Secret in the request body.
    ClientSecretPost,
    /// Secret in HTTP Basic authentication.
    ClientSecretBasic,
    /// A JWT signed with one of the client's registered keys (RFC 7523).
    PrivateKeyJwt,
}

/// How the client's ID tokens are made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JwtConfiguration {
    /// RS256 (default) or HS256 (signed with the client secret).
    pub alg: Algorithm,
    /// ID token lifetime.
    pub lifetime_in_seconds: u32,
}

impl Default for JwtConfiguration {
    fn default() -> Self {
        JwtConfiguration {
            alg: Algorithm::RS256,
            lifetime_in_seconds: 36_000,
        }
    }
}

/// Whether refresh tokens rotate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshTokenRotation {
    /// Each use returns a new refresh token; reuse revokes the family.
    Rotating,
    /// The same token is used again and again.
    NonRotating,
}

/// Whether refresh tokens expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshTokenExpiration {
    /// Absolute and idle lifetimes apply.
    Expiring,
    /// Valid until revoked.
    NonExpiring,
}

/// Auth0's `refresh_token` client settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshTokenPolicy {
    /// Rotation.
    pub rotation_type: RefreshTokenRotation,
    /// Expiry.
    pub expiration_type: RefreshTokenExpiration,
    /// Seconds a rotated token may still be exchanged (for racing tabs) before reuse counts as
    /// an attack.
    pub leeway: u32,
    /// Absolute lifetime in seconds.
    pub token_lifetime: u32,
    /// Ignore `token_lifetime`.
    pub infinite_token_lifetime: bool,
    /// Lifetime without use, in seconds.
    pub idle_token_lifetime: u32,
    /// Ignore `idle_token_lifetime`.
    pub infinite_idle_token_lifetime: bool,
}

impl Default for RefreshTokenPolicy {
    fn default() -> Self {
        RefreshTokenPolicy {
            rotation_type: RefreshTokenRotation::NonRotating,
            expiration_type: RefreshTokenExpiration::NonExpiring,
            leeway: 0,
            token_lifetime: 2_592_000,
            infinite_token_lifetime: true,
            idle_token_lifetime: 1_296_000,
            infinite_idle_token_lifetime: true,
        }
    }
}

impl RefreshTokenPolicy {
    /// Rotating and expiring, as Auth0 sets up single-page applications.
    pub fn rotating() -> Self {
        RefreshTokenPolicy {
            rotation_type: RefreshTokenRotation::Rotating,
            expiration_type: RefreshTokenExpiration::Expiring,
            infinite_token_lifetime: false,
            infinite_idle_token_lifetime: false,
            ..RefreshTokenPolicy::default()
        }
    }
}

/// A public key registered for `private_key_jwt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCredential {
    /// `cred_…`.
    pub id: String,
    /// A name for people.
    #[serde(default)]
    pub name: Option<String>,
    /// The `kid` assertions may name it by (Auth0's credential `kid`); without one, the key is
    /// found by the assertion's `alg` alone.
    #[serde(default)]
    pub kid: Option<String>,
    /// The algorithm assertions must use.
    pub alg: Algorithm,
    /// The public key, SPKI PEM.
    pub pem: String,
    /// When it was added.
    pub created_at: UnixTime,
}

/// The parts of Auth0's client object that no query looks inside: stored together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientSettings {
    /// Free text.
    pub description: Option<String>,
    /// Logo shown on login pages.
    pub logo_uri: Option<String>,
    /// Allowed redirect URIs, matched exactly.
    pub callbacks: Vec<String>,
    /// Allowed `returnTo` URLs after logout.
    pub allowed_logout_urls: Vec<String>,
    /// Origins allowed for silent authentication and CORS.
    pub web_origins: Vec<String>,
    /// Origins allowed for cross-origin authentication.
    pub allowed_origins: Vec<String>,
    /// Grants the client may use.
    pub grant_types: Vec<GrantType>,
    /// How it authenticates at the token endpoint.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// ID token settings.
    pub jwt_configuration: JwtConfiguration,
    /// Refresh token settings.
    pub refresh_token: RefreshTokenPolicy,
    /// Free string key/values.
    pub client_metadata: BTreeMap<String, String>,
    /// Keys for `private_key_jwt`.
    pub credentials: Vec<ClientCredential>,
    /// Auth0's OIDC-conformant switch; Sigil always behaves conformantly.
    pub oidc_conformant: bool,
    /// Auth0's "Trust Token Endpoint IP Header": the end user's address is taken from the
    /// `auth0-forwarded-for` header of this (confidential) client's password grants.
    pub is_token_endpoint_ip_header_trusted: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings::for_type(AppType::RegularWeb)
    }
}

impl ClientSettings {
    /// Auth0's defaults for a new application of `app_type`.
    pub fn for_type(app_type: AppType) -> Self {
        use GrantType::*;
        let (grant_types, method, refresh) = match app_type {
            AppType::Spa => (
                vec![AuthorizationCode, Implicit, RefreshToken],
                TokenEndpointAuthMethod::None,
                RefreshTokenPolicy::rotating(),
            ),
            AppType::Native => (
                vec![AuthorizationCode, Implicit, RefreshToken],
                TokenEndpointAuthMethod::None,
                RefreshTokenPolicy::rotating(),
            ),
            AppType::RegularWeb => (
                vec![AuthorizationCode, Implicit, RefreshToken, ClientCredentials],
                TokenEndpointAuthMethod::ClientSecretPost,
                RefreshTokenPolicy::default(),
            ),
            AppType::NonInteractive => (
                vec![ClientCredentials],
                TokenEndpointAuthMethod::ClientSecretPost,
                RefreshTokenPolicy::default(),
            ),
        };
        ClientSettings {
            description: None,
            logo_uri: None,
            callbacks: Vec::new(),
            allowed_logout_urls: Vec::new(),
            web_origins: Vec::new(),
            allowed_origins: Vec::new(),
            grant_types,
            token_endpoint_auth_method: method,
            jwt_configuration: JwtConfiguration::default(),
            refresh_token: refresh,
            client_metadata: BTreeMap::new(),
            credentials: Vec::new(),
            oidc_conformant: true,
            is_token_endpoint_ip_header_trusted: false,
        }
    }
}
