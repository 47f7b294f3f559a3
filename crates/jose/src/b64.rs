//! Strict base64url without padding (RFC 7515 §2, Appendix C).
//!
//! Decoding refuses padding, characters outside the URL-safe alphabet, whitespace and
//! non-canonical trailing bits, so every byte string has exactly one accepted encoding.
//!
//! base64-simd rather than the `base64` crate: decoding the three segments of every token is a
//! measurable share of verification, and its vectorized decoder takes less than half the time
//! (see `benches/jws.rs`). The tests encode with the `base64` crate, an independent oracle.

use base64_simd::URL_SAFE_NO_PAD;

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_append(bytes, out);
}

/// Decodes canonical unpadded base64url into a buffer of `N` bytes on the stack (a heap buffer
/// when the result is larger) and hands the bytes to `f`. Tokens are small: this saves an
/// allocation per segment on the verification path.
pub(crate) fn with_decoded<const N: usize, R>(
    text: &str,
    f: impl FnOnce(&[u8]) -> R,
) -> Result<R, base64_simd::Error> {
    let len = URL_SAFE_NO_PAD.decoded_length(text.as_bytes())?;
    if len > N {
        return decode(text).map(|bytes| f(&bytes));
    }
    let mut buffer = [0u8; N];
    let bytes = URL_SAFE_NO_PAD.decode(
        text.as_bytes(),
        base64_simd::Out::from_slice(&mut buffer[..len]),
    )?;
    Ok(f(bytes))
}

/// Decodes canonical unpadded base64url; anything else is an error.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, base64_simd::Error> {
    URL_SAFE_NO_PAD.decode_to_vec(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_everything_but_canonical_unpadded_base64url() {
        assert_eq!(decode("Zm9v").unwrap(), b"foo");
        assert_eq!(decode("Zm8").unwrap(), b"fo");
        assert!(decode("").unwrap().is_empty());
        for bad in [
            "Zm9=",
            "Zg==",
            "Zm9v ",
            " Zm9v",
            "Zm+v",
            "Zm/v",
            "Zm9v\n",
            "Zh",
            "Zm9",
            "A",
            "Zm\u{e9}v",
        ] {
            assert!(decode(bad).is_err(), "{bad:?} accepted");
            assert!(
                with_decoded::<64, _>(bad, |_| ()).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn round_trips_every_length() {
        for len in 0..100u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let mut text = String::from("x.");
            encode_into(&bytes, &mut text);
            assert_eq!(text[2..], encode(&bytes));
            assert_eq!(decode(&text[2..]).unwrap(), bytes);
            assert_eq!(
                with_decoded::<16, _>(&text[2..], <[u8]>::to_vec).unwrap(),
                bytes
            );
        }
    }
}
