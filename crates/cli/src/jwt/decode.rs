//! `sigil jwt decode`: shows what a token says, without checking that it is genuine.

use std::process::ExitCode;

use anyhow::anyhow;
use serde_json::{Map, Value};
use sigil_jose::{MAX_NUMERIC_DATE, UnixTime, insecure_decode};

use super::reason::{self, Reason};
use crate::output;
use crate::time_fmt::{relative, utc};

/// The claims holding NumericDates (RFC 7519 §4.1.4–6; OIDC Core §2 and §5.1), in the
/// order they are listed.
const TIME_CLAIMS: [&str; 5] = ["exp", "nbf", "iat", "auth_time", "updated_at"];

/// Prints the header, the claims, their times, and that the signature was not checked.
/// `at_flag` says whether `now` came from `--at`, to say so.
pub(crate) fn run(token: &str, now: UnixTime, at_flag: bool) -> anyhow::Result<ExitCode> {
    let token = insecure_decode(token).map_err(|e| {
        let line = match reason::describe(&e, &reason::Context::default()) {
            Reason::Malformed(line) | Reason::Invalid(line) => line,
        };
        anyhow!("cannot decode the token: {line}")
    })?;
    let mut text = format!(
        "Header:\n{}\n\nClaims:\n{}\n",
        pretty(&token.header),
        pretty(&token.claims)
    );
    let times = times(&token.claims, now);
    if !times.is_empty() {
        let basis = if at_flag {
            format!("--at {}", utc(now.0))
        } else {
            "now".to_owned()
        };
        text.push_str(&format!("\nTimes (UTC, relative to {basis}):\n"));
        for line in times {
            text.push_str(&format!("  {line}\n"));
        }
    }
    text.push_str(&format!(
        "\nSignature: {} bytes. The signature was NOT checked: anyone can write any header and claims; use `sigil jwt verify` to check this token against the issuer's keys.",
        token.signature.len()
    ));
    output::stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn pretty(object: &Map<String, Value>) -> String {
    // A map of JSON values always serializes; the fallback is never shown.
    serde_json::to_string_pretty(object).unwrap_or_default()
}

/// One line per NumericDate claim: "exp: 1700000000 = 2023-11-14T22:13:20Z (expired 2 h ago)".
fn times(claims: &Map<String, Value>, now: UnixTime) -> Vec<String> {
    let mut lines = Vec::new();
    for name in TIME_CLAIMS {
        let Some(value) = claims.get(name) else {
            continue;
        };
        let secs = match value {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            }),
            // OIDC's updated_at is sometimes sent as a date string; leave it alone.
            _ if name == "updated_at" => continue,
            _ => None,
        };
        let line = match secs {
            Some(t) if (0..=MAX_NUMERIC_DATE).contains(&t) => {
                format!("{name}: {value} = {} ({})", utc(t), note(name, t, now))
            }
            Some(_) => {
                format!("{name}: {value} is outside the range of NumericDates (year 1970 to 9999)")
            }
            None => {
                format!("{name}: {value} is not a NumericDate (a number of seconds since 1970)")
            }
        };
        lines.push(line);
    }
    lines
}

fn note(name: &str, t: i64, now: UnixTime) -> String {
    let when = relative(t, now);
    match name {
        "exp" if t <= now.0 => format!("expired {when}"),
        "exp" => format!("expires {when}"),
        "nbf" if t <= now.0 => format!("valid since {when}"),
        "nbf" => format!("not valid yet: valid {when}"),
        _ => when,
    }
}
