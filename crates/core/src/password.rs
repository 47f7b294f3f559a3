//! User password hashes: argon2id for every password Sigil sets, and imported hashes kept as
//! they came (bcrypt, PBKDF2, salted SHA-*, …) with their algorithm, until the user's next
//! successful login re-hashes them.

use std::fmt;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use zeroize::Zeroizing;

use crate::Rng;

/// How a stored password hash was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordAlgorithm {
    /// argon2id (or an imported argon2i/argon2d) PHC string: what Sigil writes.
    Argon2,
    /// bcrypt (`$2a$`, `$2b$`, `$2y$`), as Auth0 imports and exports them.
    Bcrypt,
    /// PBKDF2 PHC string.
    Pbkdf2,
    /// Salted or plain SHA-1 (imported only; Auth0's `custom_password_hash` shape).
    Sha1,
    /// Salted or plain SHA-256 (imported only).
    Sha256,
    /// Salted or plain SHA-512 (imported only).
    Sha512,
    /// MD5 (imported only).
    Md5,
    /// HMAC-keyed hash (imported only).
    Hmac,
    /// scrypt (imported only).
    Scrypt,
}

impl PasswordAlgorithm {
    /// The name stored in the database and used in Auth0's import files.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordAlgorithm::Argon2 => "argon2",
            PasswordAlgorithm::Bcrypt => "bcrypt",
            PasswordAlgorithm::Pbkdf2 => "pbkdf2",
            PasswordAlgorithm::Sha1 => "sha1",
            PasswordAlgorithm::Sha256 => "sha256",
            PasswordAlgorithm::Sha512 => "sha512",
            PasswordAlgorithm::Md5 => "md5",
            PasswordAlgorithm::Hmac => "hmac",
            PasswordAlgorithm::Scrypt => "scrypt",
        }
    }

    /// The algorithm named `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }
}

/// A stored password hash. `encoded` is a PHC string (argon2, PBKDF2) or modular-crypt string
/// (bcrypt), or for the salted digests Auth0's `custom_password_hash` JSON as it was imported.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    /// How it was made.
    pub algorithm: PasswordAlgorithm,
    /// The hash with its parameters and salt.
    pub encoded: String,
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash({}, [redacted])", self.algorithm.as_str())
    }
}

/// Hashes and checks passwords off the async threads, with bounded concurrency (a login storm
/// must not exhaust memory or starve the token endpoint). The server implements it on a
/// blocking pool.
pub trait Passwords: Send + Sync {
    /// An argon2id hash of `password`; `None` if it cannot be hashed.
    fn hash(
        &self,
        password: String,
    ) -> impl std::future::Future<Output = Option<PasswordHash>> + Send;

    /// Whether `password` matches `hash`. With no hash (no such user, or no password), spends
    /// the same time on a decoy hash and answers false, so the answer's timing does not tell
    /// whether the user exists.
    fn check(
        &self,
        hash: Option<PasswordHash>,
        password: String,
    ) -> impl std::future::Future<Output = bool> + Send;
}

/// A password could not be hashed (it is longer than argon2 accepts).
#[derive(Debug, thiserror::Error)]
#[error("the password cannot be hashed: {0}")]
pub struct HashError(String);

/// OWASP's argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Result<Argon2<'static>, HashError> {
    let params =
        argon2::Params::new(19 * 1024, 2, 1, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

impl PasswordHash {
    /// Hashes `password` with argon2id and a 16-byte random salt. This takes tens of
    /// milliseconds of CPU on purpose: call it on a blocking thread.
    pub fn argon2id(password: &str, rng: &dyn Rng) -> Result<Self, HashError> {
        let mut salt = Zeroizing::new([0u8; 16]);
        rng.fill(salt.as_mut());
        let phc = argon2()?
            .hash_password_with_salt(password.as_bytes(), salt.as_ref())
            .map_err(|e| HashError(e.to_string()))?;
        Ok(PasswordHash {
            algorithm: PasswordAlgorithm::Argon2,
            encoded: phc.to_string(),
        })
    }

    /// Whether `password` matches. Imported hashes are checked too (bcrypt, PBKDF2, Auth0's
    /// salted SHA-1/SHA-256/SHA-512/MD5); HMAC and scrypt imports, and any hash that cannot be
    /// read, answer `None`: the caller fails closed.
    pub fn verify(&self, password: &str) -> Option<bool> {
        use crate::imported_hash;
        match self.algorithm {
            PasswordAlgorithm::Argon2 => {
                let hasher = argon2().ok()?;
                Some(
                    hasher
                        .verify_password(password.as_bytes(), self.encoded.as_str())
                        .is_ok(),
                )
            }
            PasswordAlgorithm::Bcrypt => imported_hash::bcrypt(&self.encoded, password),
            PasswordAlgorithm::Pbkdf2 => imported_hash::pbkdf2(&self.encoded, password),
            PasswordAlgorithm::Sha1
            | PasswordAlgorithm::Sha256
            | PasswordAlgorithm::Sha512
            | PasswordAlgorithm::Md5 => {
                imported_hash::salted_digest(self.algorithm, &self.encoded, password)
            }
            PasswordAlgorithm::Hmac | PasswordAlgorithm::Scrypt => None,
        }
    }

    /// Whether a successful login should replace this hash with a fresh argon2id one: every
    /// imported algorithm, and argon2 hashes made with other parameters than Sigil's.
    pub fn needs_rehash(&self) -> bool {
        self.algorithm != PasswordAlgorithm::Argon2
            || !self.encoded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;

    #[test]
    fn argon2id_hashes_verify_and_carry_owasp_parameters() {
        let hash = PasswordHash::argon2id("correct horse", &SystemRng).unwrap();
        assert!(
            hash.encoded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.encoded
        );
        assert_eq!(hash.verify("correct horse"), Some(true));
        assert_eq!(hash.verify("correct horsf"), Some(false));
        assert!(!format!("{hash:?}").contains("argon2id$"));
        assert_eq!(
            PasswordAlgorithm::parse("bcrypt"),
            Some(PasswordAlgorithm::Bcrypt)
        );
        assert_eq!(PasswordAlgorithm::parse("rot13"), None);
    }
}
