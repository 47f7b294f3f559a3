//! What makes a client's settings coherent, whoever writes them (the Management API, the
//! CLI): URLs and origins parsed the one way, and the rules that tie settings to the
//! application type. Public types (spa, native) cannot keep a secret, so they authenticate
//! with `none` and cannot use the client-credentials grant (Auth0 refuses it too);
//! confidential types must authenticate; HS256 ID tokens need a client secret to sign with.

use sigil_jose::Algorithm;
use url::Url;

use super::client::{AppType, Client, GrantType, TokenEndpointAuthMethod};

/// The ID-token algorithms a client may choose, as Auth0 offers them.
pub const ID_TOKEN_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::RS256, Algorithm::PS256, Algorithm::HS256];

/// Longest ID-token lifetime, in seconds (30 days).
pub const MAX_ID_TOKEN_LIFETIME: u32 = 2_592_000;
/// Longest refresh-token lifetime, absolute or idle, in seconds (365 days).
pub const MAX_REFRESH_TOKEN_LIFETIME: u32 = 31_557_600;
/// Longest reuse leeway of a rotating refresh token, in seconds.
pub const MAX_REFRESH_LEEWAY: u32 = 60;
/// Most `client_metadata` entries, and the longest key or value, as Auth0 allows.
pub const MAX_METADATA_ENTRIES: usize = 10;
/// See [`MAX_METADATA_ENTRIES`].
pub const MAX_METADATA_LENGTH: usize = 255;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_LENGTH: usize = 140;

/// Why a client's settings cannot be accepted, said for the person who wrote them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidClient(pub String);

fn invalid(message: impl Into<String>) -> InvalidClient {
    InvalidClient(message.into())
}

/// A redirect URI or post-logout URL: absolute, no fragment (RFC 6749 §3.1.2), http or https
/// with a host, or a private-use scheme as native apps use (RFC 8252 §7.1: a reverse domain
/// name such as `com.example.app:/callback`). Kept exactly as given: redirect URIs are
/// compared exactly.
pub fn app_url(text: &str) -> Result<String, String> {
    let url = Url::parse(text).map_err(|e| format!("not an absolute URL: {e}"))?;
    if url.fragment().is_some() || text.contains('#') {
        return Err("a redirect URL must not have a fragment (#…)".to_owned());
    }
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(text.to_owned()),
        "http" | "https" => Err("an http(s) URL needs a host".to_owned()),
        scheme if is_private_use_scheme(scheme) => Ok(text.to_owned()),
        scheme => Err(format!(
            "the scheme {scheme:?} is neither http(s) nor a private-use scheme like com.example.app"
        )),
    }
}

/// Whether `scheme` is a private-use URI scheme in reverse-domain form (RFC 8252 §7.1).
pub fn is_private_use_scheme(scheme: &str) -> bool {
    scheme.contains('.')
}

/// A web origin: `http(s)://host[:port]`, nothing after it; returned without a trailing `/`.
pub fn web_origin(text: &str) -> Result<String, String> {
    let url = Url::parse(text).map_err(|e| format!("not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("an origin is http(s)://host[:port]".to_owned());
    }
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(
            "an origin is http(s)://host[:port], without path, query or fragment".to_owned(),
        );
    }
    Ok(text.trim_end_matches('/').to_owned())
}

impl Client {
    /// Checks the settings against each other and the application type. URLs and origins are
    /// expected to have been parsed with [`app_url`] and [`web_origin`] already; what depends
    /// on the type (private-use schemes are for native apps) is checked here.
    pub fn check(&self) -> Result<(), InvalidClient> {
        let settings = &self.settings;
        let kind = self.app_type.as_str();
        if self.name.trim().is_empty() {
            return Err(invalid("'name' cannot be empty"));
        }
        if settings
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LENGTH)
        {
            return Err(invalid(format!(
                "'description' must have at most {MAX_DESCRIPTION_LENGTH} characters"
            )));
        }
        if self.app_type != AppType::Native {
            for url in settings
                .callbacks
                .iter()
                .chain(&settings.allowed_logout_urls)
            {
                let scheme = url.split(':').next().unwrap_or_default();
                if is_private_use_scheme(scheme) {
                    return Err(invalid(format!(
                        "{url}: only native applications may use a private-use scheme"
                    )));
                }
            }
        }
        let public = self.app_type.is_public();
        if public && settings.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(invalid(format!(
                "a {kind} application is a public client and cannot use the client_credentials grant; use app_type non_interactive for machine-to-machine access"
            )));
        }
        match settings.token_endpoint_auth_method {
            TokenEndpointAuthMethod::None if !public => {
                return Err(invalid(format!(
                    "a {kind} application is confidential and must authenticate: use token_endpoint_auth_method client_secret_post or client_secret_basic"
                )));
            }
            TokenEndpointAuthMethod::None => {}
            _ if public => {
                return Err(invalid(format!(
                    "a {kind} application is a public client and cannot authenticate at the token endpoint: use token_endpoint_auth_method none"
                )));
            }
            TokenEndpointAuthMethod::PrivateKeyJwt if settings.credentials.is_empty() => {
                return Err(invalid(
                    "private_key_jwt needs at least one registered public key",
                ));
            }
            _ => {}
        }
        self.check_tokens()?;
        self.check_metadata()
    }

    fn check_tokens(&self) -> Result<(), InvalidClient> {
        let jwt = &self.settings.jwt_configuration;
        if !ID_TOKEN_ALGORITHMS.contains(&jwt.alg) {
            return Err(invalid(format!(
                "jwt_configuration.alg {} is not offered; use RS256, PS256 or HS256",
                jwt.alg
            )));
        }
        if jwt.alg.is_symmetric() && !self.needs_secret() {
            return Err(invalid(format!(
                "{} ID tokens are signed with the client secret, and this client has none (public or private_key_jwt); use RS256",
                jwt.alg
            )));
        }
        if !(1..=MAX_ID_TOKEN_LIFETIME).contains(&jwt.lifetime_in_seconds) {
            return Err(invalid(format!(
                "jwt_configuration.lifetime_in_seconds must be between 1 and {MAX_ID_TOKEN_LIFETIME}"
            )));
        }
        let refresh = &self.settings.refresh_token;
        if refresh.leeway > MAX_REFRESH_LEEWAY {
            return Err(invalid(format!(
                "refresh_token.leeway must be at most {MAX_REFRESH_LEEWAY} seconds"
            )));
        }
        for (name, value) in [
            ("token_lifetime", refresh.token_lifetime),
            ("idle_token_lifetime", refresh.idle_token_lifetime),
        ] {
            if !(1..=MAX_REFRESH_TOKEN_LIFETIME).contains(&value) {
                return Err(invalid(format!(
                    "refresh_token.{name} must be between 1 and {MAX_REFRESH_TOKEN_LIFETIME} seconds"
                )));
            }
        }
        if !refresh.infinite_token_lifetime
            && !refresh.infinite_idle_token_lifetime
            && refresh.idle_token_lifetime > refresh.token_lifetime
        {
            return Err(invalid(
                "refresh_token.idle_token_lifetime cannot exceed refresh_token.token_lifetime",
            ));
        }
        Ok(())
    }

    fn check_metadata(&self) -> Result<(), InvalidClient> {
        let metadata = &self.settings.client_metadata;
        if metadata.len() > MAX_METADATA_ENTRIES {
            return Err(invalid(format!(
                "client_metadata may have at most {MAX_METADATA_ENTRIES} entries"
            )));
        }
        for (key, value) in metadata {
            if key.is_empty()
                || key.chars().count() > MAX_METADATA_LENGTH
                || value.chars().count() > MAX_METADATA_LENGTH
            {
                return Err(invalid(format!(
                    "client_metadata keys must have 1 to {MAX_METADATA_LENGTH} characters and values at most {MAX_METADATA_LENGTH}"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ClientSecret;
    use crate::{SystemRng, UnixTime};

    fn client(app_type: AppType) -> Client {
        let secret = (!app_type.is_public()).then(|| ClientSecret::generate(&SystemRng));
        Client::new(
            crate::ids::ClientId::generate(&SystemRng),
            "app".into(),
            app_type,
            secret.as_ref(),
            UnixTime(0),
        )
    }

    #[test]
    fn every_type_default_is_coherent() {
        for t in [
            AppType::Spa,
            AppType::Native,
            AppType::RegularWeb,
            AppType::NonInteractive,
        ] {
            assert_eq!(client(t).check(), Ok(()), "{t:?}");
        }
    }

    #[test]
    fn type_rules() {
        let mut spa = client(AppType::Spa);
        spa.settings.grant_types.push(GrantType::ClientCredentials);
        assert!(spa.check().is_err());
        let mut spa = client(AppType::Spa);
        spa.settings.jwt_configuration.alg = Algorithm::HS256;
        assert!(spa.check().is_err());
        let mut web = client(AppType::RegularWeb);
        web.settings.token_endpoint_auth_method = TokenEndpointAuthMethod::None;
        assert!(web.check().is_err());
        web.settings.token_endpoint_auth_method = TokenEndpointAuthMethod::ClientSecretBasic;
        web.settings.callbacks = vec!["com.example.app:/cb".into()];
        assert!(web.check().is_err());
        web.settings.callbacks.clear();
        web.settings.jwt_configuration.alg = Algorithm::ES256;
        assert!(web.check().is_err());
    }

    #[test]
    fn secrets_follow_the_settings() {
        let mut web = client(AppType::RegularWeb);
        assert!(web.settle_secret(&SystemRng).is_none(), "it has one");
        web.settings.jwt_configuration.alg = Algorithm::HS256;
        let new = web
            .settle_secret(&SystemRng)
            .expect("a secret to sign with");
        assert_eq!(web.signing_secret.as_ref(), Some(&new));
        assert!(
            web.secret_digest
                .as_ref()
                .is_some_and(|d| d.matches(new.expose()))
        );
        web.settings.jwt_configuration.alg = Algorithm::RS256;
        assert!(web.settle_secret(&SystemRng).is_none());
        assert!(web.signing_secret.is_none() && web.secret_digest.is_some());
        web.app_type = AppType::Spa;
        web.settings.token_endpoint_auth_method = TokenEndpointAuthMethod::None;
        assert!(web.settle_secret(&SystemRng).is_none());
        assert!(web.secret_digest.is_none());
    }
}
