//! Secrets as types: client secrets and opaque tokens (authorization codes, refresh tokens,
//! session cookies, tickets). `Debug` never shows them; stores keep only their SHA-256 digest,
//! compared in constant time.

use std::fmt;

use aws_lc_rs::digest;
use zeroize::Zeroizing;

use crate::Rng;

/// The SHA-256 digest of a secret: what the store keeps instead of the secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretDigest(pub [u8; 32]);

impl SecretDigest {
    /// The digest of `secret`.
    pub fn of(secret: &str) -> Self {
        let d = digest::digest(&digest::SHA256, secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        SecretDigest(out)
    }

    /// A digest read back from storage; `None` unless it is 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(SecretDigest(bytes.try_into().ok()?))
    }

    /// Whether `presented` is the secret this is the digest of, in time independent of where
    /// the two differ.
    pub fn matches(&self, presented: &str) -> bool {
        let candidate = SecretDigest::of(presented);
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &candidate.0).is_ok()
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest([redacted])")
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident, $bytes:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// A new random value.
            pub fn generate(rng: &dyn Rng) -> Self {
                let mut raw = Zeroizing::new([0u8; $bytes]);
                rng.fill(raw.as_mut());
                $name(Zeroizing::new(base64_simd::URL_SAFE_NO_PAD.encode_to_string(raw.as_ref())))
            }

            /// Wraps a value received from a caller or read from storage.
            pub fn new(value: String) -> Self {
                $name(Zeroizing::new(value))
            }

            /// The value itself, for the one place that must send or compare it.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Its SHA-256 digest, which is what gets stored.
            pub fn digest(&self) -> SecretDigest {
                SecretDigest::of(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_type!(
    /// A client secret: 48 random bytes, 64 base64url characters (the length Auth0's have).
    ClientSecret,
    48
);
secret_type!(
    /// An opaque bearer value (authorization code, refresh token, session cookie, ticket,
    /// device code): 32 random bytes, 43 base64url characters.
    Token,
    32
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;

    #[test]
    fn digests_match_only_their_secret_and_nothing_leaks_in_debug() {
        let secret = ClientSecret::generate(&SystemRng);
        assert_eq!(secret.expose().len(), 64);
        let digest = secret.digest();
        assert!(digest.matches(secret.expose()));
        assert!(!digest.matches(&secret.expose()[1..]));
        assert!(!digest.matches(""));
        assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
        assert_eq!(format!("{digest:?}"), "SecretDigest([redacted])");
        assert_eq!(Token::generate(&SystemRng).expose().len(), 43);
    }
}
