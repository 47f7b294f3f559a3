//! The claims of a verified access token, as Auth0 and RFC 9068 write them, and the scope and
//! permission checks made on them.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The claims of a verified access token. The registered ones (`iss`, `aud`, `exp`, `nbf`) have
/// been checked before a `Claims` is ever handed out; the rest are as the issuer wrote them.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Claims {
    /// Issuer, exactly the one configured.
    pub iss: String,
    /// Subject: `auth0|<id>` for a user, `<client_id>@clients` for a machine.
    pub sub: String,
    /// Audiences; one of them is the API's.
    #[serde(deserialize_with = "audiences")]
    pub aud: Vec<String>,
    /// Expiry, Unix seconds.
    #[serde(deserialize_with = "numeric_date")]
    pub exp: i64,
    /// Issued at, Unix seconds.
    #[serde(default, deserialize_with = "optional_numeric_date")]
    pub iat: Option<i64>,
    /// Not before, Unix seconds.
    #[serde(default, deserialize_with = "optional_numeric_date")]
    pub nbf: Option<i64>,
    /// Token id (RFC 9068 requires it).
    #[serde(default)]
    pub jti: Option<String>,
    /// The client the token was issued to (Auth0).
    #[serde(default)]
    pub azp: Option<String>,
    /// The client the token was issued to (RFC 9068).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: Scope,
    /// RBAC permissions, when the API enforces them (Auth0's `permissions` claim).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Auth0's grant type marker (`client-credentials`, `password`, ...).
    #[serde(default)]
    pub gty: Option<String>,
    /// Every other claim (custom, namespaced ones such as `https://example.com/roles`).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// The client the token was issued to: `client_id` (RFC 9068), else `azp` (Auth0).
    pub fn client(&self) -> Option<&str> {
        self.client_id.as_deref().or(self.azp.as_deref())
    }

    /// Whether the token was issued to a machine (client credentials) rather than for a user.
    pub fn is_machine(&self) -> bool {
        self.gty.as_deref() == Some("client-credentials") || self.sub.ends_with("@clients")
    }
}

/// The `scope` claim: space-separated scope tokens (RFC 6749 §3.3), kept as the issuer wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Scope(pub String);

impl Scope {
    /// Each scope token.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted (exact, case-sensitive match of one token).
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|s| s == scope)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a route needs of a token's scopes or permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Every one of these.
    AllOf(Vec<String>),
    /// At least one of these.
    AnyOf(Vec<String>),
}

impl Requirement {
    /// Every one of `values`.
    pub fn all<I: IntoIterator<Item = S>, S: Into<String>>(values: I) -> Self {
        Requirement::AllOf(values.into_iter().map(Into::into).collect())
    }

    /// At least one of `values`.
    pub fn any<I: IntoIterator<Item = S>, S: Into<String>>(values: I) -> Self {
        Requirement::AnyOf(values.into_iter().map(Into::into).collect())
    }

    /// Whether what was granted satisfies this. An empty `AllOf` is always met; an empty
    /// `AnyOf` never is.
    pub fn is_met_by(&self, granted: impl Fn(&str) -> bool) -> bool {
        match self {
            Requirement::AllOf(values) => values.iter().all(|v| granted(v)),
            Requirement::AnyOf(values) => values.iter().any(|v| granted(v)),
        }
    }

    /// The values, space-separated, as RFC 6750's `scope` attribute lists them.
    pub fn values(&self) -> String {
        match self {
            Requirement::AllOf(values) | Requirement::AnyOf(values) => values.join(" "),
        }
    }
}

/// `aud`: a string or an array of strings (RFC 7519 §4.1.3).
fn audiences<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an array of strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_owned()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(a) = seq.next_element::<String>()? {
                out.push(a);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// A NumericDate (RFC 7519 §2): a number of seconds, fractions truncated. sigil-jose has
/// already checked the registered ones strictly; this only reads them.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number of seconds")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("is too large"))
        }
        #[allow(clippy::cast_possible_truncation)]
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            if v.is_finite() && v.abs() < 1e15 {
                Ok(v.trunc() as i64)
            } else {
                Err(E::custom("is not a date"))
            }
        }
    }
    d.deserialize_any(V)
}

fn optional_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    numeric_date(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_all_and_any() {
        let granted = Scope("read:messages  write:messages".to_owned());
        let has = |s: &str| granted.contains(s);
        for (requirement, met) in [
            (Requirement::all(["read:messages"]), true),
            (Requirement::all(["read:messages", "write:messages"]), true),
            (
                Requirement::all(["read:messages", "delete:messages"]),
                false,
            ),
            (
                Requirement::any(["delete:messages", "write:messages"]),
                true,
            ),
            (Requirement::any(["delete:messages"]), false),
            (Requirement::all(Vec::<String>::new()), true),
            (Requirement::any(Vec::<String>::new()), false),
            (Requirement::all(["read"]), false),
            (Requirement::all([""]), false),
        ] {
            assert_eq!(requirement.is_met_by(has), met, "{requirement:?}");
        }
    }
}
