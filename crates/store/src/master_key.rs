//! The master key: 256 bits that encrypt what the database must not hold in the clear (signing
//! keys, later connection secrets), with AES-256-GCM from aws-lc-rs.
//!
//! It comes from `SIGIL_MASTER_KEY` or from `<data-dir>/master.key` (created with mode 0600 by
//! `sigil init`). The database keeps a value sealed under it (see
//! [`crate::Database::check_master_key`]), so a wrong key is an error at start-up, not garbage
//! later.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64_simd::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::DatabaseError;

/// Bytes of key material.
const KEY_LEN: usize = 32;

/// The key file's name inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Where the master key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// The `SIGIL_MASTER_KEY` environment variable.
    Environment,
    /// An existing key file.
    File(PathBuf),
    /// A key file created just now.
    Created(PathBuf),
}

/// The master key. `Debug` never shows it; it is wiped on drop.
pub struct MasterKey {
    key: LessSafeKey,
    /// HMAC-SHA256 keyed with the master key, used as a PRF for [`MasterKey::derive`].
    prf: hmac::Key,
    rng: SystemRandom,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

fn key_error(message: impl Into<String>) -> DatabaseError {
    DatabaseError::MasterKey(message.into())
}

impl MasterKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DatabaseError> {
        if bytes.len() != KEY_LEN {
            return Err(key_error(format!(
                "a master key is {KEY_LEN} bytes, this one is {}",
                bytes.len()
            )));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| key_error("the master key was refused by AES-256-GCM"))?;
        Ok(MasterKey {
            key: LessSafeKey::new(unbound),
            prf: hmac::Key::new(hmac::HMAC_SHA256, bytes),
            rng: SystemRandom::new(),
        })
    }

    /// A fresh random key and its text form (unpadded base64url, as in `master.key`).
    pub fn generate() -> Result<(Self, Zeroizing<String>), DatabaseError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| key_error("the system random generator failed"))?;
        let text = Zeroizing::new(URL_SAFE_NO_PAD.encode_to_string(bytes.as_ref()));
        Ok((Self::from_bytes(bytes.as_ref())?, text))
    }

    /// Parses the text form: 32 bytes as unpadded base64url (43 characters), surrounding
    /// whitespace ignored.
    pub fn from_text(text: &str) -> Result<Self, DatabaseError> {
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode_to_vec(text.trim()).map_err(|_| {
            key_error("the master key must be 32 bytes as unpadded base64url (43 characters)")
        })?);
        Self::from_bytes(&bytes)
    }

    /// The key from `SIGIL_MASTER_KEY` (passed in as `env`) or `<data_dir>/master.key`. When
    /// neither exists and `create` is true, a new key file is written with mode 0600.
    pub fn load(
        env: Option<&str>,
        data_dir: &Path,
        create: bool,
    ) -> Result<(Self, MasterKeySource), DatabaseError> {
        if let Some(text) = env {
            let key =
                Self::from_text(text).map_err(|e| key_error(format!("SIGIL_MASTER_KEY: {e}")))?;
            return Ok((key, MasterKeySource::Environment));
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        match read_key_file(&path) {
            Ok(text) => Ok((
                Self::from_text(&text)
                    .map_err(|e| key_error(format!("{}: {e}", path.display())))?,
                MasterKeySource::File(path),
            )),
            Err(e) if e.kind() == ErrorKind::NotFound && create => {
                let (key, text) = Self::generate()?;
                if write_key_file(&path, &text)? {
                    return Ok((key, MasterKeySource::Created(path)));
                }
                // Another process created the file first: its key is the one.
                Self::load(None, data_dir, false)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Err(key_error(format!(
                "no master key: set SIGIL_MASTER_KEY or create {} with `sigil init`",
                path.display()
            ))),
            Err(e) => Err(key_error(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// A 256-bit key for `purpose`, derived from the master key (HMAC-SHA256 as a PRF over a
    /// labelled purpose): every node with the same master key derives the same key, and keys
    /// for different purposes are independent.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let tag = hmac::sign(
            &self.prf,
            format!("sigil derived key v1:{purpose}").as_bytes(),
        );
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Encrypts `plaintext`; `purpose` is bound to the result as associated data, so a value
    /// sealed for one use cannot be opened as another. Output: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, DatabaseError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| key_error("the system random generator failed"))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
        sealed.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut body,
            )
            .map_err(|_| key_error("encryption failed"))?;
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    /// Decrypts what [`MasterKey::seal`] produced for the same `purpose`. Any change to the
    /// bytes, the purpose or the key is [`DatabaseError::WrongMasterKey`].
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, DatabaseError> {
        let (nonce, body) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or(DatabaseError::WrongMasterKey)?;
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| DatabaseError::WrongMasterKey)?;
        let mut body = Zeroizing::new(body.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut body)
            .map_err(|_| DatabaseError::WrongMasterKey)?
            .len();
        body.truncate(len);
        Ok(body)
    }
}

/// Reads the key file, refusing one that other users can read.
fn read_key_file(path: &Path) -> std::io::Result<Zeroizing<String>> {
    let mut file = std::fs::File::open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(std::io::Error::other(format!(
                "it is readable by other users (mode {mode:o}); run `chmod 600 {}`",
                path.display()
            )));
        }
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// Creates the key file with mode 0600, complete or not at all, and never overwrites one: the
/// key is written and synced to a private temporary file, which is then hard-linked into place
/// (linking fails if the name exists, so of two racing creators exactly one wins and nobody
/// ever reads a half-written key). Returns false when another process's file was there first.
fn write_key_file(path: &Path, text: &str) -> Result<bool, DatabaseError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| key_error(format!("cannot create {}: {e}", dir.display())))?;
    let mut nonce = [0u8; 8];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| key_error("the system random generator failed"))?;
    let temp = dir.join(format!(
        ".{MASTER_KEY_FILE}.{}.{}",
        std::process::id(),
        u64::from_le_bytes(nonce)
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temp)
        .and_then(|mut file| {
            writeln!(file, "{text}")?;
            file.sync_all()
        })
        .map_err(|e| key_error(format!("cannot write {}: {e}", temp.display())));
    let linked = written.and_then(|()| match std::fs::hard_link(&temp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(key_error(format!("cannot create {}: {e}", path.display()))),
    });
    let _ = std::fs::remove_file(&temp);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_purpose() {
        let (key, _) = MasterKey::generate().unwrap();
        let (other, _) = MasterKey::generate().unwrap();
        let sealed = key.seal("signing-key", b"secret").unwrap();
        assert_eq!(
            key.open("signing-key", &sealed).unwrap().as_slice(),
            b"secret"
        );
        assert!(matches!(
            other.open("signing-key", &sealed),
            Err(DatabaseError::WrongMasterKey)
        ));
        assert!(matches!(
            key.open("check", &sealed),
            Err(DatabaseError::WrongMasterKey)
        ));
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            assert!(key.open("signing-key", &tampered).is_err(), "byte {i}");
        }
        assert!(key.open("signing-key", &sealed[..10]).is_err());
        assert_ne!(
            key.seal("signing-key", b"secret").unwrap(),
            sealed,
            "nonces repeat"
        );
    }

    #[test]
    fn text_form_is_strict() {
        let (_, text) = MasterKey::generate().unwrap();
        assert_eq!(text.len(), 43);
        assert!(MasterKey::from_text(&format!(" {}\n", text.as_str())).is_ok());
        for bad in ["", "short", &format!("{}=", text.as_str()), &text[..42]] {
            assert!(MasterKey::from_text(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            format!("{:?}", MasterKey::from_text(&text).unwrap()),
            "MasterKey([redacted])"
        );
    }

    #[test]
    fn key_file_is_created_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("sigil-mk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(MasterKey::load(None, &dir, false).is_err());
        let (key, source) = MasterKey::load(None, &dir, true).unwrap();
        let path = dir.join(MASTER_KEY_FILE);
        assert_eq!(source, MasterKeySource::Created(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let (again, source) = MasterKey::load(None, &dir, true).unwrap();
        assert_eq!(source, MasterKeySource::File(path.clone()));
        let sealed = key.seal("p", b"x").unwrap();
        assert_eq!(again.open("p", &sealed).unwrap().as_slice(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = MasterKey::load(None, &dir, true).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
        }
        let (_, source) = MasterKey::load(Some(&again_text(&dir)), &dir, false).unwrap();
        assert_eq!(source, MasterKeySource::Environment);
        assert!(
            MasterKey::load(Some("nope"), &dir, false)
                .unwrap_err()
                .to_string()
                .contains("SIGIL_MASTER_KEY")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn again_text(dir: &Path) -> String {
        std::fs::read_to_string(dir.join(MASTER_KEY_FILE)).unwrap()
    }
}
