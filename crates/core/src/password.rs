//! User password hashes: argon2id for every password Sigil sets, and imported hashes kept as
//! they came (bcrypt, PBKDF2, salted SHA-*, …) with their algorithm, until the user's next
//! successful login re-hashes them.
//!
//! argon2 works in a large block of memory (19 MiB for Sigil's own hashes). [`Argon2Memory`] is
//! that block, owned by whoever hashes (each of the server's password workers keeps one) and
//! reused from one hash to the next, so a login storm does not allocate and free 19 MiB per
//! check. A stored argon2 hash names its own cost: one asking for more than
//! [`MAX_ARGON2_MEMORY_KIB`] of memory or [`MAX_ARGON2_WORK_KIB`] of work (memory × passes) is
//! refused before anything is allocated, so an imported hash cannot make a worker allocate
//! gigabytes or spin for minutes.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::phc;
use zeroize::Zeroizing;

use crate::Rng;

/// The longest password Sigil takes, in bytes of UTF-8: a signup, reset or Management API
/// password over it is refused by name, and one at a login is refused before any hashing, so
/// a 60 KB "password" costs nothing. Far above what people or password managers use (NIST
/// SP 800-63B asks for at least 64 characters).
pub const MAX_PASSWORD_BYTES: usize = 1024;

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
/// Hashes and checks passwords off the async threads, with bounded concurrency and a bounded
/// wait (a login storm must not exhaust memory, starve the token endpoint, or queue requests
/// for ever). The server implements it on a fixed pool of workers.
pub trait Passwords: Send + Sync {
    /// An argon2id hash of `password`; `Ok(None)` if it cannot be hashed, [`Busy`] if the wait
    /// for a worker would be too long.
    fn hash(
        &self,
        password: String,
    ) -> impl std::future::Future<Output = Result<Option<PasswordHash>, Busy>> + Send;

    /// Whether `password` matches `hash`. With no hash (no such user, or no password), spends
    /// the same time on a decoy hash and answers false, so the answer's timing does not tell
    /// whether the user exists. [`Busy`] (the wait for a worker would be too long) comes alike
    /// with or without a hash, before any hashing.
    fn check(
        &self,
        hash: Option<PasswordHash>,
        password: String,
    ) -> impl std::future::Future<Output = Result<bool, Busy>> + Send;

    /// Where `password` was seen in a breach
    /// ([`attack_protection::breached`](crate::attack_protection::breached)): the lists the
    /// server holds, then the operator's range API if one is set (failing open). `None`: on no
    /// list.
    fn breached(
        &self,
        password: &str,
    ) -> impl std::future::Future<Output = Option<crate::attack_protection::breached::BreachSource>> + Send;
}

/// Every password worker is taken and the wait for one would be longer than the server allows:
/// the request is refused (503 `temporarily_unavailable`, RFC 6749 §4.1.2.1) rather than
/// queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy checking passwords; try again in {retry_after_secs} s")]
pub struct Busy {
    /// When to try again, in seconds (the answer's `Retry-After`).
    pub retry_after_secs: u64,
}

/// A password could not be hashed (it is longer than argon2 accepts).
#[derive(Debug, thiserror::Error)]
#[error("the password cannot be hashed: {0}")]
pub struct HashError(String);

/// Sigil's argon2id cost, OWASP's recommendation: 19 MiB of memory, 2 passes, 1 lane.
const SIGIL_M_KIB: u32 = 19 * 1024;
const SIGIL_T: u32 = 2;
const SIGIL_P: u32 = 1;
/// The length of Sigil's argon2id outputs, and of its salts.
const OUTPUT_LEN: usize = 32;
const SALT_LEN: usize = 16;

/// The most memory a stored argon2 hash may ask for, in KiB: 64 MiB, RFC 9106 §4's second
/// recommended setting. A hash asking for more is not checked (the login fails closed).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// The most work a stored argon2 hash may ask for, memory (KiB) × passes: 64 MiB × 4 passes,
/// about 7 times the work of Sigil's own hashes. A hash asking for more is not checked.
pub const MAX_ARGON2_WORK_KIB: u64 = 4 * MAX_ARGON2_MEMORY_KIB as u64;

fn sigil_argon2() -> Result<Argon2<'static>, HashError> {
    let params = argon2::Params::new(SIGIL_M_KIB, SIGIL_T, SIGIL_P, Some(OUTPUT_LEN))
        .map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// The memory argon2 works in, kept between hashes by its owner (it is lent mutably to one
/// computation at a time). It grows when a hash needs more than it holds, never beyond
/// [`MAX_ARGON2_MEMORY_KIB`], and never shrinks.
#[derive(Default)]
pub struct Argon2Memory {
    blocks: Vec<argon2::Block>,
}

impl fmt::Debug for Argon2Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Argon2Memory({} KiB)", self.kib())
    }
}

impl Argon2Memory {
    /// No memory yet: the first hash allocates what it needs.
    pub fn new() -> Self {
        Argon2Memory::default()
    }

    /// How much memory is held, in KiB (argon2's blocks are 1 KiB each).
    pub fn kib(&self) -> usize {
        self.blocks.len()
    }

    /// The first `count` blocks, allocating more only when fewer are held.
    fn blocks(&mut self, count: usize) -> &mut [argon2::Block] {
        if self.blocks.len() < count {
            self.blocks.resize(count, argon2::Block::new());
        }
        &mut self.blocks[..count]
    }
}

impl PasswordHash {
    /// Hashes `password` with argon2id and a 16-byte random salt, in fresh memory. This takes
    /// tens of milliseconds of CPU and 19 MiB on purpose: call it on a blocking thread. A
    /// server hashing many passwords uses [`PasswordHash::argon2id_in`] with memory it keeps.
    pub fn argon2id(password: &str, rng: &dyn Rng) -> Result<Self, HashError> {
        PasswordHash::argon2id_in(password, rng, &mut Argon2Memory::new())
    }

    /// As [`PasswordHash::argon2id`], working in `memory` (grown to 19 MiB if it is smaller).
    pub fn argon2id_in(
        password: &str,
        rng: &dyn Rng,
        memory: &mut Argon2Memory,
    ) -> Result<Self, HashError> {
        let failed = |e: &dyn fmt::Display| HashError(e.to_string());
        let argon2 = sigil_argon2()?;
        let mut salt = [0u8; SALT_LEN];
        rng.fill(&mut salt);
        let mut output = Zeroizing::new([0u8; OUTPUT_LEN]);
        let blocks = memory.blocks(argon2.params().block_count());
        argon2
            .hash_password_into_with_memory(password.as_bytes(), &salt, output.as_mut(), blocks)
            .map_err(|e| failed(&e))?;
        // The PHC string argon2's own `hash_password_with_salt` writes: `$argon2id$v=19$m=…`.
        let encoded = phc::PasswordHash {
            algorithm: argon2::Algorithm::Argon2id.ident(),
            version: Some(argon2::Version::V0x13.into()),
            params: phc::ParamsString::try_from(argon2.params()).map_err(|e| failed(&e))?,
            salt: Some(phc::Salt::new(&salt).map_err(|e| failed(&e))?),
            hash: Some(phc::Output::new(output.as_ref()).map_err(|e| failed(&e))?),
        };
        Ok(PasswordHash {
            algorithm: PasswordAlgorithm::Argon2,
            encoded: encoded.to_string(),
        })
    }

    /// Whether this hash should be replaced at the next successful login: anything but
    /// argon2id with Sigil's parameters (imported hashes, older or weaker argon2 settings).
    pub fn needs_rehash(&self) -> bool {
        let current = format!("$argon2id$v=19$m={SIGIL_M_KIB},t={SIGIL_T},p={SIGIL_P}$");
        !(self.algorithm == PasswordAlgorithm::Argon2 && self.encoded.starts_with(&current))
    }

    /// Whether `password` matches, checked in fresh memory; see [`PasswordHash::verify_in`].
    pub fn verify(&self, password: &str) -> Option<bool> {
        self.verify_in(password, &mut Argon2Memory::new())
    }

    /// Whether `password` matches: argon2 (argon2id, argon2i, argon2d) with the parameters the
    /// hash names, computed in `memory`; and the imported algorithms (see `imported_hash`).
    /// `None` when the hash cannot be checked (scrypt, malformed, or argon2 asking for more
    /// than [`MAX_ARGON2_MEMORY_KIB`] or [`MAX_ARGON2_WORK_KIB`], refused before any memory is
    /// allocated); callers fail closed.
    pub fn verify_in(&self, password: &str, memory: &mut Argon2Memory) -> Option<bool> {
        match self.algorithm {
            PasswordAlgorithm::Argon2 => verify_argon2(&self.encoded, password, memory),
            other => crate::imported_hash::verify(other, &self.encoded, password),
        }
    }
}

/// Checks `password` against the argon2 PHC string `encoded` in `memory`, as argon2's own
/// `PasswordVerifier` does (the hash's algorithm, version, parameters and salt; the outputs
/// compared in constant time), but within Sigil's cost bounds and in memory kept for reuse.
fn verify_argon2(encoded: &str, password: &str, memory: &mut Argon2Memory) -> Option<bool> {
    let parsed = phc::PasswordHash::new(encoded).ok()?;
    let algorithm = argon2::Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = match parsed.version {
        Some(v) => argon2::Version::try_from(v).ok()?,
        None => argon2::Version::default(),
    };
    let (salt, expected) = (parsed.salt.as_ref()?, parsed.hash.as_ref()?);
    // The parameters, with the stored output's length.
    let params = argon2::Params::try_from(&parsed).ok()?;
    if !affordable(&params) {
        return None;
    }
    let argon2 = Argon2::new(algorithm, version, params);
    let mut output = Zeroizing::new(vec![0u8; expected.len()]);
    let blocks = memory.blocks(argon2.params().block_count());
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut output, blocks)
        .ok()?;
    Some(aws_lc_rs::constant_time::verify_slices_are_equal(&output, expected.as_bytes()).is_ok())
}

/// Whether argon2 `params` stay within [`MAX_ARGON2_MEMORY_KIB`] and [`MAX_ARGON2_WORK_KIB`].
fn affordable(params: &argon2::Params) -> bool {
    params.m_cost() <= MAX_ARGON2_MEMORY_KIB
        && u64::from(params.m_cost()) * u64::from(params.t_cost()) <= MAX_ARGON2_WORK_KIB
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
        assert!(!hash.needs_rehash());
        assert_eq!(hash.verify("correct horse"), Some(true));
        assert_eq!(hash.verify("correct horsf"), Some(false));
        assert!(!format!("{hash:?}").contains("argon2id$"));
        assert_eq!(
            PasswordAlgorithm::parse("bcrypt"),
            Some(PasswordAlgorithm::Bcrypt)
        );
        assert_eq!(PasswordAlgorithm::parse("rot13"), None);
    }

    /// Fills every "random" byte with one value, so that two hashers get the same salt.
    struct Fixed(u8);

    impl Rng for Fixed {
        fn fill(&self, bytes: &mut [u8]) {
            bytes.fill(self.0);
        }
    }

    #[test]
    fn hashing_in_kept_memory_writes_what_argon2_itself_writes() {
        use argon2::PasswordHasher as _;
        let mut memory = Argon2Memory::new();
        let ours = PasswordHash::argon2id_in("correct horse", &Fixed(7), &mut memory).unwrap();
        let theirs = sigil_argon2()
            .unwrap()
            .hash_password_with_salt(b"correct horse", &[7u8; SALT_LEN])
            .unwrap()
            .to_string();
        assert_eq!(ours.encoded, theirs);
        assert_eq!(memory.kib(), 19 * 1024);
        // The same memory serves the next hash and checks without growing.
        let again = PasswordHash::argon2id_in("battery staple", &SystemRng, &mut memory).unwrap();
        assert_eq!(again.verify_in("battery staple", &mut memory), Some(true));
        assert_eq!(ours.verify_in("battery staple", &mut memory), Some(false));
        assert_eq!(ours.verify_in("correct horse", &mut memory), Some(true));
        assert_eq!(memory.kib(), 19 * 1024);
    }

    /// An argon2 PHC string as another system would make it, with its own parameters.
    fn foreign(algorithm: argon2::Algorithm, m: u32, t: u32, p: u32, password: &str) -> String {
        use argon2::PasswordHasher as _;
        let params = argon2::Params::new(m, t, p, None).unwrap();
        Argon2::new(algorithm, argon2::Version::V0x13, params)
            .hash_password_with_salt(password.as_bytes(), b"somesaltsomesalt")
            .unwrap()
            .to_string()
    }

    #[test]
    fn argon2_hashes_with_other_parameters_verify_and_the_memory_grows_to_the_largest() {
        let mut memory = Argon2Memory::new();
        for (algorithm, m, t, p) in [
            (argon2::Algorithm::Argon2id, 4096, 3, 1),
            (argon2::Algorithm::Argon2i, 8192, 1, 2),
            (argon2::Algorithm::Argon2d, 1024, 2, 4),
            (argon2::Algorithm::Argon2id, MAX_ARGON2_MEMORY_KIB, 1, 1),
            (argon2::Algorithm::Argon2id, 2048, 4, 1),
        ] {
            let hash = PasswordHash {
                algorithm: PasswordAlgorithm::Argon2,
                encoded: foreign(algorithm, m, t, p, "pw"),
            };
            assert!(hash.needs_rehash(), "{}", hash.encoded);
            assert_eq!(
                hash.verify_in("pw", &mut memory),
                Some(true),
                "{}",
                hash.encoded
            );
            assert_eq!(
                hash.verify_in("pW", &mut memory),
                Some(false),
                "{}",
                hash.encoded
            );
        }
        assert_eq!(memory.kib(), MAX_ARGON2_MEMORY_KIB as usize);
    }

    #[test]
    fn costlier_argon2_hashes_are_refused_before_any_memory_is_allocated() {
        // The cost is checked before hashing, so a refused hash needs no real output: any
        // well-formed PHC string naming the cost will do.
        let phc = |m: u32, t: u32| {
            format!(
                "$argon2id$v=19$m={m},t={t},p=1$c29tZXNhbHRzb21lc2FsdA\
                 $ZXhwZWN0ZWRleHBlY3RlZGV4cGVjdGVkZXhwZWN0ZWQ"
            )
        };
        for (m, t) in [
            (MAX_ARGON2_MEMORY_KIB + 1, 1),
            (4 * 1024 * 1024, 1),
            (u32::MAX, 1),
            (MAX_ARGON2_MEMORY_KIB, 5),
            (19 * 1024, 100),
            (8, u32::MAX),
        ] {
            let hash = PasswordHash {
                algorithm: PasswordAlgorithm::Argon2,
                encoded: phc(m, t),
            };
            let mut memory = Argon2Memory::new();
            assert_eq!(hash.verify_in("pw", &mut memory), None, "m={m} t={t}");
            assert_eq!(memory.kib(), 0, "m={m} t={t}");
        }
        // Malformed strings fail closed too.
        for encoded in [
            "",
            "$argon2id$",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
            "$argon2id$v=20$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$ZXhwZWN0ZWQ",
            "$scrypt$ln=1,r=8,p=1$c29tZXNhbHQ$ZXhwZWN0ZWQ",
        ] {
            let hash = PasswordHash {
                algorithm: PasswordAlgorithm::Argon2,
                encoded: encoded.to_owned(),
            };
            assert_eq!(hash.verify("pw"), None, "{encoded:?}");
        }
    }
}
