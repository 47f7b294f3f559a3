//! The recovery code, as Auth0's: one code of 24 upper-case letters and digits (about 124 bits
//! from the OS's randomness), shown once when the first factor is enrolled and replaced by a
//! new one each time it is used. It is stored as its SHA-256 digest: the code has far too many
//! bits to guess, so no slow hash is needed, and the digest is compared in constant time.

use zeroize::Zeroizing;

use crate::Rng;
use crate::secret::SecretDigest;

/// Characters in a recovery code.
pub const LENGTH: usize = 24;

/// A new recovery code, to show once.
pub fn generate(rng: &dyn Rng) -> Zeroizing<String> {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut code = Zeroizing::new(String::with_capacity(LENGTH));
    let mut buf = Zeroizing::new([0u8; 64]);
    while code.len() < LENGTH {
        rng.fill(buf.as_mut());
        // Rejection sampling: 252 = 7 × 36, so every accepted byte is uniform over the alphabet.
        for &b in buf.iter().filter(|&&b| b < 252) {
            if code.len() == LENGTH {
                break;
            }
            code.push(char::from(ALPHABET[usize::from(b % 36)]));
        }
    }
    code
}

/// `typed` as a recovery code: spaces and dashes dropped, letters upper-cased; `None` unless
/// 24 letters and digits are left.
pub fn normalise(typed: &str) -> Option<Zeroizing<String>> {
    let code: Zeroizing<String> = Zeroizing::new(
        typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    (code.len() == LENGTH && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(code)
}

/// What is stored of `code` (normalised).
pub fn digest(code: &str) -> SecretDigest {
    SecretDigest::of(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;

    #[test]
    fn a_code_is_24_upper_case_letters_and_digits_and_each_is_new() {
        let a = generate(&SystemRng);
        let b = generate(&SystemRng);
        assert_eq!(a.len(), LENGTH);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_ne!(a, b);
        assert!(digest(&a).matches(&a));
    }

    #[test]
    fn what_a_user_types_is_read_as_the_code_it_means_or_refused() {
        let cases = [
            ("N3BGPZZWJ85JLCNPZBDW6QXC", Some("N3BGPZZWJ85JLCNPZBDW6QXC")),
            (
                "n3bg pzzw j85j-lcnp zbdw 6qxc",
                Some("N3BGPZZWJ85JLCNPZBDW6QXC"),
            ),
            (
                " N3BGPZZWJ85JLCNPZBDW6QXC\n",
                Some("N3BGPZZWJ85JLCNPZBDW6QXC"),
            ),
            ("N3BGPZZWJ85JLCNPZBDW6QX", None),
            ("N3BGPZZWJ85JLCNPZBDW6QXCC", None),
            ("N3BGPZZWJ85JLCNPZBDW6QX!", None),
            ("N3BGPZZWJ85JLCNPZBDW6QXÉ", None),
            ("", None),
        ];
        for (typed, want) in cases {
            assert_eq!(
                normalise(typed).as_deref().map(String::as_str),
                want,
                "{typed}"
            );
        }
    }
}
