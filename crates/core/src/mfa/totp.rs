//! RFC 6238 time-based one-time passwords, as Auth0's `otp` factor uses them (and every
//! authenticator app): HMAC-SHA-1 over the 30-second step count (RFC 4226's HOTP, dynamic
//! truncation), 6 digits, the secret 20 random bytes shown in base32 (RFC 4648, no padding).
//!
//! Written here rather than taken from a crate: it is a few lines over aws-lc-rs's HMAC, which
//! keeps one crypto library (`totp-rs` brings RustCrypto's), and RFC 6238's own vectors check it.

use aws_lc_rs::{constant_time, hmac};
use zeroize::Zeroizing;

use crate::{Rng, UnixTime};

/// Seconds in one step (Auth0's `period=30`).
pub const STEP: i64 = 30;
/// Digits in a code (Auth0's `digits=6`).
pub const DIGITS: u32 = 6;
/// Bytes of a new secret: 160 bits, RFC 4226's recommendation.
const SECRET_BYTES: usize = 20;
/// Steps either side of now a code may come from (RFC 6238 §5.2: clocks and typing drift).
pub const SKEW: i64 = 1;

/// A TOTP secret (its bytes), wiped from memory when dropped; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate(rng: &dyn Rng) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rng.fill(&mut bytes);
        TotpSecret(bytes)
    }

    /// The secret a base32 text names (upper or lower case, spaces and padding ignored), when
    /// it is base32 and at least 80 bits long (RFC 4226's minimum is 128; authenticator apps and
    /// Auth0's imports carry 80 and more).
    pub fn from_base32(text: &str) -> Option<Self> {
        let bytes = base32_decode(text)?;
        (bytes.len() >= 10).then(|| TotpSecret(Zeroizing::new(bytes)))
    }

    /// The secret made of `bytes` (as stored), when they are at least 80 bits.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Option<Self> {
        (bytes.len() >= 10).then_some(TotpSecret(bytes))
    }

    /// The secret's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in base32, as apps take it.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32_encode(&self.0))
    }

    /// The code of step `step` with `digits` digits.
    fn code_at_step(&self, step: i64, digits: u32) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let value = u32::from_be_bytes([
            mac[offset],
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]) & 0x7fff_ffff;
        let code = value % 10u32.pow(digits);
        format!("{code:0width$}", width = digits as usize)
    }

    /// The code at `now` (6 digits).
    pub fn code(&self, now: UnixTime) -> String {
        self.code_at_step(now.0.div_euclid(STEP), DIGITS)
    }

    /// The step, within [`SKEW`] of `now`'s, whose code `code` is, compared in constant time;
    /// `None` when it is none of them. Whether that step was used already is the store's to
    /// decide (a code is accepted once per step).
    pub fn matching_step(&self, code: &str, now: UnixTime) -> Option<i64> {
        let code = code.trim();
        if !shaped_as_code(code) {
            return None;
        }
        let current = now.0.div_euclid(STEP);
        let mut found = None;
        // Every candidate is computed and compared, so the time taken does not say which matched.
        for step in current - SKEW..=current + SKEW {
            let expected = self.code_at_step(step, DIGITS);
            if constant_time::verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok()
            {
                found = found.or(Some(step));
            }
        }
        found
    }

    /// The `otpauth://` URI authenticator apps read from a QR code, as Auth0's `barcode_uri`:
    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
    /// The label's two parts are encoded apart and joined by a literal colon, as Auth0 writes
    /// it (Google's key URI format allows either); a colon in the issuer, which would end the
    /// label's issuer part early, becomes a space.
    pub fn key_uri(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        let issuer = issuer.replace(':', " ");
        let issuer = issuer.as_str();
        // Everything but RFC 3986's unreserved characters and `@` (an email stays readable).
        const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~')
            .remove(b'@');
        let encode = |text: &str| percent_encoding::utf8_percent_encode(text, KEEP).to_string();
        Zeroizing::new(format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
            encode(issuer),
            encode(account),
            self.base32().as_str(),
            encode(issuer),
        ))
    }
}

/// Whether `code` has the shape of a code: [`DIGITS`] ASCII digits.
pub fn shaped_as_code(code: &str) -> bool {
    code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, without padding.
fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// RFC 4648 base32 in either case, spaces and `=` padding ignored; `None` for anything else.
fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !matches!(c, b' ' | b'=' | b'-')) {
        let value = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let secret = TotpSecret(Zeroizing::new(b"12345678901234567890".to_vec()));
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_at_step(time / STEP, 8), code, "t={time}");
        }
        // Six digits are the last six of eight.
        assert_eq!(secret.code(UnixTime(59)), "287082");
    }

    #[test]
    fn codes_agree_with_pyotp() {
        // pyotp 2.9.0: `TOTP("JBSWY3DP…").at(t)`, and `parse_uri` of the key URI Sigil writes
        // for this secret read back the account, the issuer and the same code.
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        for (time, code) in [
            (0, "702218"),
            (59, "503347"),
            (1_800_000_000, "877905"),
            (1_800_000_029, "877905"),
            (1_800_000_030, "866818"),
            (2_000_000_000, "978524"),
        ] {
            assert_eq!(secret.code(UnixTime(time)), code, "t={time}");
        }
        assert_eq!(
            secret.key_uri("Sigil Tenant", "ann@example.com").as_str(),
            "otpauth://totp/Sigil%20Tenant:ann@example.com?\
             secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Sigil%20Tenant&algorithm=SHA1&\
             digits=6&period=30"
        );
    }

    #[test]
    fn codes_match_within_one_step_either_side_only() {
        let secret = TotpSecret::generate(&crate::SystemRng);
        let now = UnixTime(1_800_000_015);
        let step = now.0 / STEP;
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = secret.code_at_step(step + offset, DIGITS);
            let found = secret.matching_step(&code, now);
            // A code of another step may collide by chance (one in a million): only check the
            // ones that do not.
            if !accepted && found.is_some() && found != Some(step + offset) {
                continue;
            }
            assert_eq!(found.is_some(), accepted, "offset {offset}");
        }
        assert_eq!(secret.matching_step("12345", now), None);
        assert_eq!(secret.matching_step("12345a", now), None);
    }

    #[test]
    fn base32_round_trips_and_refuses_other_alphabets() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb oi").unwrap(), b"foobar");
        assert!(base32_decode("MZXW1").is_none());
        let secret = TotpSecret::generate(&crate::SystemRng);
        assert_eq!(secret.base32().len(), 32);
        assert_eq!(TotpSecret::from_base32(&secret.base32()).unwrap(), secret);
        assert!(
            TotpSecret::from_base32("MZXW6YTB").is_none(),
            "40 bits are too few"
        );
        let uri = secret.key_uri("Sigil Tenant", "ann@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Sigil%20Tenant:ann@example.com?secret="),
            "{}",
            uri.as_str()
        );
        assert!(uri.ends_with("&issuer=Sigil%20Tenant&algorithm=SHA1&digits=6&period=30"));
        assert!(!format!("{secret:?}").contains(secret.base32().as_str()));
    }
}
