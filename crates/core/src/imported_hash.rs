//! Checking the password hashes users were imported with (Auth0's bulk import), so that they
//! log in with their old password once; the login then replaces the hash with argon2id.
//! bcrypt (modular crypt), PBKDF2 (PHC string `$pbkdf2-sha256$i=…,l=…$salt$hash`, salt and hash
//! in unpadded standard base64) and Auth0's salted digests (`custom_password_hash` JSON:
//! `hash.value` in `hex` (default), `base64` or `utf8`, `salt.value` in `utf8` (default),
//! `base64` or `hex` at `prefix` or `suffix`) for SHA-1, SHA-256, SHA-512 and MD5. Digests are
//! compared in constant time. A hash that cannot be read answers `None` (fails closed).

use std::num::NonZeroU32;

use aws_lc_rs::{constant_time, digest, pbkdf2};
use md5::Digest as _;
use serde_json::Value;

use crate::password::PasswordAlgorithm;

/// Whether `password` matches the bcrypt hash `encoded`.
pub(crate) fn bcrypt(encoded: &str, password: &str) -> Option<bool> {
    bcrypt::verify(password, encoded).ok()
}

fn unpadded_base64(text: &str) -> Option<Vec<u8>> {
    base64_simd::STANDARD_NO_PAD
        .decode_to_vec(text.trim_end_matches('='))
        .ok()
}

/// Whether `password` matches the PBKDF2 PHC string `encoded`.
pub(crate) fn pbkdf2(encoded: &str, password: &str) -> Option<bool> {
    let mut parts = encoded.strip_prefix('$')?.split('$');
    let algorithm = match parts.next()? {
        "pbkdf2" | "pbkdf2-sha1" => pbkdf2::PBKDF2_HMAC_SHA1,
        "pbkdf2-sha256" => pbkdf2::PBKDF2_HMAC_SHA256,
        "pbkdf2-sha512" => pbkdf2::PBKDF2_HMAC_SHA512,
        _ => return None,
    };
    let mut iterations = None;
    for param in parts.next()?.split(',') {
        match param.split_once('=')? {
            ("i", n) => iterations = NonZeroU32::new(n.parse().ok()?),
            ("l", _) => {} // the length is the hash's
            _ => return None,
        }
    }
    let salt = unpadded_base64(parts.next()?)?;
    let hash = unpadded_base64(parts.next()?)?;
    if parts.next().is_some() || hash.is_empty() {
        return None;
    }
    Some(pbkdf2::verify(algorithm, iterations?, &salt, password.as_bytes(), &hash).is_ok())
}

fn decode(value: &str, encoding: &str) -> Option<Vec<u8>> {
    match encoding {
        "utf8" => Some(value.as_bytes().to_vec()),
        "base64" => unpadded_base64(value),
        "hex" => {
            if !value.len().is_multiple_of(2) {
                return None;
            }
            (0..value.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(value.get(i..i + 2)?, 16).ok())
                .collect()
        }
        _ => None,
    }
}

/// Whether `password` matches Auth0's salted-digest JSON `encoded` made with `algorithm`.
pub(crate) fn salted_digest(
    algorithm: PasswordAlgorithm,
    encoded: &str,
    password: &str,
) -> Option<bool> {
    let custom: Value = serde_json::from_str(encoded).ok()?;
    let hash = custom.get("hash")?;
    let expected = decode(
        hash.get("value")?.as_str()?,
        hash.get("encoding")
            .and_then(Value::as_str)
            .unwrap_or("hex"),
    )?;
    let (salt, prefix) = match custom.get("salt") {
        Some(salt) => (
            decode(
                salt.get("value")?.as_str()?,
                salt.get("encoding")
                    .and_then(Value::as_str)
                    .unwrap_or("utf8"),
            )?,
            match salt.get("position").and_then(Value::as_str) {
                Some("prefix") => true,
                Some("suffix") => false,
                _ => return None,
            },
        ),
        None => (Vec::new(), true),
    };
    let mut input = Vec::with_capacity(salt.len() + password.len());
    if prefix {
        input.extend_from_slice(&salt);
        input.extend_from_slice(password.as_bytes());
    } else {
        input.extend_from_slice(password.as_bytes());
        input.extend_from_slice(&salt);
    }
    let actual: Vec<u8> = match algorithm {
        PasswordAlgorithm::Sha1 => digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &input)
            .as_ref()
            .to_vec(),
        PasswordAlgorithm::Sha256 => digest::digest(&digest::SHA256, &input).as_ref().to_vec(),
        PasswordAlgorithm::Sha512 => digest::digest(&digest::SHA512, &input).as_ref().to_vec(),
        PasswordAlgorithm::Md5 => md5::Md5::digest(&input).to_vec(),
        _ => return None,
    };
    Some(constant_time::verify_slices_are_equal(&actual, &expected).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_hashes_fail_closed() {
        let digest = |encoded: &str| salted_digest(PasswordAlgorithm::Sha256, encoded, "pw");
        for encoded in [
            "not json",
            r#"{"hash":{"value":"zz"}}"#,
            r#"{"hash":{"value":"abc"}}"#,
            r#"{"hash":{"value":"ab","encoding":"rot13"}}"#,
            r#"{"hash":{"value":"ab"},"salt":{"value":"s"}}"#,
        ] {
            assert_eq!(digest(encoded), None, "{encoded}");
        }
        // Well-formed but wrong: false, not None.
        assert_eq!(digest(r#"{"hash":{"value":"abcd"}}"#), Some(false));
        for encoded in [
            "$pbkdf2-md5$i=1,l=1$c2FsdA$aGFzaA",
            "$pbkdf2-sha256$i=0,l=1$c2FsdA$aGFzaA",
            "$pbkdf2-sha256$x=1$c2FsdA$aGFzaA",
            "$pbkdf2-sha256$i=1$c2FsdA",
            "$pbkdf2-sha256$i=1$c2FsdA$$extra",
        ] {
            assert_eq!(pbkdf2(encoded, "pw"), None, "{encoded}");
        }
        assert_eq!(bcrypt("$2b$04$short", "pw"), None);
    }
}
