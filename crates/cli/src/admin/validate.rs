//! Parsing what the admin commands are given: URLs, origins, emails, scopes, grant and
//! application types. Each is a clap value parser (`Result<T, String>`), or is called by one,
//! so that a bad value is a one-line usage error naming the option.

use reqwest::Url;
use sigil_core::model::{AppType, GrantType, TokenEndpointAuthMethod, client_rules};
use sigil_core::oauth::ASSERTION_ALGORITHMS;
use sigil_jose::Algorithm;

/// An `--issuer`: an absolute http(s) URL ending in `/`, without query or fragment.
pub(crate) fn issuer(text: &str) -> anyhow::Result<()> {
    let url =
        Url::parse(text).map_err(|e| anyhow::anyhow!("--issuer {text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        anyhow::bail!("--issuer {text:?} must be an http or https URL");
    }
    if url.query().is_some() || url.fragment().is_some() {
        anyhow::bail!("--issuer {text:?} must not have a query or a fragment");
    }
    if !text.ends_with('/') {
        anyhow::bail!("--issuer {text:?} must end in '/' (try \"{text}/\")");
    }
    Ok(())
}

/// A redirect URI (`--callback`) or post-logout URL (`--logout-url`), as
/// [`client_rules::app_url`] accepts it.
pub(crate) fn app_url(text: &str) -> Result<String, String> {
    client_rules::app_url(text)
}

/// Whether `scheme` is a private-use URI scheme in reverse-domain form (RFC 8252 §7.1).
pub(crate) fn is_private_use_scheme(scheme: &str) -> bool {
    client_rules::is_private_use_scheme(scheme)
}

/// A web origin (`--web-origin`), as [`client_rules::web_origin`] accepts it.
pub(crate) fn web_origin(text: &str) -> Result<String, String> {
    client_rules::web_origin(text)
}

/// `--type`.
pub(crate) fn app_type(text: &str) -> Result<AppType, String> {
    AppType::parse(text)
        .ok_or_else(|| "use one of spa, native, regular_web, non_interactive".to_owned())
}

/// `--grant`: a grant type by its OAuth name.
pub(crate) fn grant_type(text: &str) -> Result<GrantType, String> {
    GrantType::parse(text).ok_or_else(|| {
        let names = [
            GrantType::AuthorizationCode,
            GrantType::Implicit,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
            GrantType::Password,
            GrantType::PasswordRealm,
            GrantType::PasswordlessOtp,
            GrantType::DeviceCode,
            GrantType::JwtBearer,
        ]
        .map(GrantType::as_str)
        .join(", ");
        format!("unknown grant type; use one of {names}")
    })
}

/// `--auth-method`: how a client authenticates at the token endpoint, by its OAuth name.
pub(crate) fn auth_method(text: &str) -> Result<TokenEndpointAuthMethod, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        "use one of client_secret_post, client_secret_basic, private_key_jwt, none".to_owned()
    })
}

/// `--alg` of a client's public keys: an asymmetric algorithm (a shared secret is not a key a
/// client registers).
pub(crate) fn assertion_alg(text: &str) -> Result<Algorithm, String> {
    let names = ASSERTION_ALGORITHMS.map(Algorithm::as_str).join(", ");
    match text.parse::<Algorithm>() {
        Ok(alg) if ASSERTION_ALGORITHMS.contains(&alg) => Ok(alg),
        _ => Err(format!("use one of {names}")),
    }
}

/// A scope value (RFC 6749 §3.3 `scope-token`: printable ASCII except space, `"` and `\`).
pub(crate) fn scope_token(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("a scope cannot be empty".to_owned());
    }
    if let Some(c) = text
        .chars()
        .find(|&c| !matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
    {
        return Err(format!(
            "a scope is printable ASCII without spaces, quotes or backslashes; {c:?} is not allowed"
        ));
    }
    Ok(text.to_owned())
}

/// An email address: something@domain, no spaces, at most 254 characters (RFC 5321 §4.5.3.1).
/// Deliverability is not Sigil's to judge here.
pub(crate) fn email(text: &str) -> Result<String, String> {
    let text = text.trim();
    let ok = text.len() <= 254
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if ok {
        Ok(text.to_owned())
    } else {
        Err("not an email address".to_owned())
    }
}

/// A non-empty name.
pub(crate) fn name(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        Err("a name cannot be empty".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// A switch: `on` or `off`.
pub(crate) fn on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("use on or off".to_owned()),
    }
}
