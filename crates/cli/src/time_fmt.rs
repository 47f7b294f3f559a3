//! Times for people: NumericDates as UTC timestamps, spans as "2 h 3 min", and the
//! durations that `sigil jwt sign --exp` accepts ("30s", "10m", "1h30m").
//!
//! The calendar arithmetic lives in `sigil_core::clock` (a dozen lines, smaller than a date
//! crate), shared with the server.

use sigil_jose::UnixTime;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Seconds since the epoch as an RFC 3339 UTC timestamp: `2023-11-14T22:13:20Z`.
pub(crate) fn utc(secs: i64) -> String {
    sigil_core::clock::utc(sigil_core::UnixTime(secs))
}

/// A span of seconds in its two largest units: "45 s", "2 min 5 s", "2 h 3 min", "3 d 4 h".
pub(crate) fn span(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(DAY, "d"), (HOUR, "h"), (MINUTE, "min"), (1, "s")];
    let Some(i) = UNITS.iter().position(|(size, _)| secs >= *size) else {
        return "0 s".to_owned();
    };
    let (size, name) = UNITS[i];
    let mut text = format!("{} {name}", secs / size);
    if let Some((next, next_name)) = UNITS.get(i + 1) {
        let rest = secs % size / next;
        if rest > 0 {
            text.push_str(&format!(" {rest} {next_name}"));
        }
    }
    text
}

/// Where `t` lies relative to `now`: "2 h 3 min ago", "in 9 h 59 min" or "just now".
pub(crate) fn relative(t: i64, now: UnixTime) -> String {
    let delta = i128::from(t) - i128::from(now.0);
    let secs = u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX);
    match delta {
        0 => "just now".to_owned(),
        d if d < 0 => format!("{} ago", span(secs)),
        _ => format!("in {}", span(secs)),
    }
}

/// Parses a duration: a bare number of seconds, or numbers with units `s`, `m`, `h`, `d`,
/// written together (`1h30m`). Returns seconds.
pub(crate) fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid duration \"{text}\": write a number and a unit, such as 30s, 10m, 1h, 2d or 1h30m"
        )
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let size = match &rest[..unit_len] {
            "s" => 1,
            "m" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(size)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(|| format!("duration \"{text}\" is too long"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_table() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(utc(secs), text);
        }
    }

    #[test]
    fn span_table() {
        for (secs, text) in [
            (0, "0 s"),
            (45, "45 s"),
            (125, "2 min 5 s"),
            (120, "2 min"),
            (7380, "2 h 3 min"),
            (35_940, "9 h 59 min"),
            (90_000, "1 d 1 h"),
        ] {
            assert_eq!(span(secs), text);
        }
        assert_eq!(relative(10, UnixTime(20)), "10 s ago");
        assert_eq!(relative(20, UnixTime(10)), "in 10 s");
        assert_eq!(relative(20, UnixTime(20)), "just now");
    }

    #[test]
    fn duration_table() {
        for (text, secs) in [
            ("30s", Some(30)),
            ("10m", Some(600)),
            ("1h", Some(3600)),
            ("2d", Some(172_800)),
            ("1h30m", Some(5400)),
            ("90", Some(90)),
            ("", None),
            ("h", None),
            ("1x", None),
            ("1.5h", None),
            ("-1h", None),
            ("99999999999999999999d", None),
        ] {
            assert_eq!(parse_duration(text).ok(), secs, "{text}");
        }
    }
}
