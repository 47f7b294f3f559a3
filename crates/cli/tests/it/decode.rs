//! `sigil jwt decode`: pretty JSON, NumericDates in UTC and relative, and the warning.

use crate::{b64, check, generate, scratch, sign};

fn token(dir: &std::path::Path) -> String {
    generate(dir, "ES256", "k.pem", &["--kid", "dec"]);
    sign(
        dir,
        &[
            "--key",
            "k.pem",
            "--kid",
            "dec",
            "--sub",
            "auth0|42",
            "--claims",
            r#"{"iat":1699992620,"nbf":1699992620,"exp":1700000000,"auth_time":1699992000,"updated_at":"2023-01-01T00:00:00Z"}"#,
        ],
    )
}

#[test]
fn shows_header_claims_and_times() {
    let dir = scratch("decode_times");
    let token = token(&dir);
    let warning = "The signature was NOT checked";
    // --at fixes "now": every relative time is exact.
    let out = check(
        &dir,
        &["jwt", "decode", "--at", "1700007380", &token],
        "",
        0,
        &[
            "Header:\n{\n  \"alg\": \"ES256\",\n  \"kid\": \"dec\",\n  \"typ\": \"JWT\"\n}",
            "\"sub\": \"auth0|42\"",
            "Times (UTC, relative to --at 2023-11-15T00:16:20Z):",
            "exp: 1700000000 = 2023-11-14T22:13:20Z (expired 2 h 3 min ago)",
            "nbf: 1699992620 = 2023-11-14T20:10:20Z (valid since 4 h 6 min ago)",
            "iat: 1699992620 = 2023-11-14T20:10:20Z (4 h 6 min ago)",
            "auth_time: 1699992000 = 2023-11-14T20:00:00Z (4 h 16 min ago)",
            warning,
        ],
        &[],
    );
    // updated_at as a date string is shown as it is, without a time line.
    assert!(!out.stdout.contains("updated_at:"), "{}", out.stdout);
    check(
        &dir,
        &["jwt", "decode", "--at", "1699964060", &token],
        "",
        0,
        &[
            "exp: 1700000000 = 2023-11-14T22:13:20Z (expires in 9 h 59 min)",
            "nbf: 1699992620 = 2023-11-14T20:10:20Z (not valid yet: valid in 7 h 56 min)",
        ],
        &[],
    );
    // Against the real clock, only what cannot depend on it: the date, and that 2023 is past.
    check(
        &dir,
        &["jwt", "decode", &token],
        "",
        0,
        &[
            "Times (UTC, relative to now):",
            "exp: 1700000000 = 2023-11-14T22:13:20Z (expired ",
            warning,
        ],
        &[],
    );
}

#[test]
fn reads_stdin_and_odd_tokens() {
    let dir = scratch("decode_stdin");
    let token = token(&dir);
    let piped = format!("  {token}\n\n");
    for args in [&["jwt", "decode"][..], &["jwt", "decode", "-"][..]] {
        check(
            &dir,
            args,
            &piped,
            0,
            &["\"sub\": \"auth0|42\"", "NOT checked"],
            &[],
        );
    }
    check(
        &dir,
        &["jwt", "decode", &format!("Bearer {token}")],
        "",
        0,
        &["\"kid\": \"dec\""],
        &[],
    );

    // Decoding is not verifying: an unsigned token is shown (and would never verify).
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(br#"{"sub":"x","exp":"soon"}"#)
    );
    check(
        &dir,
        &["jwt", "decode", &unsigned],
        "",
        0,
        &[
            "\"alg\": \"none\"",
            "exp: \"soon\" is not a NumericDate",
            "Signature: 0 bytes",
        ],
        &[],
    );
}
