//! Strict base64url without padding (RFC 7515 §2, Appendix C).
//!
//! Decoding refuses padding, characters outside the URL-safe alphabet, whitespace and
//! non-canonical trailing bits, so every byte string has exactly one accepted encoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Decodes canonical unpadded base64url; anything else is an error.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_everything_but_canonical_unpadded_base64url() {
        assert_eq!(decode("Zm9v").as_deref(), Ok(&b"foo"[..]));
        assert_eq!(decode("").as_deref(), Ok(&b""[..]));
        for bad in ["Zm9=", "Zg==", "Zm9v ", "Zm+v", "Zm/v", "Zm9v\n", "Zh", "A"] {
            assert!(decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
