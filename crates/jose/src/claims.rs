//! JWT claims (RFC 7519 §4.1) and their validation "as of" a given time.
//!
//! [`Verifier`] is the front door: it checks the JWS (see [`crate::jws`]), then reads the payload
//! once into the caller's claims type while capturing the registered claims (see
//! [`crate::payload`]), then checks those.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};

use crate::alg::Algorithm;
use crate::b64;
use crate::error::VerifyError;
use crate::header::Header;
use crate::json::{Name, SeenNames, strict_object};
use crate::jws::{DEFAULT_MAX_TOKEN_LEN, KeySet, SignaturePolicy, split, verify_compact};
use crate::payload;

/// Seconds since the Unix epoch, the unit of every time in a JWT. Time is always passed in,
/// never read from a clock here, so callers (and tests) decide what "now" is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

impl From<std::time::SystemTime> for UnixTime {
    fn from(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => UnixTime(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(e) => UnixTime(-i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX)),
        }
    }
}

/// The latest NumericDate accepted: 9999-12-31T23:59:59Z. Anything later is not a date.
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// A NumericDate (RFC 7519 §2): a non-negative JSON number of seconds. Strings, negatives,
/// non-finite and absurdly large values are refused; fractions are truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NumericDate(pub(crate) i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate (a non-negative number of seconds)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                match i64::try_from(v) {
                    Ok(v) if v <= MAX_NUMERIC_DATE => Ok(NumericDate(v)),
                    _ => Err(E::custom("is after the year 9999")),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom("is negative")),
                }
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if !v.is_finite() || v < 0.0 {
                    return Err(E::custom("is negative"));
                }
                if v > MAX_NUMERIC_DATE as f64 {
                    return Err(E::custom("is after the year 9999"));
                }
                Ok(NumericDate(v.trunc() as i64))
            }
        }
        d.deserialize_any(V)
    }
}

/// `aud`: one string or an array of strings (RFC 7519 §4.1.3), borrowed from the payload where
/// it has no escapes. The second field says whether `aud` was a single string.
pub(crate) struct Audiences<'de>(pub(crate) Vec<Cow<'de, str>>, pub(crate) bool);

impl<'de> Deserialize<'de> for Audiences<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than `#[serde(untagged)]`: untagged buffers the value and builds an
        // error for the first variant it tries, which cost more than the rest of the claims.
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audiences<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Audiences<'de>, E> {
                Ok(Audiences(vec![Cow::Borrowed(v)], true))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audiences<'de>, E> {
                Ok(Audiences(vec![Cow::Owned(v.to_owned())], true))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audiences<'de>, A::Error> {
                let mut audiences = Vec::new();
                while let Some(Name(a)) = seq.next_element()? {
                    audiences.push(a);
                }
                Ok(Audiences(audiences, false))
            }
        }
        d.deserialize_any(V)
            .map_err(|_| de::Error::custom("must be a string or an array of strings"))
    }
}

/// The registered claims of a token, read strictly: duplicate members are refused and each
/// registered claim must have its registered type. Strings are borrowed from the payload where
/// they can be, so checking them costs no allocation.
#[derive(Clone, Debug, Default)]
pub struct RegisteredClaims<'a> {
    /// Issuer.
    pub iss: Option<Cow<'a, str>>,
    /// Subject.
    pub sub: Option<Cow<'a, str>>,
    /// Audiences (a single string becomes one element).
    pub aud: Vec<Cow<'a, str>>,
    /// Expiry, Unix seconds.
    pub exp: Option<i64>,
    /// Not-before, Unix seconds.
    pub nbf: Option<i64>,
    /// Issued-at, Unix seconds.
    pub iat: Option<i64>,
    /// Token identifier.
    pub jti: Option<Cow<'a, str>>,
    pub(crate) names: SeenNames<'a>,
}

impl RegisteredClaims<'_> {
    /// Whether the token has a member called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }
}

/// Which `typ` header values are accepted. Values compare case-insensitively, with or without
/// the `application/` prefix (RFC 7515 §4.1.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypPolicy {
    /// Any `typ`, or none.
    Any,
    /// No `typ`, `JWT`, or `at+jwt` (RFC 9068): the default.
    Jwt,
    /// One of these values, and it must be present.
    Require(Vec<String>),
}

/// `typ` without a leading `application/`, in any case (RFC 7515 §4.1.9).
fn media_subtype(typ: &str) -> &str {
    const PREFIX: &str = "application/";
    match typ.split_at_checked(PREFIX.len()) {
        Some((head, rest)) if head.eq_ignore_ascii_case(PREFIX) => rest,
        _ => typ,
    }
}

/// Whether two `typ` values name the same media type. Compares in place, without allocating.
fn same_typ(a: &str, b: &str) -> bool {
    media_subtype(a).eq_ignore_ascii_case(media_subtype(b))
}

impl TypPolicy {
    fn check(&self, typ: Option<&str>) -> Result<(), VerifyError> {
        let ok = match (self, typ) {
            (TypPolicy::Any, _) | (TypPolicy::Jwt, None) => true,
            (TypPolicy::Jwt, Some(t)) => same_typ(t, "jwt") || same_typ(t, "at+jwt"),
            (TypPolicy::Require(list), Some(t)) => list.iter().any(|want| same_typ(want, t)),
            (TypPolicy::Require(_), None) => false,
        };
        if ok {
            return Ok(());
        }
        Err(VerifyError::Typ {
            found: typ.map_or_else(|| "(none)".to_owned(), str::to_owned),
            expected: match self {
                TypPolicy::Require(list) => list.join(" or "),
                _ => "JWT or at+jwt".to_owned(),
            },
        })
    }
}

/// What a token must satisfy beyond its signature.
#[derive(Clone, Debug)]
pub struct Validation {
    /// The algorithms accepted. There is no default: the caller names them.
    pub algorithms: Vec<Algorithm>,
    /// The exact `iss` required, if any.
    pub issuer: Option<String>,
    /// Accepted audiences: the token's `aud` must contain at least one. Empty skips the check.
    pub audiences: Vec<String>,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway: u64,
    /// Accepted `typ` values.
    pub typ: TypPolicy,
    /// Claims that must be present. Defaults to `exp`.
    pub required_claims: Vec<String>,
    /// The longest token accepted, in bytes.
    pub max_token_len: usize,
}

impl Validation {
    /// A policy accepting `algorithms`, requiring `exp`, with no leeway and no issuer or
    /// audience check yet.
    pub fn new(algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        Validation {
            algorithms: algorithms.into_iter().collect(),
            issuer: None,
            audiences: Vec::new(),
            leeway: 0,
            typ: TypPolicy::Jwt,
            required_claims: vec!["exp".to_owned()],
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        }
    }

    /// Requires this exact issuer.
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuer = Some(iss.into());
        self
    }

    /// Accepts this audience (call again to accept several).
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audiences.push(aud.into());
        self
    }

    /// Tolerates this much clock skew.
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// Checks the registered claims as of `now`.
    pub fn check_claims(
        &self,
        claims: &RegisteredClaims<'_>,
        now: UnixTime,
    ) -> Result<(), VerifyError> {
        let now = now.0;
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);
        for name in &self.required_claims {
            if !claims.contains(name) {
                return Err(VerifyError::MissingClaim(name.clone()));
            }
        }
        if let Some(exp) = claims.exp
            && now >= exp.saturating_add(leeway)
        {
            return Err(VerifyError::Expired { exp, now });
        }
        if let Some(nbf) = claims.nbf
            && now < nbf.saturating_sub(leeway)
        {
            return Err(VerifyError::NotYetValid { nbf, now });
        }
        if let Some(expected) = &self.issuer
            && claims.iss.as_deref() != Some(expected.as_str())
        {
            return Err(VerifyError::Issuer {
                expected: expected.clone(),
                found: claims.iss.as_deref().map(str::to_owned),
            });
        }
        if !self.audiences.is_empty()
            && !claims
                .aud
                .iter()
                .any(|a| self.audiences.iter().any(|want| want == a))
        {
            return Err(VerifyError::Audience {
                expected: self.audiences.clone(),
                found: claims.aud.iter().map(|a| a.clone().into_owned()).collect(),
            });
        }
        Ok(())
    }
}

/// A verified token: its header and the caller's view of its claims, whose registered claims
/// have been checked.
#[derive(Clone, Debug)]
pub struct Verified<C> {
    /// The header.
    pub header: Header,
    /// All claims, as the caller's type.
    pub claims: C,
}

/// Verifies JWTs against a key set and a validation policy. Build it once; it is `Sync`.
#[derive(Debug)]
pub struct Verifier {
    keys: KeySet,
    validation: Validation,
}

impl Verifier {
    /// A verifier for these keys and this policy.
    pub fn new(keys: KeySet, validation: Validation) -> Self {
        Verifier { keys, validation }
    }

    /// The policy.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// The keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies `token` as of `now`: size, framing, header, `typ`, algorithm allow-list, key
    /// selection, signature; then reads the claims as `C` and checks the registered ones
    /// (`exp`, `nbf`, `iss`, `aud`, required claims) in one pass over the payload.
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Verified<C>, VerifyError> {
        let policy = SignaturePolicy {
            algorithms: &self.validation.algorithms,
            max_len: self.validation.max_token_len,
        };
        let (header, payload) = verify_compact(&self.keys, &policy, token)?;
        self.validation.typ.check(header.typ.as_deref())?;
        let claims =
            b64::with_decoded::<2048, _>(payload, |payload| self.read_claims(payload, now))
                .map_err(|_| VerifyError::Base64("payload"))??;
        Ok(Verified { header, claims })
    }
}

impl Verifier {
    /// Reads the decoded payload as `C` and checks its registered claims as of `now`.
    fn read_claims<C: DeserializeOwned>(
        &self,
        payload: &[u8],
        now: UnixTime,
    ) -> Result<C, VerifyError> {
        let payload = payload::utf8(payload)?;
        match payload::read::<C>(payload) {
            Ok((registered, claims)) => {
                self.validation.check_claims(&registered, now)?;
                Ok(claims)
            }
            // The caller's type may refuse what Sigil's own checks would report better (an
            // expired token, a wrong audience): those come first, as if read separately.
            Err(e) => {
                self.validation
                    .check_claims(&payload::read_registered(payload)?, now)?;
                Err(e)
            }
        }
    }
}

/// A token taken apart without any check of its signature.
#[derive(Clone, Debug)]
pub struct Unverified {
    /// The header as JSON.
    pub header: serde_json::Map<String, serde_json::Value>,
    /// The claims as JSON.
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

/// Decodes a compact JWT's header and claims **without verifying anything**.
///
/// # Security
/// Nothing returned here can be trusted: anyone can write any header and claims. This exists for
/// the `sigil jwt decode` debugger and for reading a `kid` before key lookup. It still refuses
/// what is malformed (segments, base64, duplicate members), so it never shows a reading of the
/// token that [`Verifier`] would not also take.
pub fn insecure_decode(token: &str) -> Result<Unverified, VerifyError> {
    let parts = split(token, DEFAULT_MAX_TOKEN_LEN)?;
    let header = b64::decode(parts.header).map_err(|_| VerifyError::Base64("header"))?;
    let header = strict_object(&header).map_err(VerifyError::Header)?;
    let claims = b64::decode(parts.payload).map_err(|_| VerifyError::Base64("payload"))?;
    let claims = strict_object(&claims).map_err(VerifyError::Claims)?;
    let signature = b64::decode(parts.signature).map_err(|_| VerifyError::Base64("signature"))?;
    Ok(Unverified {
        header,
        claims,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expect = fn(&VerifyError) -> bool;

    fn claims(json: &str) -> Result<RegisteredClaims<'_>, VerifyError> {
        crate::payload::read_registered(json)
    }

    #[test]
    fn numeric_dates_are_numbers_and_nothing_else() {
        assert_eq!(
            claims(r#"{"exp":1700000000}"#).unwrap().exp,
            Some(1_700_000_000)
        );
        assert_eq!(
            claims(r#"{"exp":1700000000.9}"#).unwrap().exp,
            Some(1_700_000_000)
        );
        assert_eq!(claims(r#"{"exp":0}"#).unwrap().exp, Some(0));
        for bad in [
            r#"{"exp":"1700000000"}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":-0.5}"#,
            r#"{"exp":1e300}"#,
            r#"{"exp":253402300800}"#,
            r#"{"exp":null}"#,
            r#"{"nbf":true}"#,
            r#"{"iat":[1]}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"{"aud":5}"#,
            r#"{"aud":["a",5]}"#,
            r#"{"iss":1}"#,
        ] {
            assert!(claims(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn claim_checks_table() {
        let v = Validation::new([Algorithm::RS256])
            .issuer("https://i/")
            .audience("api")
            .leeway(10);
        let now = UnixTime(1000);
        let cases: &[(&str, Option<Expect>)] = &[
            (r#"{"exp":1011,"iss":"https://i/","aud":"api"}"#, None),
            (r#"{"exp":1009,"iss":"https://i/","aud":["x","api"]}"#, None),
            (
                r#"{"exp":990,"iss":"https://i/","aud":"api"}"#,
                Some(|e| matches!(e, VerifyError::Expired { .. })),
            ),
            (
                r#"{"exp":2000,"nbf":1011,"iss":"https://i/","aud":"api"}"#,
                Some(|e| matches!(e, VerifyError::NotYetValid { .. })),
            ),
            (
                r#"{"exp":2000,"nbf":1010,"iss":"https://i/","aud":"api"}"#,
                None,
            ),
            (
                r#"{"exp":2000,"iss":"https://i","aud":"api"}"#,
                Some(|e| matches!(e, VerifyError::Issuer { .. })),
            ),
            (
                r#"{"exp":2000,"aud":"api"}"#,
                Some(|e| matches!(e, VerifyError::Issuer { .. })),
            ),
            (
                r#"{"exp":2000,"iss":"https://i/","aud":"API"}"#,
                Some(|e| matches!(e, VerifyError::Audience { .. })),
            ),
            (
                r#"{"exp":2000,"iss":"https://i/","aud":[]}"#,
                Some(|e| matches!(e, VerifyError::Audience { .. })),
            ),
            (
                r#"{"exp":2000,"iss":"https://i/"}"#,
                Some(|e| matches!(e, VerifyError::Audience { .. })),
            ),
            (
                r#"{"iss":"https://i/","aud":"api"}"#,
                Some(|e| matches!(e, VerifyError::MissingClaim(_))),
            ),
        ];
        for (json, expected) in cases {
            let result = v.check_claims(&claims(json).unwrap(), now);
            match (expected, result) {
                (None, Ok(())) => {}
                (Some(is), Err(e)) if is(&e) => {}
                (_, r) => panic!("{json}: {r:?}"),
            }
        }
    }

    #[test]
    fn typ_policy_table() {
        let jwt = TypPolicy::Jwt;
        assert!(jwt.check(None).is_ok());
        assert!(jwt.check(Some("JWT")).is_ok());
        assert!(jwt.check(Some("application/at+JWT")).is_ok());
        assert!(jwt.check(Some("dpop+jwt")).is_err());
        let strict = TypPolicy::Require(vec!["at+jwt".into()]);
        assert!(strict.check(Some("at+jwt")).is_ok());
        assert!(strict.check(Some("JWT")).is_err());
        assert!(strict.check(None).is_err());
    }
}
