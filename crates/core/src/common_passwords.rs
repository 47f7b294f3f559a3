//! The bundled list of the 10,000 most common passwords (`data/common-passwords.txt`, whose
//! header says where it comes from and under which licence), refused by connections that turn
//! Auth0's `password_dictionary` on. [`ConnectionOptions::check_password`] is its one user.
//!
//! [`ConnectionOptions::check_password`]: crate::model::ConnectionOptions::check_password

use std::collections::HashSet;
use std::sync::LazyLock;

/// The file: comment lines starting with `#`, then one lower-case password per line.
const LIST: &str = include_str!("../data/common-passwords.txt");

/// The entries, read once.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    LIST.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `password` is on the list, ignoring case (every entry is lower case).
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_ten_thousand_lower_case_entries() {
        assert_eq!(COMMON.len(), 10_000);
        assert!(COMMON.iter().all(|p| p.to_lowercase() == *p));
    }

    #[test]
    fn common_passwords_are_found_in_any_case() {
        // (password, on the list)
        let cases = [
            ("123456", true),
            ("password", true),
            ("PASSWORD", true),
            ("Password1", true),
            ("qwerty", true),
            ("", false),
            ("# The 10,000 most common passwords", false),
            ("correct-Horse-7-battery", false),
        ];
        for (password, common) in cases {
            assert_eq!(is_common(password), common, "{password:?}");
        }
    }
}
