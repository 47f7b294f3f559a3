//! The one JWE shape Sigil makes and accepts: compact serialization (RFC 7516 §7.1) with
//! `alg: dir` and `enc: A256GCM` (RFC 7518 §4.5, §5.3) under a key derived from the master key
//! for one purpose, so any node can open any other node's without a database lookup, and nobody
//! else can read or forge one. Its users: the opaque access tokens (`userinfo_token`) and the
//! `mfa_token` (`mfa_token`), each with its own key and header, so one is never taken for the
//! other.
//!
//! Written here rather than taken from a JOSE crate: only this one fixed shape is ever made or
//! accepted (no algorithm negotiation, no key management modes), which is a few lines on
//! aws-lc-rs's AES-GCM, while the JWE crates bring other crypto libraries and every mode.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::Rng;

const B64: base64_simd::Base64 = base64_simd::URL_SAFE_NO_PAD;

/// A key that seals JSON payloads as compact JWEs with one fixed protected header.
pub(crate) struct Jwe {
    key: LessSafeKey,
    /// The protected header, base64url, which is also the AEAD's additional data.
    header: String,
}

impl Jwe {
    /// The key from 32 secret bytes, writing `alg`, `enc` and then `extra`'s members in its
    /// header.
    pub(crate) fn new(bytes: &Zeroizing<[u8; 32]>, extra: &[(&str, &str)]) -> Self {
        let mut header = serde_json::Map::new();
        header.insert("alg".into(), "dir".into());
        header.insert("enc".into(), "A256GCM".into());
        for (name, value) in extra {
            header.insert((*name).into(), (*value).into());
        }
        let header = serde_json::Value::Object(header);
        // An AES-256 key is any 32 bytes; `new` fails only for a wrong length.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, bytes.as_ref()).expect("32-byte AES key");
        Jwe {
            key: LessSafeKey::new(unbound),
            header: B64.encode_to_string(header.to_string()),
        }
    }

    /// The compact JWE carrying `payload`.
    pub(crate) fn seal(&self, rng: &dyn Rng, payload: &impl Serialize) -> Result<String, String> {
        let mut iv = [0u8; NONCE_LEN];
        rng.fill(&mut iv);
        let mut data = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(self.header.as_bytes()),
                &mut data,
            )
            .map_err(|_| "AES-GCM sealing failed".to_owned())?;
        Ok(format!(
            "{}..{}.{}.{}",
            self.header,
            B64.encode_to_string(iv),
            B64.encode_to_string(&data),
            B64.encode_to_string(tag.as_ref())
        ))
    }

    /// The payload of `token`, if this key sealed it (with this header, byte for byte) and it
    /// is untouched; `None` otherwise.
    pub(crate) fn open<T: DeserializeOwned>(&self, token: &str) -> Option<T> {
        let mut parts = token.split('.');
        let (Some(header), Some(""), Some(iv), Some(data), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if header != self.header {
            return None;
        }
        let iv: [u8; NONCE_LEN] = B64.decode_to_vec(iv).ok()?.try_into().ok()?;
        let mut sealed = B64.decode_to_vec(data).ok()?;
        sealed.extend(B64.decode_to_vec(tag).ok()?);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(iv),
                Aad::from(self.header.as_bytes()),
                &mut sealed,
            )
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}
