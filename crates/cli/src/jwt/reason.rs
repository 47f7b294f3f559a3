//! The one mapping from [`VerifyError`] to the line `sigil jwt` prints, an exhaustive `match`
//! with no catch-all arm: a new variant in `sigil-jose` does not compile until it has a message.
//!
//! Times are told relative to the validation time (`--at`, or now), as a person reads them.

use sigil_jose::{Algorithm, KeyKind, UnixTime, VerifyError};

use crate::time_fmt::{relative, utc};

/// What a verification failure means for the exit status.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The input is not a well-formed token at all (exit 2).
    Malformed(String),
    /// A well-formed token that fails a check (exit 1).
    Invalid(String),
}

/// Where the algorithm allow-list came from, to say why an `alg` was refused.
#[derive(Debug, Default)]
pub(crate) enum AllowedAlgs {
    /// `--alg` values.
    Flag(Vec<Algorithm>),
    /// Every algorithm the keys can verify; the keys are of these kinds.
    FromKeys {
        /// The kinds of the keys, without repeats.
        kinds: Vec<KeyKind>,
        /// The algorithms they verify.
        algs: Vec<Algorithm>,
    },
    /// Not known (decoding only).
    #[default]
    Unknown,
}

/// What the message needs beyond the error itself.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// Tolerated clock skew, seconds.
    pub(crate) leeway: u64,
    /// The allow-list's origin.
    pub(crate) allowed: AllowedAlgs,
    /// The `kid`s of the keys tried.
    pub(crate) kids: Vec<String>,
    /// Keys of the key set that could not be used, by `kid`, with the reason.
    pub(crate) skipped: Vec<(Option<String>, String)>,
    /// Where the expected issuer came from ("--iss", "the discovery document").
    pub(crate) issuer_source: &'static str,
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn alg_list(algs: &[Algorithm]) -> String {
    algs.iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Describes `error` in one line, without a leading "invalid:" or "error:".
pub(crate) fn describe(error: &VerifyError, cx: &Context) -> Reason {
    use Reason::{Invalid, Malformed};
    match error {
        VerifyError::TooLarge { len, max } => Malformed(format!(
            "the token is {len} bytes, more than the {max} Sigil accepts"
        )),
        VerifyError::JsonSerialization => Malformed(
            "this is a JWS in JSON serialization; only the compact form header.payload.signature is accepted"
                .to_owned(),
        ),
        VerifyError::Encrypted => Malformed(
            "the token has 5 segments, so it is an encrypted JWT (JWE), which Sigil cannot read"
                .to_owned(),
        ),
        VerifyError::Segments(n) => Malformed(format!(
            "not a JWT: it has {n} segment(s), and a JWT has 3 separated by dots (header.payload.signature)"
        )),
        VerifyError::Base64(part) => Malformed(format!(
            "not a JWT: the {part} is not valid base64url (unpadded, as JWTs use)"
        )),
        VerifyError::Header(detail) => Malformed(format!("not a JWT: malformed header: {detail}")),
        VerifyError::AlgNone(alg) => Invalid(format!(
            "alg \"{alg}\" means an unsigned token, which is never accepted"
        )),
        VerifyError::UnsupportedAlg(alg) => {
            Invalid(format!("alg \"{alg}\" is not a supported algorithm"))
        }
        VerifyError::AlgNotAllowed(alg) => Invalid(match &cx.allowed {
            AllowedAlgs::Flag(algs) => {
                format!("alg {alg} is not allowed by --alg ({})", alg_list(algs))
            }
            AllowedAlgs::FromKeys { kinds, .. } if kinds.len() == 1 => {
                format!("alg {alg} not allowed for {}", kinds[0])
            }
            AllowedAlgs::FromKeys { algs, .. } => {
                format!("alg {alg} not allowed: the keys verify {}", alg_list(algs))
            }
            AllowedAlgs::Unknown => format!("alg {alg} is not allowed"),
        }),
        VerifyError::AlgKeyMismatch { alg, kind } => {
            Invalid(format!("alg {alg} not allowed for {kind}"))
        }
        VerifyError::Crit(names) => Invalid(format!(
            "the header marks {} as critical, and Sigil supports no JWS extensions",
            quoted(names)
        )),
        VerifyError::UnencodedPayload => Invalid(
            "the header asks for an unencoded payload (b64: false), which is not accepted"
                .to_owned(),
        ),
        VerifyError::Typ { found, expected } => Invalid(format!(
            "typ \"{found}\" is not accepted (expected {expected})"
        )),
        VerifyError::UnknownKid(kid) => Invalid(unknown_kid(kid, cx)),
        VerifyError::AmbiguousKey(count) => Invalid(format!(
            "the token has no kid and {count} keys could verify it; refusing to guess (pass the one key with --key)"
        )),
        VerifyError::NoKey(alg) => Invalid(format!("no key can verify alg {alg}")),
        VerifyError::BadSignature { kid: Some(kid) } => {
            Invalid(format!("signature does not match key kid={kid}"))
        }
        VerifyError::BadSignature { kid: None } => {
            Invalid("signature does not match the key".to_owned())
        }
        VerifyError::Claims(detail) => Invalid(format!("malformed claims: {detail}")),
        VerifyError::Expired { exp, now } => {
            let ago = relative(*exp, UnixTime(*now));
            let leeway = match cx.leeway {
                0 => String::new(),
                l => format!(", beyond the {l} s leeway"),
            };
            Invalid(format!("expired {ago} (exp {}{leeway})", utc(*exp)))
        }
        VerifyError::NotYetValid { nbf, now } => Invalid(format!(
            "not valid yet: valid {} (nbf {})",
            relative(*nbf, UnixTime(*now)),
            utc(*nbf)
        )),
        VerifyError::Issuer {
            expected,
            found: Some(found),
        } => Invalid(format!(
            "issuer {found:?} is not the expected {expected:?} (from {})",
            cx.issuer_source
        )),
        VerifyError::Issuer {
            expected,
            found: None,
        } => Invalid(format!(
            "the token has no iss claim; expected {expected:?} (from {})",
            cx.issuer_source
        )),
        VerifyError::Audience { expected, found } => Invalid(match found.as_slice() {
            [] => format!("the token has no aud claim; expected {}", quoted(expected)),
            _ => format!(
                "audience {} does not include {}{}",
                quoted(found),
                if expected.len() > 1 { "any of " } else { "" },
                quoted(expected)
            ),
        }),
        VerifyError::MissingClaim(name) => {
            Invalid(format!("required claim \"{name}\" is missing"))
        }
    }
}

fn unknown_kid(kid: &str, cx: &Context) -> String {
    if let Some((_, why)) = cx.skipped.iter().find(|(k, _)| k.as_deref() == Some(kid)) {
        return format!(
            "no usable key with kid \"{kid}\": the key set has one, but it was skipped ({why})"
        );
    }
    match cx.kids.as_slice() {
        [] => format!("no key with kid \"{kid}\""),
        kids => format!(
            "no key with kid \"{kid}\" (the keys have kid {})",
            quoted(kids)
        ),
    }
}
