//! Custom claims as Auth0 lets Actions set them (`notes/actions.md` §1.8), in one pure
//! function: registered and restricted names are dropped silently, as are names in Auth0's
//! namespaces (`auth0.com`, `webtask.io`, `webtask.run`, `urn:auth0`) and in the issuer's own;
//! OIDC profile claims reach an access token only with their scope; an access token for the
//! Management API keeps namespaced claims only; the total is capped per token, and going over
//! it fails the transaction.

use serde_json::{Map, Value};

/// Bytes of custom claims (names and JSON values) one token may carry.
pub const MAX_CUSTOM_BYTES: usize = 100 * 1024;

/// Names an Action cannot set (Auth0's list): dropped without failing.
const RESTRICTED: [&str; 62] = [
    "acr",
    "act",
    "active",
    "amr",
    "at_hash",
    "ath",
    "attest",
    "aud",
    "auth_time",
    "authorization_details",
    "azp",
    "c_hash",
    "client_id",
    "cnf",
    "cty",
    "dest",
    "entitlements",
    "events",
    "exp",
    "groups",
    "gty",
    "htm",
    "htu",
    "iat",
    "internalService",
    "iss",
    "jcard",
    "jku",
    "jti",
    "jwe",
    "jwk",
    "kid",
    "may_act",
    "mky",
    "nbf",
    "nonce",
    "object_id",
    "org_id",
    "org_name",
    "orig",
    "origid",
    "permissions",
    "roles",
    "rph",
    "s_hash",
    "sid",
    "sip_callid",
    "sip_cseq_num",
    "sip_date",
    "sip_from_tag",
    "sip_via_branch",
    "sub",
    "sub_jwk",
    "toe",
    "txn",
    "typ",
    "uuid",
    "vot",
    "vtm",
    "x5t#S256",
    "scope",
    "",
];

/// OIDC profile claims, by the scope an access token needs to carry them.
const PROFILE: [(&str, &str); 19] = [
    ("address", "address"),
    ("birthdate", "profile"),
    ("email", "email"),
    ("email_verified", "email"),
    ("family_name", "profile"),
    ("gender", "profile"),
    ("given_name", "profile"),
    ("locale", "profile"),
    ("middle_name", "profile"),
    ("name", "profile"),
    ("nickname", "profile"),
    ("phone_number", "phone"),
    ("phone_number_verified", "phone"),
    ("picture", "profile"),
    ("preferred_username", "profile"),
    ("profile", "profile"),
    ("updated_at", "profile"),
    ("website", "profile"),
    ("zoneinfo", "profile"),
];

/// Which token the claims are for.
pub enum Token<'a> {
    /// An ID token.
    Id,
    /// An access token with these granted scopes; `management` when its audience is Sigil's
    /// Management API.
    Access {
        /// The scopes granted.
        scopes: &'a [String],
        /// Whether the audience is the Management API.
        management: bool,
    },
}

/// The custom claims were over [`MAX_CUSTOM_BYTES`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the custom claims take {0} bytes, more than the {MAX_CUSTOM_BYTES} a token may carry")]
pub struct TooLarge(pub usize);

/// The host of a namespaced claim name (`https://example.com/roles` → `example.com`).
fn namespace_host(name: &str) -> Option<&str> {
    let rest = name
        .strip_prefix("https://")
        .or_else(|| name.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Some(
        host.rsplit_once('@')
            .map_or(host, |(_, h)| h)
            .split(':')
            .next()
            .unwrap_or_default(),
    )
}

fn reserved_namespace(name: &str, issuer_host: Option<&str>) -> bool {
    if name.to_ascii_lowercase().starts_with("urn:auth0") {
        return true;
    }
    let Some(host) = namespace_host(name).map(str::to_ascii_lowercase) else {
        return false;
    };
    let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    under("auth0.com")
        || under("webtask.io")
        || under("webtask.run")
        || issuer_host.is_some_and(|h| host == h.to_ascii_lowercase())
}

fn namespaced(name: &str) -> bool {
    namespace_host(name).is_some() || name.contains(':')
}

/// Whether an Action may set a claim called `name` at all (Auth0's restricted names may not):
/// `/userinfo` shows the access token's claims that pass, and only those.
pub fn settable(name: &str) -> bool {
    !RESTRICTED.contains(&name)
}

/// The claims `set` (in the order set; a later value wins) that `token` may carry.
pub fn apply_custom(
    token: &Token<'_>,
    issuer_host: Option<&str>,
    set: impl IntoIterator<Item = (String, Value)>,
) -> Result<Map<String, Value>, TooLarge> {
    let mut kept = Map::new();
    for (name, value) in set {
        if RESTRICTED.contains(&name.as_str()) || reserved_namespace(&name, issuer_host) {
            continue;
        }
        if let Token::Access { scopes, management } = token {
            if *management && !namespaced(&name) {
                continue;
            }
            if let Some((_, scope)) = PROFILE.iter().find(|(claim, _)| *claim == name)
                && !scopes.iter().any(|s| s == scope)
            {
                continue;
            }
        }
        kept.insert(name, value);
    }
    let size: usize = kept
        .iter()
        .map(|(k, v)| k.len() + v.to_string().len())
        .sum();
    if size > MAX_CUSTOM_BYTES {
        return Err(TooLarge(size));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_claims_follow_auth0s_rules() {
        let scopes = vec!["openid".to_owned(), "email".to_owned()];
        let access = Token::Access {
            scopes: &scopes,
            management: false,
        };
        let management = Token::Access {
            scopes: &scopes,
            management: true,
        };
        // (case, token, name, kept)
        let cases: Vec<(&str, &Token<'_>, &str, bool)> = vec![
            ("namespaced", &access, "https://example.com/roles", true),
            ("plain", &access, "tier", true),
            ("urn", &access, "urn:example:tier", true),
            ("registered", &access, "sub", false),
            ("restricted", &access, "roles", false),
            (
                "restricted in an ID token",
                &Token::Id,
                "permissions",
                false,
            ),
            (
                "auth0 namespace",
                &access,
                "https://tenant.auth0.com/x",
                false,
            ),
            (
                "webtask namespace",
                &Token::Id,
                "https://x.webtask.run/y",
                false,
            ),
            ("urn:auth0", &Token::Id, "urn:auth0:x", false),
            (
                "the issuer's own",
                &access,
                "https://login.example.org/roles",
                false,
            ),
            ("profile claim with its scope", &access, "email", true),
            ("profile claim without", &access, "name", false),
            ("profile claim in an ID token", &Token::Id, "name", true),
            ("plain, for the Management API", &management, "tier", false),
            (
                "namespaced, for the Management API",
                &management,
                "https://example.com/t",
                true,
            ),
        ];
        for (case, token, name, kept) in cases {
            let got = apply_custom(
                token,
                Some("login.example.org"),
                [(name.to_owned(), json!(1))],
            )
            .unwrap();
            assert_eq!(got.contains_key(name), kept, "{case}");
        }
    }

    #[test]
    fn the_last_value_wins_and_too_much_fails() {
        let got = apply_custom(
            &Token::Id,
            None,
            [("a".to_owned(), json!(1)), ("a".to_owned(), json!(2))],
        )
        .unwrap();
        assert_eq!(got["a"], 2);
        let big = "x".repeat(MAX_CUSTOM_BYTES);
        assert!(apply_custom(&Token::Id, None, [("big".to_owned(), json!(big))]).is_err());
    }
}
