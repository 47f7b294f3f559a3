//! Taking the bearer token out of a request (RFC 6750 §2.1, the `Authorization` header only).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::error::Rejection;

/// The token in `Authorization: Bearer <token>`. No header, or another scheme, is
/// [`Rejection::MissingToken`]; a malformed header is [`Rejection::InvalidRequest`].
/// The scheme is case-insensitive (RFC 7235 §2.1).
///
/// Tokens in the query string or a form body (RFC 6750 §2.2, §2.3) are not taken: they end up in
/// logs and browser history, and Auth0's SDKs never send them.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, Rejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Rejection::MissingToken);
    };
    if values.next().is_some() {
        return Err(invalid(
            "the request has more than one Authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| invalid("the Authorization header is not ASCII"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::MissingToken);
    }
    let token = token.trim_matches(' ');
    if token.is_empty() {
        return Err(invalid(
            "the Authorization header has no token after Bearer",
        ));
    }
    if !is_b64token(token) {
        return Err(invalid(
            "the bearer token has characters a token cannot hold (RFC 6750 §2.1)",
        ));
    }
    Ok(token)
}

fn invalid(what: &str) -> Rejection {
    Rejection::InvalidRequest(what.to_owned())
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_read_as_rfc_6750_says() {
        for (headers, expected) in [
            (vec![], Err("missing")),
            (vec!["Bearer abc.def.ghi"], Ok("abc.def.ghi")),
            (vec!["bearer abc"], Ok("abc")),
            (vec!["BEARER  abc  "], Ok("abc")),
            (vec!["Bearer abc=="], Ok("abc==")),
            (vec!["Basic dXNlcjpwYXNz"], Err("missing")),
            (vec!["Bearer"], Err("invalid_request")),
            (vec!["Bearer "], Err("invalid_request")),
            (vec!["Bearer a b"], Err("invalid_request")),
            (vec!["Bearer a\"b"], Err("invalid_request")),
            (vec!["Bearer ==="], Err("invalid_request")),
            (vec!["Bearer a", "Bearer b"], Err("invalid_request")),
        ] {
            let mut map = HeaderMap::new();
            for h in &headers {
                map.append(AUTHORIZATION, h.parse().unwrap_or_else(|e| panic!("{e}")));
            }
            let got = bearer_token(&map).map_err(|r| r.error_code().unwrap_or("missing"));
            assert_eq!(got, expected, "{headers:?}");
        }
    }
}
