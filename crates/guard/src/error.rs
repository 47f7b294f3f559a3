//! Why the guard refused a request (RFC 6750 §3), and why it could not start.

use std::fmt;

/// Why a request was refused, as RFC 6750 §3.1 names it. Every variant is the caller's doing:
/// a bad token is never a server error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No bearer token at all: 401 with `WWW-Authenticate: Bearer realm="…"` and no error code
    /// (RFC 6750 §3.1: a request without credentials gets no error code).
    MissingToken,
    /// The `Authorization` header is malformed (several of them, an empty token, characters a
    /// bearer token cannot hold): 400 `invalid_request`.
    InvalidRequest(String),
    /// The token is expired, revoked, malformed or otherwise invalid: 401 `invalid_token`.
    InvalidToken(String),
    /// The token is valid but lacks what the route needs: 403 `insufficient_scope`, with the
    /// scopes (or permissions) that would do in `scope`.
    InsufficientScope {
        /// What the route needs, space-separated.
        scope: String,
        /// A sentence for people.
        description: String,
    },
}

impl Rejection {
    /// The HTTP status: 400, 401 or 403.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Rejection::MissingToken | Rejection::InvalidToken(_) => http::StatusCode::UNAUTHORIZED,
            Rejection::InvalidRequest(_) => http::StatusCode::BAD_REQUEST,
            Rejection::InsufficientScope { .. } => http::StatusCode::FORBIDDEN,
        }
    }

    /// The RFC 6750 error code, if the answer has one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Rejection::MissingToken => None,
            Rejection::InvalidRequest(_) => Some("invalid_request"),
            Rejection::InvalidToken(_) => Some("invalid_token"),
            Rejection::InsufficientScope { .. } => Some("insufficient_scope"),
        }
    }

    /// A sentence saying what was wrong.
    pub fn description(&self) -> &str {
        match self {
            Rejection::MissingToken => {
                "this API needs an access token: send it as Authorization: Bearer <token>"
            }
            Rejection::InvalidRequest(d) | Rejection::InvalidToken(d) => d,
            Rejection::InsufficientScope { description, .. } => description,
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3) for `realm`.
    pub fn challenge(&self, realm: &str) -> String {
        let mut out = format!("Bearer realm=\"{}\"", quotable(realm));
        if let Some(code) = self.error_code() {
            out.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                quotable(self.description())
            ));
        }
        if let Rejection::InsufficientScope { scope, .. } = self {
            out.push_str(&format!(", scope=\"{}\"", quotable(scope)));
        }
        out
    }

    /// The JSON body: `{"error", "error_description"}` as in the header, plus `scope` for 403.
    /// A request without a token has no RFC 6750 code; its body says `unauthorized`.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "error": self.error_code().unwrap_or("unauthorized"),
            "error_description": self.description(),
        });
        if let Rejection::InsufficientScope { scope, .. } = self {
            body["scope"] = serde_json::Value::String(scope.clone());
        }
        body
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error_code() {
            Some(code) => write!(f, "{code}: {}", self.description()),
            None => f.write_str(self.description()),
        }
    }
}

impl std::error::Error for Rejection {}

/// A value fit for a quoted-string in the challenge: RFC 6750 §3 allows only printable ASCII
/// other than `"` and `\` in `error_description` and `scope`, so anything else becomes `'` or `?`.
fn quotable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

/// Why the guard could not start, or could not load the issuer's keys.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The configuration is incomplete or contradictory.
    #[error("{0}")]
    Config(String),
    /// The issuer (or the JWKS URL) could not be reached or answered with an error.
    #[error("cannot fetch {url}: {reason}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The discovery document is not usable.
    #[error("the discovery document at {url} {reason}")]
    Discovery {
        /// The document's URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The JWKS is not a usable key set.
    #[error("the JWKS at {url} {reason}")]
    Jwks {
        /// The JWKS URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_as_rfc_6750_writes_them() {
        for (rejection, status, challenge) in [
            (Rejection::MissingToken, 401, r#"Bearer realm="api""#),
            (
                Rejection::InvalidToken("token expired at \"then\"\n".to_owned()),
                401,
                r#"Bearer realm="api", error="invalid_token", error_description="token expired at 'then'?""#,
            ),
            (
                Rejection::InvalidRequest("two Authorization headers".to_owned()),
                400,
                r#"Bearer realm="api", error="invalid_request", error_description="two Authorization headers""#,
            ),
            (
                Rejection::InsufficientScope {
                    scope: "read:messages".to_owned(),
                    description: "needs read:messages".to_owned(),
                },
                403,
                r#"Bearer realm="api", error="insufficient_scope", error_description="needs read:messages", scope="read:messages""#,
            ),
        ] {
            assert_eq!(rejection.status().as_u16(), status);
            assert_eq!(rejection.challenge("api"), challenge);
            assert_eq!(
                rejection.body()["error"],
                rejection.error_code().unwrap_or("unauthorized")
            );
        }
    }
}
