//! A federated connection's settings: its `options` in Auth0's names, checked per strategy
//! when the Management API writes them ([`check_options`]), and read at each login as what
//! the relying party needs ([`Settings::of`]): the upstream's metadata, the scopes, PKCE, how
//! the root attributes are refreshed.
//!
//! OpenID providers are configured by discovery (`discovery_url`, fetched by the server when
//! the connection is written and kept in `options.oidc_metadata`, as Auth0 does) or by their
//! endpoints written out. The presets (`google-oauth2`, `okta`) carry their providers' own
//! endpoints; only the operator may point a preset elsewhere ([`PresetEndpoints`], for tests
//! and sovereign clouds), never a connection's options.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use url::Url;

use super::id_token::{DEFAULT_ALGORITHMS, IdTokenPolicy, IssuerRule};
use super::metadata::{MetadataError, ProviderMetadata, UrlPolicy, discovery_url};
use super::request::Pkce;
use crate::model::{Strategy, Upstream, UpstreamSecrets};

/// The option that holds the upstream's metadata once discovered.
pub const METADATA: &str = "oidc_metadata";

/// Why a connection's options are refused: the option (a path such as
/// `connection_settings.pkce`) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct OptionsError {
    /// The option, as a path under `options`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

pub(crate) fn refuse(field: impl Into<String>, message: impl Into<String>) -> OptionsError {
    OptionsError {
        field: field.into(),
        message: message.into(),
    }
}

impl From<MetadataError> for OptionsError {
    fn from(e: MetadataError) -> Self {
        match e {
            MetadataError::Url { field, url, why } => refuse(field, format!("{url:?} {why}")),
            MetadataError::Issuer { expected, found } => refuse(
                "issuer",
                format!("is {expected:?}, but the provider's metadata names {found:?}"),
            ),
            MetadataError::Malformed(why) => refuse(METADATA, why),
        }
    }
}

/// Where the operator points a preset instead of its provider (`--federation-endpoint
/// google-oauth2=http://127.0.0.1:9001`): the base its discovery document is read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresetEndpoints(pub BTreeMap<&'static str, Url>);

impl PresetEndpoints {
    /// The base the operator set for `strategy`.
    pub fn get(&self, strategy: Strategy) -> Option<&Url> {
        self.0.get(strategy.as_str())
    }
}

/// What the operator decided about upstreams: which URLs may be used, and where presets point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Which URLs are allowed.
    pub urls: UrlPolicy,
    /// Presets pointed elsewhere.
    pub presets: PresetEndpoints,
}

/// A discovery document to read before a connection is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// Where.
    pub url: Url,
    /// The issuer it must name, when the options configured one.
    pub issuer: Option<String>,
}

/// How an OpenID provider answers the browser: Auth0's `options.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// `back_channel`: a code, exchanged with the connection's secret (the default).
    Back,
    /// `front_channel`: an ID token POSTed to the callback (`response_mode=form_post`), no
    /// secret.
    Front,
}

/// How the upstream says who the user is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OpenID Connect: its ID token (and UserInfo, when the connection asks).
    OpenId,
    /// Any OAuth 2.0 provider (a custom `oauth2` connection): the tenant's profile script,
    /// `fetchUserProfile(accessToken, ctx, callback)`, run by the Actions engine with its
    /// limits, says who the user is.
    Script {
        /// The script's source.
        code: String,
    },
    /// Facebook: OAuth 2.0, then the Graph API's `/me` with the app secret's proof.
    Facebook {
        /// The Graph API's base (`https://graph.facebook.com/v19.0`).
        graph: String,
    },
    /// GitHub: OAuth 2.0, then its REST API's `/user`, and `/user/emails` for the addresses
    /// (with their `verified` flags) when the connection asks for `user:email`.
    GitHub {
        /// The API's base (`https://api.github.com`, or a GitHub Enterprise-shaped
        /// `<base>/api/v3` when the operator moves the preset).
        api: String,
        /// Whether `/user/emails` is read.
        emails: bool,
    },
}

/// When a returning user's root attributes are refreshed from the upstream (Auth0's
/// `set_user_root_attributes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootAttributes {
    /// At every login (the default).
    OnEachLogin,
    /// At the first login only; afterwards they are the tenant's to edit.
    OnFirstLogin,
    /// Never from the upstream.
    NeverOnLogin,
}

/// How the code is exchanged (the upstream's `token_endpoint_auth_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAuth {
    /// The secret in the form (the default).
    Post,
    /// The secret in HTTP Basic.
    Basic,
}

/// One of `options.upstream_params`: a fixed value, or the value of one of the application's
/// `/authorize` parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamParam {
    /// `{"value": "…"}`.
    Value(String),
    /// `{"alias": "login_hint"}`.
    Alias(String),
}

/// The `/authorize` parameters an upstream parameter may take its value from (of Auth0's list,
/// those Sigil keeps for the upstream leg).
pub const ALIASES: [&str; 5] = ["audience", "client_id", "login_hint", "max_age", "prompt"];

/// Auth0's other aliases, whose `/authorize` parameters Sigil does not keep for the upstream
/// leg: refused by name rather than silently sending nothing.
const UNKEPT_ALIASES: [&str; 7] = [
    "acr_values",
    "display",
    "id_token_hint",
    "resource",
    "response_mode",
    "response_type",
    "ui_locales",
];

/// What a login through the connection needs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The connection's client id at the upstream.
    pub client_id: String,
    /// Its secret there, when it has one.
    pub client_secret: Option<String>,
    /// Code or ID token.
    pub channel: Channel,
    /// The upstream's endpoints and issuer.
    pub metadata: ProviderMetadata,
    /// Which issuer its tokens must carry.
    pub issuer: IssuerRule,
    /// The scopes asked for (`openid` first).
    pub scope: Vec<String>,
    /// Whether PKCE is used.
    pub pkce: Pkce,
    /// Whether UserInfo is read after the ID token.
    pub userinfo: bool,
    /// When root attributes are refreshed.
    pub root_attributes: RootAttributes,
    /// The upstream's attributes never stored.
    pub non_persistent_attrs: Vec<String>,
    /// Extra parameters for the upstream's authorization request.
    pub upstream_params: Vec<(String, UpstreamParam)>,
    /// How the code is exchanged.
    pub token_auth: TokenAuth,
    /// How the upstream says who the user is.
    pub protocol: Protocol,
    /// The claim that is the user's id at the upstream (`sub`; Azure AD's `oid` by default).
    pub user_id_claim: &'static str,
    /// Whether an email it gives is believed verified.
    pub email_trust: EmailTrust,
    /// Sign in with Apple: the client secret is a short-lived ES256 JWT signed with the team's
    /// key (`app_secret`), made for each code exchange.
    pub apple: Option<AppleSecret>,
    /// Whether the upstream answers by POSTing to the callback (`response_mode=form_post`).
    pub form_post: bool,
}

/// What Sign in with Apple's client secret is made from.
#[derive(Clone)]
pub struct AppleSecret {
    /// The Apple Developer team (`iss`).
    pub team_id: String,
    /// The key's id (`kid`).
    pub key_id: String,
    /// The key, PKCS#8 PEM (Apple's `.p8`).
    pub key_pem: String,
}

impl std::fmt::Debug for AppleSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppleSecret")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// How long a Sign in with Apple client secret lives (Apple allows up to six months; one
/// exchange needs minutes).
pub const APPLE_SECRET_LIFETIME: i64 = 300;

impl AppleSecret {
    /// The client secret for `client_id` (the Services ID) at `now`: an ES256 JWT with Apple's
    /// claims (`iss` the team, `sub` the client, `aud` Apple), signed with the team's key.
    pub fn client_secret(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
    ) -> Result<String, String> {
        let key = sigil_jose::PrivateKey::from_pem(&self.key_pem)
            .map_err(|e| format!("the app_secret is not a usable key: {e}"))?;
        let signer = sigil_jose::SigningKey::new(key, sigil_jose::Algorithm::ES256)
            .map_err(|e| format!("the app_secret is not a P-256 key: {e}"))?
            .with_kid(Some(self.key_id.clone()));
        signer
            .sign(&serde_json::json!({
                "iss": self.team_id,
                "iat": now,
                "exp": now + APPLE_SECRET_LIFETIME,
                "aud": audience,
                "sub": client_id,
            }))
            .map_err(|e| e.to_string())
    }
}

/// Whether a connection's emails are verified (Azure AD says nothing of it; Auth0's
/// `should_trust_email_verified_connection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailTrust {
    /// As the provider says, with the email (`email_verified`).
    AsSaid,
    /// Always (a single tenant the tenant trusts).
    Always,
    /// Never.
    Never,
}

impl Settings {
    /// The profile of an OpenID provider's user, from the checked ID token's claims and
    /// UserInfo's: the id from the connection's id claim, the email believed as the connection
    /// says (Azure AD without an `email` gives its UPN, never believed).
    pub fn openid_profile(
        &self,
        token: &super::id_token::UpstreamClaims,
        userinfo: Option<&Map<String, Value>>,
    ) -> Result<super::Profile, super::ProfileError> {
        let mut profile = super::Profile::from_oidc(token, userinfo)?;
        if self.user_id_claim != "sub" {
            profile.upstream_id = token
                .claims
                .get(self.user_id_claim)
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .ok_or(super::ProfileError::NoId)?
                .to_owned();
        }
        if self.email_trust != EmailTrust::AsSaid {
            if profile.email.is_none() {
                profile.email = ["upn", "preferred_username"]
                    .iter()
                    .filter_map(|c| token.claims.get(*c).and_then(Value::as_str))
                    .find(|v| v.contains('@'))
                    .map(str::to_owned);
                profile.email_verified = false;
            } else {
                profile.email_verified = self.email_trust == EmailTrust::Always;
            }
        }
        Ok(profile)
    }

    /// How the connection's upstream ID tokens are checked.
    pub fn id_token_policy(&self) -> IdTokenPolicy {
        IdTokenPolicy {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
        }
    }

    /// Where a browser ends its session at the upstream (`/v2/logout?federated`): the
    /// provider's `end_session_endpoint` (OpenID RP-Initiated Logout) with the connection's
    /// client id and, when given, where the provider should send the browser afterwards.
    /// `None` when the provider publishes no such endpoint.
    pub fn logout_url(&self, return_to: Option<&str>) -> Option<String> {
        let endpoint = self.metadata.end_session_endpoint.as_deref()?;
        let mut url = Url::parse(endpoint).ok()?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("client_id", &self.client_id);
            if let Some(target) = return_to {
                query.append_pair("post_logout_redirect_uri", target);
            }
        }
        Some(url.into())
    }

    /// Facebook's `/me` for the user of `access_token`, with the fields Sigil reads and the
    /// `appsecret_proof` Facebook asks of server calls (HMAC-SHA256 of the token under the app
    /// secret, hex).
    pub fn facebook_me(&self, graph: &str, access_token: &str) -> String {
        use aws_lc_rs::hmac;
        let key = hmac::Key::new(
            hmac::HMAC_SHA256,
            self.client_secret.as_deref().unwrap_or_default().as_bytes(),
        );
        let proof: String = hmac::sign(&key, access_token.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "{graph}/me?fields=id,name,email,first_name,last_name,picture&appsecret_proof={proof}"
        )
    }

    /// The extra parameters for the upstream, given the application's `/authorize`
    /// parameters by name.
    pub fn upstream_parameters(
        &self,
        asked: impl Fn(&str) -> Option<String>,
    ) -> Vec<(String, String)> {
        self.upstream_params
            .iter()
            .filter_map(|(name, param)| match param {
                UpstreamParam::Value(v) => Some((name.clone(), v.clone())),
                UpstreamParam::Alias(alias) => asked(alias).map(|v| (name.clone(), v)),
            })
            .collect()
    }
}

/// The options each strategy takes, beyond those every federated strategy takes.
fn known(strategy: Strategy) -> &'static [&'static str] {
    const OIDC: &[&str] = &[
        "type",
        "discovery_url",
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        METADATA,
        "scope",
        "scopes",
        "connection_settings",
        "attribute_map",
        "token_endpoint_auth_method",
        "domain_aliases",
        "tenant_domain",
        "icon_url",
    ];
    const WINDOWSLIVE: &[&str] = &[
        "scope",
        "offline_access",
        "signin",
        "emails",
        "strategy_version",
    ];
    const LINKEDIN: &[&str] = &["scope", "profile", "email", "strategy_version"];
    const FACEBOOK: &[&str] = &["scope", "email", "public_profile"];
    const APPLE: &[&str] = &["app_secret", "team_id", "kid", "scope", "name", "email"];
    const OAUTH2: &[&str] = &[
        "authorizationURL",
        "tokenURL",
        "scope",
        "scripts",
        "pkce_enabled",
        "icon_url",
        "authParams",
    ];
    const WAAD: &[&str] = &[
        "tenant_domain",
        "domain",
        "tenantId",
        "waad_common_endpoint",
        "useCommonEndpoint",
        "waad_protocol",
        "app_id",
        "identity_api",
        "should_trust_email_verified_connection",
        "userid_attribute",
        "basic_profile",
        "ext_profile",
        "ext_groups",
        "ext_nested_groups",
        "api_enable_users",
        "max_groups_to_retrieve",
        "domain_aliases",
        "thumbprints",
        "icon_url",
        "scope",
        METADATA,
    ];
    const GITHUB: &[&str] = &[
        "scope",
        "freeform_scopes",
        "profile",
        "email",
        "read_user",
        "follow",
        "public_repo",
        "repo",
        "repo_deployment",
        "repo_status",
        "delete_repo",
        "notifications",
        "gist",
        "read_repo_hook",
        "write_repo_hook",
        "admin_repo_hook",
        "read_org",
        "write_org",
        "admin_org",
        "read_public_key",
        "write_public_key",
        "admin_public_key",
    ];
    const GOOGLE: &[&str] = &[
        "scope",
        "allowed_audiences",
        "email",
        "profile",
        "offline_access",
    ];
    match strategy {
        Strategy::Oidc => OIDC,
        // Okta's are OIDC's, and its domain.
        Strategy::Okta => OIDC,
        Strategy::Google => GOOGLE,
        Strategy::Github => GITHUB,
        Strategy::Waad => WAAD,
        Strategy::OAuth2 => OAUTH2,
        Strategy::Apple => APPLE,
        Strategy::WindowsLive => WINDOWSLIVE,
        Strategy::Linkedin => LINKEDIN,
        Strategy::Facebook => FACEBOOK,
        _ => &[],
    }
}

/// Options every federated strategy takes.
const COMMON: [&str; 5] = [
    "client_id",
    "client_secret",
    "set_user_root_attributes",
    "non_persistent_attrs",
    "upstream_params",
];

/// GitHub's boolean options and the scope each asks for (Auth0's names; `profile` is GitHub's
/// public profile, which needs no scope).
const GITHUB_SCOPES: [(&str, &str); 19] = [
    ("email", "user:email"),
    ("read_user", "read:user"),
    ("follow", "user:follow"),
    ("public_repo", "public_repo"),
    ("repo", "repo"),
    ("repo_deployment", "repo_deployment"),
    ("repo_status", "repo:status"),
    ("delete_repo", "delete_repo"),
    ("notifications", "notifications"),
    ("gist", "gist"),
    ("read_repo_hook", "read:repo_hook"),
    ("write_repo_hook", "write:repo_hook"),
    ("admin_repo_hook", "admin:repo_hook"),
    ("read_org", "read:org"),
    ("write_org", "write:org"),
    ("admin_org", "admin:org"),
    ("read_public_key", "read:public_key"),
    ("write_public_key", "write:public_key"),
    ("admin_public_key", "admin:public_key"),
];

/// The largest profile script kept (Auth0's limit on a connection's scripts is 100 kB).
pub const MAX_SCRIPT: usize = 100 * 1024;

/// The options with a connection's secret options moved out of them.
pub const SECRETS: [&str; 2] = ["client_secret", "app_secret"];

/// Options checked for a strategy, with the secrets taken out, and the discovery document
/// still to read, if any.
#[derive(Debug)]
pub struct CheckedOptions {
    /// What `options` keep (and the API shows).
    pub options: Map<String, Value>,
    /// The secrets, sealed apart.
    pub secrets: UpstreamSecrets,
    /// The discovery document the server must read before the connection is written; its
    /// metadata goes in with [`CheckedOptions::discovered`].
    pub discovery: Option<Discovery>,
}

impl CheckedOptions {
    /// The options with the upstream's discovered metadata in them.
    pub fn discovered(&mut self, metadata: &ProviderMetadata) {
        if let Ok(Value::Object(m)) = serde_json::to_value(metadata) {
            self.options.insert(METADATA.to_owned(), Value::Object(m));
        }
    }

    /// The connection's upstream part, once complete.
    pub fn into_upstream(self) -> Upstream {
        Upstream {
            options: self.options,
            secrets: self.secrets,
        }
    }
}

fn text<'a>(options: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, OptionsError> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(refuse(name, "must be a string")),
    }
}

fn flag(options: &Map<String, Value>, name: &str) -> Result<Option<bool>, OptionsError> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(refuse(name, "must be true or false")),
    }
}

/// Checks `options` for a new or changed `strategy` connection: every option known, each of
/// the right type, URLs allowed by `policy`. A secret the options leave out is kept from
/// `kept` (the connection's current secrets), so a tool that writes back what it read keeps
/// the secret it was never shown.
pub fn check_options(
    strategy: Strategy,
    mut options: Map<String, Value>,
    kept: &UpstreamSecrets,
    operator: &Policy,
) -> Result<CheckedOptions, OptionsError> {
    let (policy, presets) = (operator.urls, &operator.presets);
    if !strategy.is_federated() {
        return Err(refuse(
            "strategy",
            "is not a strategy of another identity provider",
        ));
    }
    if let Some(unknown) = options.keys().find(|k| {
        let k = k.as_str();
        let okta_domain = strategy == Strategy::Okta && k == "domain";
        !(COMMON.contains(&k) || known(strategy).contains(&k) || okta_domain)
    }) {
        return Err(refuse(
            unknown.clone(),
            "is not an option Sigil knows for this strategy",
        ));
    }
    let mut secrets = kept.clone();
    for name in SECRETS {
        match options.remove(name) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if !s.is_empty() => {
                secrets.0.insert(name.to_owned(), s);
            }
            Some(_) => return Err(refuse(name, "must be a non-empty string")),
        }
    }
    if text(&options, "client_id")?.is_none() {
        return Err(refuse("client_id", "is required"));
    }
    let mut checked = CheckedOptions {
        options,
        secrets,
        discovery: None,
    };
    // Every option is read once here, so a bad one is refused when written, not at a login.
    let metadata = match strategy {
        Strategy::Waad => {
            let o = &checked.options;
            let tenant = waad_tenant(o)?;
            let base = presets.get(strategy).map_or_else(
                || MICROSOFT.to_owned(),
                |b| b.as_str().trim_end_matches('/').to_owned(),
            );
            checked.discovery = Some(Discovery {
                url: policy.check(
                    "tenant_domain",
                    &discovery_url(&format!("{base}/{tenant}/v2.0")),
                )?,
                issuer: None,
            });
            None
        }
        Strategy::Oidc | Strategy::Okta => {
            let o = &checked.options;
            let domain = if strategy == Strategy::Okta {
                let domain = text(o, "domain")?.ok_or_else(|| refuse("domain", "is required"))?;
                if !domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':')
                {
                    return Err(refuse(
                        "domain",
                        "must be a host name, such as dev-1234.okta.com",
                    ));
                }
                Some(domain.to_owned())
            } else {
                None
            };
            let configured = text(o, "discovery_url")?.map(str::to_owned).or_else(|| {
                domain.map(|d| match presets.get(strategy) {
                    Some(base) => base.to_string(),
                    None => format!("https://{d}"),
                })
            });
            let explicit = text(o, "jwks_uri")?.is_some() && configured.is_none();
            if let Some(configured) = configured {
                checked.discovery = Some(Discovery {
                    url: policy.check("discovery_url", &discovery_url(&configured))?,
                    issuer: text(o, "issuer")?.map(str::to_owned),
                });
                None
            } else if explicit {
                Some(explicit_metadata(o)?)
            } else {
                return Err(refuse(
                    "discovery_url",
                    "is required (or issuer, authorization_endpoint, token_endpoint and jwks_uri)",
                ));
            }
        }
        _ => None,
    };
    if let Some(metadata) = metadata {
        checked.discovered(&metadata.checked(policy)?);
    }
    // The rest is checked as a login reads it, against placeholder metadata when discovery
    // is still to come.
    let mut probe = checked.options.clone();
    if checked.discovery.is_some() {
        probe.insert(
            METADATA.to_owned(),
            serde_json::json!({
                "issuer": "https://probe.invalid/",
                "authorization_endpoint": "https://probe.invalid/a",
                "token_endpoint": "https://probe.invalid/t",
                "jwks_uri": "https://probe.invalid/k",
            }),
        );
    }
    read(strategy, &probe, &checked.secrets, policy, presets)?;
    Ok(checked)
}

/// Metadata written out in the options (no discovery).
fn explicit_metadata(o: &Map<String, Value>) -> Result<ProviderMetadata, OptionsError> {
    let required = |name: &str| -> Result<String, OptionsError> {
        text(o, name)?
            .map(str::to_owned)
            .ok_or_else(|| refuse(name, "is required when there is no discovery_url"))
    };
    Ok(ProviderMetadata {
        issuer: required("issuer")?,
        authorization_endpoint: required("authorization_endpoint")?,
        token_endpoint: required("token_endpoint")?,
        userinfo_endpoint: text(o, "userinfo_endpoint")?.map(str::to_owned),
        jwks_uri: Some(required("jwks_uri")?),
        end_session_endpoint: None,
        // Written-out endpoints say nothing of PKCE: S256 is tried ("auto" assumes it).
        code_challenge_methods_supported: vec!["S256".to_owned()],
        authorization_response_iss_parameter_supported: false,
    })
}

impl Settings {
    /// What a login through `strategy` with `upstream` needs; refused when the stored options
    /// no longer make sense (written by an older build, or edited by hand).
    pub fn of(
        strategy: Strategy,
        upstream: &Upstream,
        operator: &Policy,
    ) -> Result<Settings, OptionsError> {
        read(
            strategy,
            &upstream.options,
            &upstream.secrets,
            operator.urls,
            &operator.presets,
        )
    }
}

/// Microsoft's identity platform, where `waad` connections discover their tenant.
const MICROSOFT: &str = "https://login.microsoftonline.com";

/// A `waad` connection's tenant in the discovery URL: `common` with the common (multi-tenant)
/// endpoint, else its `tenant_domain` (`contoso.onmicrosoft.com` or the tenant's id).
fn waad_tenant(o: &Map<String, Value>) -> Result<String, OptionsError> {
    let common = flag(o, "waad_common_endpoint")?.or(flag(o, "useCommonEndpoint")?) == Some(true);
    if common {
        return Ok("common".to_owned());
    }
    let tenant = text(o, "tenant_domain")?
        .or(text(o, "domain")?)
        .ok_or_else(|| {
            refuse(
                "tenant_domain",
                "is required (or waad_common_endpoint: true)",
            )
        })?;
    if !tenant
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(refuse(
            "tenant_domain",
            "must be a domain or a tenant id, such as contoso.onmicrosoft.com",
        ));
    }
    Ok(tenant.to_owned())
}

/// Google's endpoints (its discovery document, read on 2026-08-20), which the preset uses
/// without reading it.
fn google_metadata() -> ProviderMetadata {
    ProviderMetadata {
        issuer: "https://accounts.google.com".to_owned(),
        authorization_endpoint: "https://accounts.google.com/o/oauth2/v2/auth".to_owned(),
        token_endpoint: "https://oauth2.googleapis.com/token".to_owned(),
        userinfo_endpoint: Some("https://openidconnect.googleapis.com/v1/userinfo".to_owned()),
        jwks_uri: Some("https://www.googleapis.com/oauth2/v3/certs".to_owned()),
        end_session_endpoint: None,
        code_challenge_methods_supported: vec!["plain".to_owned(), "S256".to_owned()],
        authorization_response_iss_parameter_supported: false,
    }
}

/// The Graph API version the `facebook` preset calls.
pub const FACEBOOK_GRAPH_VERSION: &str = "v19.0";

/// Microsoft personal accounts' endpoints (`windowslive`: the `consumers` tenant of
/// Microsoft's identity platform, whose tokens carry that tenant's fixed id as issuer).
fn microsoft_account_metadata() -> ProviderMetadata {
    ProviderMetadata {
        issuer: "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
            .to_owned(),
        authorization_endpoint: "https://login.microsoftonline.com/consumers/oauth2/v2.0/authorize"
            .to_owned(),
        token_endpoint: "https://login.microsoftonline.com/consumers/oauth2/v2.0/token".to_owned(),
        userinfo_endpoint: Some("https://graph.microsoft.com/oidc/userinfo".to_owned()),
        jwks_uri: Some(
            "https://login.microsoftonline.com/consumers/discovery/v2.0/keys".to_owned(),
        ),
        end_session_endpoint: Some(
            "https://login.microsoftonline.com/consumers/oauth2/v2.0/logout".to_owned(),
        ),
        code_challenge_methods_supported: vec!["S256".to_owned()],
        authorization_response_iss_parameter_supported: false,
    }
}

/// LinkedIn's OpenID Connect endpoints ("Sign In with LinkedIn using OpenID Connect"; no PKCE
/// for web applications).
fn linkedin_metadata() -> ProviderMetadata {
    ProviderMetadata {
        issuer: "https://www.linkedin.com/oauth".to_owned(),
        authorization_endpoint: "https://www.linkedin.com/oauth/v2/authorization".to_owned(),
        token_endpoint: "https://www.linkedin.com/oauth/v2/accessToken".to_owned(),
        userinfo_endpoint: Some("https://api.linkedin.com/v2/userinfo".to_owned()),
        jwks_uri: Some("https://www.linkedin.com/oauth/openid/jwks".to_owned()),
        end_session_endpoint: None,
        code_challenge_methods_supported: Vec::new(),
        authorization_response_iss_parameter_supported: false,
    }
}

/// Sign in with Apple's endpoints (its discovery document, read on 2026-08-20).
fn apple_metadata() -> ProviderMetadata {
    ProviderMetadata {
        issuer: "https://appleid.apple.com".to_owned(),
        authorization_endpoint: "https://appleid.apple.com/auth/authorize".to_owned(),
        token_endpoint: "https://appleid.apple.com/auth/token".to_owned(),
        userinfo_endpoint: None,
        jwks_uri: Some("https://appleid.apple.com/auth/keys".to_owned()),
        end_session_endpoint: None,
        code_challenge_methods_supported: Vec::new(),
        authorization_response_iss_parameter_supported: false,
    }
}

/// A preset's metadata at the base the operator set: its standard paths under that base, as
/// the stand-ins for tests serve them.
fn at_base(metadata: ProviderMetadata, base: &Url) -> ProviderMetadata {
    let moved = |url: &str| -> String {
        let Ok(parsed) = Url::parse(url) else {
            return url.to_owned();
        };
        let mut at = base.clone();
        let path = format!("{}{}", base.path().trim_end_matches('/'), parsed.path());
        at.set_path(&path);
        at.to_string()
    };
    ProviderMetadata {
        issuer: metadata.issuer,
        authorization_endpoint: moved(&metadata.authorization_endpoint),
        token_endpoint: moved(&metadata.token_endpoint),
        userinfo_endpoint: metadata.userinfo_endpoint.as_deref().map(moved),
        jwks_uri: metadata.jwks_uri.as_deref().map(moved),
        end_session_endpoint: metadata.end_session_endpoint.as_deref().map(moved),
        ..metadata
    }
}

fn scopes(value: Option<&Value>, field: &str) -> Result<Vec<String>, OptionsError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .filter(|s| !s.is_empty() && !s.contains(' '))
                    .map(str::to_owned)
                    .ok_or_else(|| refuse(field, "must list scopes as strings"))
            })
            .collect(),
        Some(_) => Err(refuse(
            field,
            "must be a string of scopes or a list of them",
        )),
    }
}

fn add(scope: &mut Vec<String>, more: impl IntoIterator<Item = String>) {
    for s in more {
        if !scope.contains(&s) {
            scope.push(s);
        }
    }
}

/// Reads the options as a login uses them.
fn read(
    strategy: Strategy,
    o: &Map<String, Value>,
    secrets: &UpstreamSecrets,
    policy: UrlPolicy,
    presets: &PresetEndpoints,
) -> Result<Settings, OptionsError> {
    let client_id = text(o, "client_id")?
        .ok_or_else(|| refuse("client_id", "is required"))?
        .to_owned();
    let client_secret = secrets.get("client_secret").map(str::to_owned);
    let root_attributes = match text(o, "set_user_root_attributes")? {
        None | Some("on_each_login") => RootAttributes::OnEachLogin,
        Some("on_first_login") => RootAttributes::OnFirstLogin,
        Some("never_on_login") => RootAttributes::NeverOnLogin,
        Some(_) => {
            return Err(refuse(
                "set_user_root_attributes",
                "must be on_each_login, on_first_login or never_on_login",
            ));
        }
    };
    let non_persistent_attrs = match o.get("non_persistent_attrs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| refuse("non_persistent_attrs", "must list attribute names"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(refuse("non_persistent_attrs", "must list attribute names")),
    };
    let mut upstream_params: Vec<(String, UpstreamParam)> = match o.get("upstream_params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(params)) => params
            .iter()
            .map(|(name, param)| {
                let field = format!("upstream_params.{name}");
                let p = param
                    .as_object()
                    .ok_or_else(|| refuse(&field, "must be {\"value\": …} or {\"alias\": …}"))?;
                let param = match (p.get("value"), p.get("alias")) {
                    (Some(Value::String(v)), None) => UpstreamParam::Value(v.clone()),
                    (None, Some(Value::String(a))) if UNKEPT_ALIASES.contains(&a.as_str()) => {
                        return Err(refuse(
                            field,
                            format!("alias {a} is not supported yet; {} are", ALIASES.join(", ")),
                        ));
                    }
                    (None, Some(Value::String(a))) if ALIASES.contains(&a.as_str()) => {
                        UpstreamParam::Alias(a.clone())
                    }
                    (None, Some(_)) => {
                        return Err(refuse(
                            field,
                            format!("alias must be one of {}", ALIASES.join(", ")),
                        ));
                    }
                    _ => return Err(refuse(field, "must be {\"value\": …} or {\"alias\": …}")),
                };
                Ok((name.clone(), param))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(refuse("upstream_params", "must be an object")),
    };

    let mut protocol = Protocol::OpenId;
    let mut user_id_claim = "sub";
    let mut email_trust = EmailTrust::AsSaid;
    let mut apple = None;
    let mut form_post = false;
    let (metadata, issuer, mut scope, channel, pkce_setting, userinfo, token_auth) = match strategy
    {
        Strategy::Oidc | Strategy::Okta | Strategy::Waad => {
            let metadata: ProviderMetadata = match o.get(METADATA) {
                Some(m @ Value::Object(_)) => serde_json::from_value(m.clone())
                    .map_err(|e| refuse(METADATA, format!("is not provider metadata: {e}")))?,
                _ => {
                    return Err(refuse(
                        METADATA,
                        "is missing: the provider was never discovered",
                    ));
                }
            };
            let channel = match text(o, "type")? {
                None | Some("back_channel") => Channel::Back,
                Some("front_channel") => Channel::Front,
                Some(_) => return Err(refuse("type", "must be back_channel or front_channel")),
            };
            let scope = if o.contains_key("scope") {
                scopes(o.get("scope"), "scope")?
            } else {
                scopes(o.get("scopes"), "scopes")?
            };
            let pkce = match o.get("connection_settings") {
                None | Some(Value::Null) => "auto".to_owned(),
                Some(Value::Object(s)) => {
                    if let Some(k) = s.keys().find(|k| *k != "pkce") {
                        return Err(refuse(
                            format!("connection_settings.{k}"),
                            "is not a setting Sigil knows",
                        ));
                    }
                    text(s, "pkce")
                        .map_err(|_| refuse("connection_settings.pkce", "must be a string"))?
                        .unwrap_or("auto")
                        .to_owned()
                }
                Some(_) => return Err(refuse("connection_settings", "must be an object")),
            };
            let userinfo = match o.get("attribute_map") {
                None | Some(Value::Null) => false,
                Some(Value::Object(map)) => {
                    if let Some(k) = map
                        .keys()
                        .find(|k| !["mapping_mode", "userinfo_scope"].contains(&k.as_str()))
                    {
                        return Err(refuse(
                            format!("attribute_map.{k}"),
                            "is not supported yet (mapping_mode and userinfo_scope are)",
                        ));
                    }
                    match text(map, "mapping_mode")
                        .map_err(|_| refuse("attribute_map.mapping_mode", "must be a string"))?
                    {
                        None | Some("bind_all") | Some("basic_profile") => {}
                        Some(_) => {
                            return Err(refuse(
                                "attribute_map.mapping_mode",
                                "must be bind_all or basic_profile (use_map is not supported yet)",
                            ));
                        }
                    }
                    match map.get("userinfo_scope") {
                        None | Some(Value::Null) => false,
                        Some(Value::String(s)) => {
                            // The userinfo_scope's scopes are asked for too.
                            !s.trim().is_empty()
                        }
                        Some(_) => {
                            return Err(refuse("attribute_map.userinfo_scope", "must be a string"));
                        }
                    }
                }
                Some(_) => return Err(refuse("attribute_map", "must be an object")),
            };
            let token_auth = match text(o, "token_endpoint_auth_method")? {
                None | Some("client_secret_post") => TokenAuth::Post,
                Some("client_secret_basic") => TokenAuth::Basic,
                Some(_) => {
                    return Err(refuse(
                        "token_endpoint_auth_method",
                        "must be client_secret_post or client_secret_basic \
                         (private_key_jwt is not supported yet)",
                    ));
                }
            };
            // Azure AD's common endpoint names no tenant: its tokens' issuer is the template
            // filled with their own (verified) `tid`.
            let issuer = if metadata.issuer.contains("{tenantid}") {
                IssuerRule::Tenant(metadata.issuer.clone())
            } else {
                IssuerRule::Exact(metadata.issuer.clone())
            };
            if strategy == Strategy::Waad {
                waad_tenant(o)?;
                user_id_claim = match text(o, "userid_attribute")? {
                    None | Some("oid") => "oid",
                    Some("sub") => "sub",
                    Some(_) => return Err(refuse("userid_attribute", "must be oid or sub")),
                };
                email_trust = match text(o, "should_trust_email_verified_connection")? {
                    None | Some("never_set_emails_as_verified") => EmailTrust::Never,
                    Some("always_set_emails_as_verified") => EmailTrust::Always,
                    Some(_) => {
                        return Err(refuse(
                            "should_trust_email_verified_connection",
                            "must be never_set_emails_as_verified or always_set_emails_as_verified",
                        ));
                    }
                };
                if matches!(issuer, IssuerRule::Tenant(_)) && email_trust == EmailTrust::Always {
                    return Err(refuse(
                        "should_trust_email_verified_connection",
                        "cannot be always_set_emails_as_verified with the common endpoint: \
                         any tenant could vouch for any address",
                    ));
                }
            }
            (metadata, issuer, scope, channel, pkce, userinfo, token_auth)
        }
        Strategy::Google => {
            let metadata = match presets.get(strategy) {
                Some(base) => at_base(google_metadata(), base),
                None => google_metadata(),
            };
            let mut scope = vec!["email".to_owned(), "profile".to_owned()];
            for (option, wanted) in [("email", "email"), ("profile", "profile")] {
                if flag(o, option)? == Some(false) {
                    scope.retain(|s| s != wanted);
                }
            }
            add(&mut scope, scopes(o.get("scope"), "scope")?);
            if let Some(audiences) = o.get("allowed_audiences")
                && !matches!(audiences, Value::Null | Value::Array(_) | Value::String(_))
            {
                return Err(refuse("allowed_audiences", "must be a list of client ids"));
            }
            let issuer = IssuerRule::OneOf(vec![
                metadata.issuer.clone(),
                metadata.issuer.trim_start_matches("https://").to_owned(),
            ]);
            (
                metadata,
                issuer,
                scope,
                Channel::Back,
                "auto".to_owned(),
                false,
                TokenAuth::Post,
            )
        }
        Strategy::WindowsLive | Strategy::Linkedin => {
            let preset = if strategy == Strategy::WindowsLive {
                microsoft_account_metadata()
            } else {
                linkedin_metadata()
            };
            let metadata = match presets.get(strategy) {
                Some(base) => at_base(preset, base),
                None => preset,
            };
            let mut scope = vec!["profile".to_owned(), "email".to_owned()];
            let flags: &[(&str, &str)] = if strategy == Strategy::WindowsLive {
                &[("offline_access", "offline_access")]
            } else {
                &[]
            };
            for (option, wanted) in flags {
                if flag(o, option)? == Some(true) {
                    scope.push((*wanted).to_owned());
                }
            }
            for option in ["signin", "emails", "profile", "email"] {
                flag(o, option)?;
            }
            if let Some(version) = o.get("strategy_version")
                && !version.is_number()
            {
                return Err(refuse("strategy_version", "must be a number"));
            }
            add(&mut scope, scopes(o.get("scope"), "scope")?);
            let issuer = IssuerRule::Exact(metadata.issuer.clone());
            (
                metadata,
                issuer,
                scope,
                Channel::Back,
                "auto".to_owned(),
                false,
                TokenAuth::Post,
            )
        }
        Strategy::Facebook => {
            let (web, graph) = match presets.get(strategy) {
                Some(base) => {
                    let base = base.as_str().trim_end_matches('/').to_owned();
                    (base.clone(), base)
                }
                None => (
                    format!("https://www.facebook.com/{FACEBOOK_GRAPH_VERSION}"),
                    format!("https://graph.facebook.com/{FACEBOOK_GRAPH_VERSION}"),
                ),
            };
            let mut scope = vec!["public_profile".to_owned()];
            if flag(o, "email")? != Some(false) {
                scope.push("email".to_owned());
            }
            flag(o, "public_profile")?;
            add(&mut scope, scopes(o.get("scope"), "scope")?);
            policy.check("graph", &graph)?;
            let metadata = ProviderMetadata {
                issuer: web.clone(),
                authorization_endpoint: format!("{web}/dialog/oauth"),
                token_endpoint: format!("{graph}/oauth/access_token"),
                userinfo_endpoint: None,
                jwks_uri: None,
                end_session_endpoint: None,
                code_challenge_methods_supported: vec!["S256".to_owned()],
                authorization_response_iss_parameter_supported: false,
            };
            protocol = Protocol::Facebook { graph };
            let issuer = IssuerRule::Exact(web);
            (
                metadata,
                issuer,
                scope,
                Channel::Back,
                "auto".to_owned(),
                false,
                TokenAuth::Post,
            )
        }
        Strategy::Apple => {
            let metadata = match presets.get(strategy) {
                Some(base) => at_base(apple_metadata(), base),
                None => apple_metadata(),
            };
            let required = |name: &str| -> Result<String, OptionsError> {
                Ok(text(o, name)?
                    .ok_or_else(|| refuse(name, "is required"))?
                    .to_owned())
            };
            let key_pem = secrets
                .get("app_secret")
                .ok_or_else(|| refuse("app_secret", "is required: the team's .p8 key, PEM"))?
                .to_owned();
            let secret = AppleSecret {
                team_id: required("team_id")?,
                key_id: required("kid")?,
                key_pem,
            };
            // The key is checked when written, not at a login.
            secret
                .client_secret("probe", "https://appleid.apple.com", 0)
                .map_err(|e| refuse("app_secret", e))?;
            apple = Some(secret);
            let mut scope = Vec::new();
            for (option, wanted) in [("name", "name"), ("email", "email")] {
                if flag(o, option)? == Some(true) {
                    scope.push(wanted.to_owned());
                }
            }
            add(&mut scope, scopes(o.get("scope"), "scope")?);
            // Apple POSTs its answer whenever a name or an email is asked for.
            form_post = !scope.is_empty();
            let issuer = IssuerRule::Exact(metadata.issuer.clone());
            (
                metadata,
                issuer,
                scope,
                Channel::Back,
                "auto".to_owned(),
                false,
                TokenAuth::Post,
            )
        }
        Strategy::OAuth2 => {
            let url = |name: &str| -> Result<String, OptionsError> {
                Ok(text(o, name)?
                    .ok_or_else(|| refuse(name, "is required"))?
                    .to_owned())
            };
            let code = match o.get("scripts") {
                Some(Value::Object(scripts)) => {
                    if let Some(k) = scripts.keys().find(|k| *k != "fetchUserProfile") {
                        return Err(refuse(
                            format!("scripts.{k}"),
                            "is not a script Sigil runs (fetchUserProfile is)",
                        ));
                    }
                    match scripts.get("fetchUserProfile") {
                        Some(Value::String(code)) if !code.trim().is_empty() => code.clone(),
                        _ => {
                            return Err(refuse(
                                "scripts.fetchUserProfile",
                                "is required: function (accessToken, ctx, callback) { … }",
                            ));
                        }
                    }
                }
                _ => {
                    return Err(refuse(
                        "scripts.fetchUserProfile",
                        "is required: function (accessToken, ctx, callback) { … }",
                    ));
                }
            };
            if code.len() > MAX_SCRIPT {
                return Err(refuse(
                    "scripts.fetchUserProfile",
                    format!("must be at most {MAX_SCRIPT} bytes"),
                ));
            }
            let pkce = match flag(o, "pkce_enabled")? {
                Some(true) => "s256",
                _ => "disabled",
            };
            if let Some(params) = o.get("authParams") {
                let Value::Object(params) = params else {
                    return Err(refuse("authParams", "must be an object of strings"));
                };
                for (name, value) in params {
                    let Value::String(value) = value else {
                        return Err(refuse(format!("authParams.{name}"), "must be a string"));
                    };
                    upstream_params.push((name.clone(), UpstreamParam::Value(value.clone())));
                }
            }
            protocol = Protocol::Script { code };
            let metadata = ProviderMetadata {
                issuer: url("authorizationURL")?,
                authorization_endpoint: url("authorizationURL")?,
                token_endpoint: url("tokenURL")?,
                userinfo_endpoint: None,
                jwks_uri: None,
                end_session_endpoint: None,
                code_challenge_methods_supported: vec!["S256".to_owned()],
                authorization_response_iss_parameter_supported: false,
            };
            let issuer = IssuerRule::Exact(metadata.issuer.clone());
            let scope = scopes(o.get("scope"), "scope")?;
            (
                metadata,
                issuer,
                scope,
                Channel::Back,
                pkce.to_owned(),
                false,
                TokenAuth::Post,
            )
        }
        Strategy::Github => {
            // GitHub.com, or the operator's GitHub Enterprise-shaped stand-in.
            let (web, api) = match presets.get(strategy) {
                Some(base) => {
                    let base = base.as_str().trim_end_matches('/').to_owned();
                    (base.clone(), format!("{base}/api/v3"))
                }
                None => (
                    "https://github.com".to_owned(),
                    "https://api.github.com".to_owned(),
                ),
            };
            let mut scope = Vec::new();
            for (option, wanted) in GITHUB_SCOPES {
                if flag(o, option)? == Some(true) {
                    scope.push(wanted.to_owned());
                }
            }
            flag(o, "profile")?;
            add(&mut scope, scopes(o.get("scope"), "scope")?);
            add(
                &mut scope,
                scopes(o.get("freeform_scopes"), "freeform_scopes")?,
            );
            let emails = scope.iter().any(|s| s == "user:email" || s == "user");
            policy.check("api", &api)?;
            protocol = Protocol::GitHub { api, emails };
            let metadata = ProviderMetadata {
                issuer: web.clone(),
                authorization_endpoint: format!("{web}/login/oauth/authorize"),
                token_endpoint: format!("{web}/login/oauth/access_token"),
                userinfo_endpoint: None,
                jwks_uri: None,
                end_session_endpoint: None,
                code_challenge_methods_supported: vec!["S256".to_owned()],
                authorization_response_iss_parameter_supported: false,
            };
            let issuer = IssuerRule::Exact(web);
            (
                metadata,
                issuer,
                scope,
                Channel::Back,
                "auto".to_owned(),
                false,
                TokenAuth::Post,
            )
        }
        Strategy::Auth0 | Strategy::Email | Strategy::Sms => {
            return Err(refuse(
                "strategy",
                "a database or passwordless connection has no upstream",
            ));
        }
    };
    let metadata = match protocol {
        Protocol::OpenId => metadata.checked(policy)?,
        // No ID token, so no keys: only its two endpoints are checked.
        Protocol::GitHub { .. } | Protocol::Script { .. } | Protocol::Facebook { .. } => {
            policy.check("authorization_endpoint", &metadata.authorization_endpoint)?;
            policy.check("token_endpoint", &metadata.token_endpoint)?;
            metadata
        }
    };
    let pkce = match pkce_setting.as_str() {
        "auto" if metadata.supports_s256() => Pkce::S256,
        "auto" | "disabled" => Pkce::Disabled,
        "s256" => Pkce::S256,
        "plain" => {
            return Err(refuse(
                "connection_settings.pkce",
                "plain gives no protection; use auto, s256 or disabled",
            ));
        }
        _ => {
            return Err(refuse(
                "connection_settings.pkce",
                "must be auto, s256 or disabled",
            ));
        }
    };
    if channel == Channel::Back && client_secret.is_none() && apple.is_none() {
        return Err(refuse(
            "client_secret",
            "is required to exchange codes (type back_channel)",
        ));
    }
    let mut all = match protocol {
        Protocol::OpenId => vec!["openid".to_owned()],
        Protocol::GitHub { .. } | Protocol::Script { .. } | Protocol::Facebook { .. } => Vec::new(),
    };
    add(&mut all, std::mem::take(&mut scope));
    if let Some(Value::Object(map)) = o.get("attribute_map")
        && let Some(Value::String(extra)) = map.get("userinfo_scope")
    {
        add(&mut all, extra.split_whitespace().map(str::to_owned));
    }
    if strategy == Strategy::Google && flag(o, "offline_access")? == Some(true) {
        // Google gives a refresh token for access_type=offline, not for a scope.
        upstream_params.push((
            "access_type".to_owned(),
            UpstreamParam::Value("offline".to_owned()),
        ));
    }
    Ok(Settings {
        client_id,
        client_secret,
        channel,
        metadata,
        issuer,
        scope: all,
        pkce,
        userinfo,
        root_attributes,
        non_persistent_attrs,
        upstream_params,
        token_auth,
        protocol,
        user_id_claim,
        email_trust,
        apple,
        form_post,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn loopback() -> Policy {
        Policy {
            urls: UrlPolicy {
                allow_http_loopback: true,
            },
            ..Policy::default()
        }
    }

    #[test]
    fn options_are_checked_per_strategy_and_secrets_kept_apart() {
        let explicit = json!({
            "client_id": "c", "client_secret": "s",
            "issuer": "https://idp.example/", "authorization_endpoint": "https://idp.example/a",
            "token_endpoint": "https://idp.example/t", "jwks_uri": "https://idp.example/k",
        });
        // (strategy, options, refused option or Ok)
        let cases: [(Strategy, Value, Result<(), &str>); 11] = [
            (Strategy::Oidc, explicit.clone(), Ok(())),
            (
                Strategy::Oidc,
                json!({"client_id": "c", "client_secret": "s", "discovery_url": "https://idp.example"}),
                Ok(()),
            ),
            (
                Strategy::Oidc,
                json!({"client_secret": "s", "discovery_url": "https://idp.example"}),
                Err("client_id"),
            ),
            (
                Strategy::Oidc,
                json!({"client_id": "c", "client_secret": "s", "discovery_url": "http://idp.example"}),
                Err("discovery_url"),
            ),
            (
                Strategy::Oidc,
                json!({"client_id": "c", "client_secret": "s", "discovery_url": "https://idp.example", "upstream_params": {"screen_name": {"alias": "password"}}}),
                Err("upstream_params.screen_name"),
            ),
            (
                Strategy::Okta,
                json!({"client_id": "c", "client_secret": "s"}),
                Err("domain"),
            ),
            (
                Strategy::Google,
                json!({"client_id": "c", "client_secret": "s", "scope": ["calendar"]}),
                Ok(()),
            ),
            (
                Strategy::Google,
                json!({"client_id": "c", "client_secret": "s", "authorization_endpoint": "https://evil.example/"}),
                Err("authorization_endpoint"),
            ),
            (
                Strategy::Github,
                json!({"client_id": "c", "client_secret": "s", "email": "yes"}),
                Err("email"),
            ),
            (
                Strategy::Facebook,
                json!({"client_id": "c", "client_secret": "s", "email": "yes"}),
                Err("email"),
            ),
            (
                Strategy::Apple,
                json!({"client_id": "c", "app_secret": "not a key", "team_id": "T", "kid": "K"}),
                Err("app_secret"),
            ),
        ];
        for (strategy, body, outcome) in cases {
            let checked = check_options(
                strategy,
                options(body.clone()),
                &UpstreamSecrets::default(),
                &Policy::default(),
            );
            match (checked, outcome) {
                (Ok(checked), Ok(())) => {
                    assert!(!checked.options.contains_key("client_secret"), "{body}");
                    assert_eq!(checked.secrets.get("client_secret"), Some("s"));
                }
                (Err(e), Err(field)) => assert_eq!(e.field, field, "{body}: {e}"),
                (got, want) => panic!("{strategy:?} {body}: {got:?}, wanted {want:?}"),
            }
        }
        // A later write without the secret keeps the one stored.
        let kept = UpstreamSecrets([("client_secret".to_owned(), "old".to_owned())].into());
        let mut without = options(explicit);
        without.remove("client_secret");
        let checked = check_options(Strategy::Oidc, without, &kept, &Policy::default()).unwrap();
        assert_eq!(checked.secrets.get("client_secret"), Some("old"));
    }

    #[test]
    fn presets_use_their_providers_endpoints_unless_the_operator_moves_them() {
        let upstream = |o: Value| {
            let checked = check_options(
                Strategy::Google,
                options(o),
                &UpstreamSecrets::default(),
                &loopback(),
            )
            .unwrap();
            checked.into_upstream()
        };
        let google =
            upstream(json!({"client_id": "c", "client_secret": "s", "offline_access": true}));
        let settings = Settings::of(Strategy::Google, &google, &Policy::default()).unwrap();
        assert_eq!(
            settings.metadata.authorization_endpoint,
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        assert_eq!(settings.scope, ["openid", "email", "profile"]);
        assert_eq!(settings.pkce, Pkce::S256);
        assert!(
            matches!(&settings.issuer, IssuerRule::OneOf(i) if i.contains(&"accounts.google.com".to_owned()))
        );
        assert_eq!(
            settings.upstream_parameters(|_| None),
            [("access_type".to_owned(), "offline".to_owned())]
        );
        let mut moved = loopback();
        moved.presets.0.insert(
            "google-oauth2",
            Url::parse("http://127.0.0.1:9001/google").unwrap(),
        );
        let settings = Settings::of(Strategy::Google, &google, &moved).unwrap();
        assert_eq!(
            settings.metadata.token_endpoint,
            "http://127.0.0.1:9001/google/token"
        );
        assert_eq!(
            settings.metadata.issuer, "https://accounts.google.com",
            "the issuer its tokens carry does not move"
        );
    }

    #[test]
    fn azure_ad_discovers_its_tenant_and_checks_the_templated_issuer() {
        let mut moved = loopback();
        moved
            .presets
            .0
            .insert("waad", Url::parse("http://127.0.0.1:9002").unwrap());
        let check = |o: Value, policy: &Policy| {
            check_options(
                Strategy::Waad,
                options(o),
                &UpstreamSecrets::default(),
                policy,
            )
        };
        let common = check(
            json!({"client_id": "c", "client_secret": "s", "waad_common_endpoint": true}),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(
            common.discovery.as_ref().unwrap().url.as_str(),
            "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
        );
        let single = check(
            json!({"client_id": "c", "client_secret": "s", "tenant_domain": "contoso.onmicrosoft.com"}),
            &moved,
        )
        .unwrap();
        assert_eq!(
            single.discovery.as_ref().unwrap().url.as_str(),
            "http://127.0.0.1:9002/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
        );
        for (body, field) in [
            (
                json!({"client_id": "c", "client_secret": "s"}),
                "tenant_domain",
            ),
            (
                json!({"client_id": "c", "client_secret": "s", "tenant_domain": "a/b"}),
                "tenant_domain",
            ),
            (
                json!({"client_id": "c", "client_secret": "s", "waad_common_endpoint": true,
                       "should_trust_email_verified_connection": "always_set_emails_as_verified",
                       "oidc_metadata": {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
                         "authorization_endpoint": "https://login.microsoftonline.com/common/a",
                         "token_endpoint": "https://login.microsoftonline.com/common/t",
                         "jwks_uri": "https://login.microsoftonline.com/common/k"}}),
                "should_trust_email_verified_connection",
            ),
        ] {
            let upstream = Upstream {
                options: options(body.clone()),
                secrets: UpstreamSecrets([("client_secret".to_owned(), "s".to_owned())].into()),
            };
            let refused = check(body.clone(), &Policy::default())
                .err()
                .or_else(|| Settings::of(Strategy::Waad, &upstream, &Policy::default()).err());
            assert_eq!(refused.map(|e| e.field), Some(field.to_owned()), "{body}");
        }

        let mut upstream = common.into_upstream();
        upstream.options.insert(
            METADATA.to_owned(),
            json!({"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
                   "authorization_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                   "token_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                   "jwks_uri": "https://login.microsoftonline.com/common/discovery/v2.0/keys"}),
        );
        let settings = Settings::of(Strategy::Waad, &upstream, &Policy::default()).unwrap();
        assert!(matches!(&settings.issuer, IssuerRule::Tenant(t) if t.contains("{tenantid}")));
        let claims = |c: Value| super::super::UpstreamClaims {
            sub: c["sub"].as_str().unwrap().to_owned(),
            claims: options(c),
        };
        let with_email = settings
            .openid_profile(
                &claims(json!({"sub": "pairwise", "oid": "00000000-aaaa", "email": "a@contoso.com", "email_verified": true})),
                None,
            )
            .unwrap();
        assert_eq!(
            with_email.upstream_id, "00000000-aaaa",
            "Azure's object id, not the pairwise sub"
        );
        assert!(
            !with_email.email_verified,
            "the common endpoint is never believed"
        );
        let upn = settings
            .openid_profile(
                &claims(json!({"sub": "p", "oid": "o", "preferred_username": "b@contoso.com"})),
                None,
            )
            .unwrap();
        assert_eq!(upn.email.as_deref(), Some("b@contoso.com"));
        assert!(!upn.email_verified);
        assert!(
            settings
                .openid_profile(&claims(json!({"sub": "p"})), None)
                .is_err(),
            "no oid"
        );
    }

    #[test]
    fn the_microsoft_account_and_linkedin_presets_are_openid_providers_with_their_own_endpoints() {
        for (strategy, issuer, pkce, extra) in [
            (
                Strategy::WindowsLive,
                "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
                Pkce::S256,
                Some("offline_access"),
            ),
            (
                Strategy::Linkedin,
                "https://www.linkedin.com/oauth",
                Pkce::Disabled,
                None,
            ),
        ] {
            let checked = check_options(
                strategy,
                options(json!({"client_id": "c", "client_secret": "s", "offline_access": true})),
                &UpstreamSecrets::default(),
                &Policy::default(),
            );
            let checked = match (strategy, checked) {
                // LinkedIn has no offline_access option.
                (Strategy::Linkedin, Err(e)) => {
                    assert_eq!(e.field, "offline_access");
                    check_options(
                        strategy,
                        options(json!({"client_id": "c", "client_secret": "s"})),
                        &UpstreamSecrets::default(),
                        &Policy::default(),
                    )
                    .unwrap()
                }
                (_, checked) => checked.unwrap(),
            };
            let settings =
                Settings::of(strategy, &checked.into_upstream(), &Policy::default()).unwrap();
            assert_eq!(settings.metadata.issuer, issuer, "{strategy:?}");
            assert_eq!(settings.pkce, pkce, "{strategy:?}");
            assert_eq!(settings.protocol, Protocol::OpenId);
            assert_eq!(&settings.scope[..3], ["openid", "profile", "email"]);
            assert_eq!(settings.scope.get(3).map(String::as_str), extra);
        }
        let facebook = check_options(
            Strategy::Facebook,
            options(json!({"client_id": "c", "client_secret": "key"})),
            &UpstreamSecrets::default(),
            &Policy::default(),
        )
        .unwrap();
        let settings = Settings::of(
            Strategy::Facebook,
            &facebook.into_upstream(),
            &Policy::default(),
        )
        .unwrap();
        let Protocol::Facebook { graph } = &settings.protocol else {
            panic!("{:?}", settings.protocol);
        };
        // The proof is HMAC-SHA256 of the token under the app secret: the well-known vector of
        // key "key" and "The quick brown fox jumps over the lazy dog".
        assert_eq!(
            settings.facebook_me(graph, "The quick brown fox jumps over the lazy dog"),
            "https://graph.facebook.com/v19.0/me?fields=id,name,email,first_name,last_name,picture\
             &appsecret_proof=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert_eq!(settings.scope, ["public_profile", "email"]);
    }

    #[test]
    fn upstream_params_take_fixed_values_and_the_aliases_sigil_keeps() {
        let settings = |params: Value| {
            let checked = check_options(
                Strategy::Google,
                options(json!({"client_id": "c", "client_secret": "s", "upstream_params": params})),
                &UpstreamSecrets::default(),
                &Policy::default(),
            )?;
            Settings::of(
                Strategy::Google,
                &checked.into_upstream(),
                &Policy::default(),
            )
        };
        let ok = settings(json!({"hd": {"value": "example.com"}, "login_hint": {"alias": "login_hint"}, "prompt": {"alias": "prompt"}}))
            .unwrap();
        let asked = |name: &str| match name {
            "login_hint" => Some("ann@example.com".to_owned()),
            _ => None,
        };
        let mut sent = ok.upstream_parameters(asked);
        sent.sort();
        assert_eq!(
            sent,
            [
                ("hd".to_owned(), "example.com".to_owned()),
                ("login_hint".to_owned(), "ann@example.com".to_owned())
            ]
        );
        for (params, field) in [
            (json!({"x": {"alias": "ui_locales"}}), "upstream_params.x"),
            (json!({"x": {"alias": "password"}}), "upstream_params.x"),
            (json!({"x": {"value": 1}}), "upstream_params.x"),
            (json!({"x": "y"}), "upstream_params.x"),
        ] {
            assert_eq!(
                settings(params.clone()).err().map(|e| e.field),
                Some(field.to_owned()),
                "{params}"
            );
        }
    }
}
