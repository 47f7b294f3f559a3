//! Checking passwords against hashes imported from elsewhere (Auth0's bulk import): bcrypt,
//! PBKDF2 (PHC strings), and Auth0's `custom_password_hash` salted digests (SHA-1, SHA-256,
//! SHA-512, MD5) and HMACs. Each comparison of secret bytes is constant-time. A successful
//! login replaces these hashes with argon2id (see `accounts::authenticate_user`).
//!
//! PBKDF2, the SHA digests and HMAC come from aws-lc-rs. bcrypt and MD5 are not in aws-lc-rs's
//! API, so they come from the `bcrypt` and `md-5` crates (pure Rust, RustCrypto's blowfish and
//! MD5), used here only to check imported hashes, never to make new ones. scrypt hashes are
//! kept but not checked yet: such users log in after a password reset.

use aws_lc_rs::{constant_time, digest, hmac, pbkdf2};
use serde::Deserialize;

use crate::password::PasswordAlgorithm;

/// Whether `password` matches the imported `encoded` hash of `algorithm`; `None` when the
/// hash cannot be checked (malformed, or an algorithm not checked yet).
pub(crate) fn verify(algorithm: PasswordAlgorithm, encoded: &str, password: &str) -> Option<bool> {
    match algorithm {
        PasswordAlgorithm::Bcrypt => bcrypt::verify(password, encoded).ok(),
        PasswordAlgorithm::Pbkdf2 => verify_pbkdf2(encoded, password),
        PasswordAlgorithm::Sha1
        | PasswordAlgorithm::Sha256
        | PasswordAlgorithm::Sha512
        | PasswordAlgorithm::Md5
        | PasswordAlgorithm::Hmac => verify_custom(algorithm, encoded, password),
        PasswordAlgorithm::Argon2 | PasswordAlgorithm::Scrypt => None,
    }
}

/// `$pbkdf2-<digest>$i=<iterations>,l=<length>$<salt>$<hash>` (PHC; salt and hash in
/// unpadded base64, `.` accepted for `+` as some libraries write it). `$pbkdf2$` is SHA-1.
fn verify_pbkdf2(encoded: &str, password: &str) -> Option<bool> {
    let mut parts = encoded.strip_prefix('$')?.split('$');
    let algorithm = match parts.next()? {
        "pbkdf2" | "pbkdf2-sha1" => pbkdf2::PBKDF2_HMAC_SHA1,
        "pbkdf2-sha256" => pbkdf2::PBKDF2_HMAC_SHA256,
        "pbkdf2-sha512" => pbkdf2::PBKDF2_HMAC_SHA512,
        _ => return None,
    };
    let params = parts.next()?;
    let iterations = params
        .split(',')
        .find_map(|p| p.strip_prefix("i="))?
        .parse::<u32>()
        .ok()?;
    let iterations = std::num::NonZeroU32::new(iterations)?;
    let salt = b64(parts.next()?)?;
    let hash = b64(parts.next()?)?;
    if parts.next().is_some() || hash.is_empty() {
        return None;
    }
    Some(pbkdf2::verify(algorithm, iterations, &salt, password.as_bytes(), &hash).is_ok())
}

fn b64(text: &str) -> Option<Vec<u8>> {
    let text = text.replace('.', "+");
    base64_simd::STANDARD_NO_PAD
        .decode_to_vec(text.trim_end_matches('='))
        .ok()
}

/// Auth0's `custom_password_hash` for salted digests and HMACs, as imported.
#[derive(Deserialize)]
struct Custom {
    hash: Encoded,
    #[serde(default)]
    salt: Option<Salt>,
    #[serde(default)]
    key: Option<Encoded>,
}

#[derive(Deserialize)]
struct Encoded {
    value: String,
    #[serde(default)]
    encoding: Option<String>,
    /// The HMAC's digest (`hash.digest`).
    #[serde(default)]
    digest: Option<String>,
}

#[derive(Deserialize)]
struct Salt {
    value: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    position: Option<String>,
}

/// Bytes of `value` in `encoding` (`hex`, `base64`, `utf8`; `default` when absent).
fn decode(value: &str, encoding: Option<&str>, default: &str) -> Option<Vec<u8>> {
    match encoding.unwrap_or(default) {
        "hex" => hex(value),
        "base64" => base64_simd::STANDARD
            .decode_to_vec(value)
            .ok()
            .or_else(|| base64_simd::STANDARD_NO_PAD.decode_to_vec(value).ok()),
        "utf8" => Some(value.as_bytes().to_vec()),
        _ => None,
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn verify_custom(algorithm: PasswordAlgorithm, encoded: &str, password: &str) -> Option<bool> {
    let custom: Custom = serde_json::from_str(encoded).ok()?;
    let expected = decode(&custom.hash.value, custom.hash.encoding.as_deref(), "hex")?;
    let mut input = password.as_bytes().to_vec();
    if let Some(salt) = &custom.salt {
        let salt_bytes = decode(&salt.value, salt.encoding.as_deref(), "utf8")?;
        input = match salt.position.as_deref().unwrap_or("prefix") {
            "prefix" => [salt_bytes, input].concat(),
            "suffix" => [input, salt_bytes].concat(),
            _ => return None,
        };
    }
    let actual: Vec<u8> = match algorithm {
        PasswordAlgorithm::Sha1 => digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &input)
            .as_ref()
            .to_vec(),
        PasswordAlgorithm::Sha256 => digest::digest(&digest::SHA256, &input).as_ref().to_vec(),
        PasswordAlgorithm::Sha512 => digest::digest(&digest::SHA512, &input).as_ref().to_vec(),
        PasswordAlgorithm::Md5 => {
            use md5::Digest as _;
            md5::Md5::digest(&input).to_vec()
        }
        PasswordAlgorithm::Hmac => {
            let key = custom.key.as_ref()?;
            let key = decode(&key.value, key.encoding.as_deref(), "utf8")?;
            let algorithm = match custom.hash.digest.as_deref()? {
                "sha1" => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                "sha256" => hmac::HMAC_SHA256,
                "sha384" => hmac::HMAC_SHA384,
                "sha512" => hmac::HMAC_SHA512,
                _ => return None,
            };
            hmac::sign(&hmac::Key::new(algorithm, &key), &input)
                .as_ref()
                .to_vec()
        }
        _ => return None,
    };
    Some(constant_time::verify_slices_are_equal(&actual, &expected).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn imported_hashes_check_the_right_password_only() {
        let password = "Old-Pass-42";
        // bcrypt, cost 4, made here; PBKDF2 made with aws-lc-rs.
        let bcrypt = bcrypt::hash_with_salt(password, 4, [7; 16])
            .map(|h| h.format_for_version(bcrypt::Version::TwoB))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut derived = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            std::num::NonZeroU32::new(1000).unwrap_or(std::num::NonZeroU32::MIN),
            b"saltsalt",
            password.as_bytes(),
            &mut derived,
        );
        let phc = format!(
            "$pbkdf2-sha256$i=1000,l=32${}${}",
            base64_simd::STANDARD_NO_PAD.encode_to_string(b"saltsalt"),
            base64_simd::STANDARD_NO_PAD.encode_to_string(derived)
        );
        let sha256 = hex_of(
            digest::digest(&digest::SHA256, format!("pepper{password}").as_bytes()).as_ref(),
        );
        let sha512 = base64_simd::STANDARD.encode_to_string(
            digest::digest(&digest::SHA512, format!("{password}pepper").as_bytes()).as_ref(),
        );
        let md5 = {
            use md5::Digest as _;
            hex_of(&md5::Md5::digest(password.as_bytes()))
        };
        let mac = hex_of(
            hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, b"k3y"),
                password.as_bytes(),
            )
            .as_ref(),
        );
        let cases = [
            (PasswordAlgorithm::Bcrypt, bcrypt),
            (PasswordAlgorithm::Pbkdf2, phc),
            (
                PasswordAlgorithm::Sha256,
                serde_json::json!({"algorithm": "sha256", "hash": {"value": sha256, "encoding": "hex"},
                    "salt": {"value": "pepper", "position": "prefix"}})
                .to_string(),
            ),
            (
                PasswordAlgorithm::Sha512,
                serde_json::json!({"algorithm": "sha512", "hash": {"value": sha512, "encoding": "base64"},
                    "salt": {"value": "pepper", "position": "suffix"}})
                .to_string(),
            ),
            (
                PasswordAlgorithm::Md5,
                serde_json::json!({"algorithm": "md5", "hash": {"value": md5}}).to_string(),
            ),
            (
                PasswordAlgorithm::Hmac,
                serde_json::json!({"algorithm": "hmac", "hash": {"value": mac, "encoding": "hex", "digest": "sha256"},
                    "key": {"value": "k3y"}})
                .to_string(),
            ),
        ];
        for (algorithm, encoded) in cases {
            assert_eq!(
                verify(algorithm, &encoded, password),
                Some(true),
                "{algorithm:?}"
            );
            assert_eq!(
                verify(algorithm, &encoded, "old-pass-42"),
                Some(false),
                "{algorithm:?}"
            );
        }
        assert_eq!(
            verify(PasswordAlgorithm::Pbkdf2, "$pbkdf2-md4$i=1$a$b", password),
            None
        );
        assert_eq!(verify(PasswordAlgorithm::Md5, "{not json", password), None);
        assert_eq!(verify(PasswordAlgorithm::Scrypt, "{}", password), None);
    }
}
