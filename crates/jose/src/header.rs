//! The JOSE header (RFC 7515 §4), read strictly.
//!
//! Only the members Sigil acts on are kept. `jku`, `x5u`, `jwk`, `x5c` and `x5t` are read past
//! and never used: a token does not get to say which key verifies it.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::alg::{Algorithm, AlgorithmError};
use crate::error::VerifyError;
use crate::json::{Name, SeenNames};

/// The header members of a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The signature algorithm.
    pub alg: Algorithm,
    /// Key identifier.
    pub kid: Option<String>,
    /// Media type of the whole token (`JWT`, `at+jwt`, …).
    pub typ: Option<String>,
    /// Media type of the payload.
    pub cty: Option<String>,
}

/// Headers have a handful of members; more than this is an attack on the parser, not a token.
const MAX_MEMBERS: usize = 64;

#[derive(Default)]
struct RawHeader<'de> {
    /// Borrowed from the header text: it is only compared, never kept.
    alg: Option<Name<'de>>,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    crit: Option<Vec<String>>,
    b64: Option<bool>,
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = RawHeader<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeader<'de>, A::Error> {
        let mut seen = SeenNames::default();
        let mut header = RawHeader::default();
        let mut count = 0;
        while let Some(Name(name)) = map.next_key()? {
            count += 1;
            if count > MAX_MEMBERS {
                return Err(de::Error::custom("too many members"));
            }
            seen.insert(&name)?;
            let typed = |e: A::Error| de::Error::custom(format_args!("\"{name}\": {e}"));
            match name.as_ref() {
                "alg" => header.alg = Some(map.next_value().map_err(typed)?),
                "kid" => header.kid = Some(map.next_value().map_err(typed)?),
                "typ" => header.typ = Some(map.next_value().map_err(typed)?),
                "cty" => header.cty = Some(map.next_value().map_err(typed)?),
                "crit" => header.crit = Some(map.next_value().map_err(typed)?),
                "b64" => header.b64 = Some(map.next_value().map_err(typed)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }
}

impl Header {
    /// Parses a decoded header, refusing duplicates, `none`, `crit` and `b64: false`.
    pub(crate) fn parse(json: &[u8]) -> Result<Header, VerifyError> {
        // RFC 7515 §5.2 step 3: the header must be UTF-8. Checked up front because serde_json
        // does not validate the strings of members it skips (IgnoredAny) when reading bytes.
        let json = std::str::from_utf8(json)
            .map_err(|e| VerifyError::Header(format!("not UTF-8: {e}")))?;
        let mut de = serde_json::Deserializer::from_str(json);
        let raw = (&mut de)
            .deserialize_map(HeaderVisitor)
            .and_then(|raw| de.end().map(|()| raw))
            .map_err(|e| VerifyError::Header(e.to_string()))?;
        let alg = raw
            .alg
            .ok_or_else(|| VerifyError::Header("missing \"alg\"".into()))?;
        let alg = alg.0.parse::<Algorithm>().map_err(|e| match e {
            AlgorithmError::None(name) => VerifyError::AlgNone(name),
            AlgorithmError::Unsupported(name) => VerifyError::UnsupportedAlg(name),
        })?;
        // RFC 7515 §4.1.11: a recipient must reject a token with critical extensions it does not
        // understand. Sigil understands none.
        if let Some(crit) = raw.crit {
            return Err(VerifyError::Crit(crit));
        }
        // RFC 7797: unencoded payloads change what is signed; never accepted.
        if raw.b64 == Some(false) {
            return Err(VerifyError::UnencodedPayload);
        }
        Ok(Header {
            alg,
            kid: raw.kid,
            typ: raw.typ,
            cty: raw.cty,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expect = fn(&VerifyError) -> bool;

    #[test]
    fn header_table() {
        let ok = |json: &str| Header::parse(json.as_bytes());
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","typ":"JWT"}"#)
                .unwrap()
                .kid
                .as_deref(),
            Some("k")
        );
        assert!(
            ok(r#"{"alg":"ES256","jku":"https://evil","jwk":{"kty":"EC"},"x5u":"u","x5c":["a"]}"#)
                .is_ok()
        );
        let cases: &[(&str, Expect)] = &[
            (r#"{"alg":"none"}"#, |e| {
                matches!(e, VerifyError::AlgNone(_))
            }),
            (r#"{"alg":"NoNe"}"#, |e| {
                matches!(e, VerifyError::AlgNone(_))
            }),
            (r#"{"alg":"HS257"}"#, |e| {
                matches!(e, VerifyError::UnsupportedAlg(_))
            }),
            (r#"{"kid":"k"}"#, |e| matches!(e, VerifyError::Header(_))),
            (r#"{"alg":"RS256","alg":"HS256"}"#, |e| {
                matches!(e, VerifyError::Header(_))
            }),
            (r#"{"alg":"RS256","kid":"a","kid":"b"}"#, |e| {
                matches!(e, VerifyError::Header(_))
            }),
            (r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, |e| {
                matches!(e, VerifyError::Crit(_))
            }),
            (r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#, |e| {
                matches!(e, VerifyError::Crit(_))
            }),
            (r#"{"alg":"RS256","b64":false}"#, |e| {
                matches!(e, VerifyError::UnencodedPayload)
            }),
            (r#"{"alg":"RS256","kid":7}"#, |e| {
                matches!(e, VerifyError::Header(_))
            }),
            (r#"{"alg":["RS256"]}"#, |e| {
                matches!(e, VerifyError::Header(_))
            }),
            (r#"["alg"]"#, |e| matches!(e, VerifyError::Header(_))),
            (r#"{"alg":"RS256"} x"#, |e| {
                matches!(e, VerifyError::Header(_))
            }),
        ];
        for (json, expected) in cases {
            let err = ok(json).unwrap_err();
            assert!(expected(&err), "{json}: {err}");
        }
    }
}
