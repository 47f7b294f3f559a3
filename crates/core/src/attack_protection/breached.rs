//! Breached-password detection without calling anything by default: a password is breached
//! when it is one of Auth0's test passwords (any starting with `AUTH0-TEST-`, as Auth0
//! documents, so SDK tests behave alike), on the bundled list of the 10,000 most common ones
//! (`common_passwords`, gathered from breaches), or in the operator's own list: SHA-1 hashes
//! (Have I Been Pwned's `HASH:COUNT` lines, or bare hashes) compacted by `sigil
//! breached-passwords import` into a [`BreachedFilter`] file. A server may also ask a
//! k-anonymity range API the operator names (only the first five hex digits of the hash leave
//! it); that call lives with the server's other outbound calls.
//!
//! The filter is a binary fuse filter with 16-bit fingerprints (`xorf`'s `BinaryFuse16`, about
//! 18 bits a password) over the first 64 bits of each SHA-1: a password that is on the list is
//! always found, and one that is not is taken for breached with probability about 2⁻¹⁶
//! ([`FALSE_POSITIVE_RATE`]), which only asks its user for another password.
//!
//! The file: `SIGILBPF` (8 bytes), the format version (u32, little-endian), the number of
//! hashes (u64), the descriptor's length (u32) and the descriptor, then the fingerprints (u16
//! each, little-endian).

use xorf::{BinaryFuse16, DmaSerializable as _, Filter as _, FilterRef as _};

use crate::ids::ClientId;
use crate::model::{
    BreachShield, BreachedPasswordSettings, LogType, NewLogEvent, OutgoingEmail, StageShield,
    TemplateName, TicketKind, User,
};
use crate::password::Passwords;
use crate::rate_limit::RateLimit;
use crate::{Store, StoreError, UnixTime};

/// Auth0's test prefix: any password starting with it is breached (Auth0's docs).
pub const TEST_PREFIX: &str = "AUTH0-TEST-";

/// Where a breached password was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreachSource {
    /// One of Auth0's test passwords (`AUTH0-TEST-…`).
    Test,
    /// The bundled list of common passwords.
    Bundled,
    /// The operator's imported list.
    Imported,
    /// The operator's range API.
    RangeApi,
}

/// The chance that a password on no list is found in an imported filter: its 16-bit
/// fingerprints' 2⁻¹⁶.
pub const FALSE_POSITIVE_RATE: f64 = 1.0 / 65536.0;

const MAGIC: &[u8; 8] = b"SIGILBPF";
const VERSION: u32 = 1;

/// SHA-1 of `password`, as breach lists write it: 40 upper-case hex digits.
pub fn sha1_hex(password: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        password.as_bytes(),
    );
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

/// The filter's key of a SHA-1 given in hex (40 digits, any case): its first 64 bits. `None`
/// for anything else.
pub fn key_of_hex(hex: &str) -> Option<u64> {
    let hex = hex.trim();
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(&hex[..16], 16).ok()
}

/// The listed breaches Sigil knows without asking anyone: `imported` is the operator's filter.
pub fn known_breach(password: &str, imported: Option<&BreachedFilter>) -> Option<BreachSource> {
    if password.starts_with(TEST_PREFIX) {
        return Some(BreachSource::Test);
    }
    if crate::common_passwords::is_common(password) {
        return Some(BreachSource::Bundled);
    }
    let filter = imported?;
    key_of_hex(&sha1_hex(password))
        .filter(|key| filter.contains(*key))
        .map(|_| BreachSource::Imported)
}

/// The answer to a login refused for a breached password (Auth0's words).
pub const LEAKED: &str = "This login attempt has been blocked because the password you're \
    using was previously disclosed through a data breach (not in this application). Please \
    check your email for more information.";

/// The refusal of a new password found in a breach (`PasswordRefusal::Breached`'s words).
pub const LEAKED_NEW: &str = "This password has previously appeared in a data breach and \
    should not be used. Choose another one.";

/// Mails per user (to the user) or per address (to the administrators): one an hour.
const NOTICES: RateLimit = RateLimit::per_hour(1, 1);

/// Where a password is checked, and which of the settings' shields apply there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkpoint {
    /// A login with the password (the password grants, the hosted login page).
    Login,
    /// A signup, or a user made through the Management API (`pre-user-registration`).
    Signup,
    /// A new password: a reset link, the Management API (`pre-change-password`).
    PasswordChange,
}

impl Checkpoint {
    fn log_type(self) -> &'static str {
        match self {
            Checkpoint::Login => LogType::BREACHED_PASSWORD,
            Checkpoint::Signup => LogType::BREACHED_PASSWORD_SIGNUP,
            Checkpoint::PasswordChange => LogType::BREACHED_PASSWORD_RESET,
        }
    }
}

/// Who used the password, for the log and the mails.
#[derive(Clone, Copy, Debug)]
pub struct Used<'a> {
    /// The user, once known (a login, a change); the address or username tried otherwise.
    pub user: Option<&'a User>,
    /// The email or username given.
    pub identifier: &'a str,
    /// The application, when one asked.
    pub client_id: Option<&'a ClientId>,
    /// The client's address.
    pub ip: Option<&'a str>,
}

/// Checks `password` at `checkpoint` when detection is on: a breached one is logged (the
/// checkpoint's event) and reported as the settings' shields say (the administrators, and at a
/// login the user, through `mailer`, each at most once an hour). `true` when the password must be refused
/// (the `block` shield). Detection off, or a password on no list: `false`, nothing written.
#[allow(clippy::too_many_arguments)] // Each is a separate fact about the check.
pub async fn refuses(
    store: &impl Store,
    passwords: &impl Passwords,
    mailer: Option<super::brute_force::Mailer<'_>>,
    settings: &BreachedPasswordSettings,
    checkpoint: Checkpoint,
    password: &str,
    used: Used<'_>,
    now: UnixTime,
) -> Result<bool, StoreError> {
    if !settings.enabled {
        return Ok(false);
    }
    let Some(source) = passwords.breached(password).await else {
        return Ok(false);
    };
    let (block, notify_admin) = match checkpoint {
        Checkpoint::Login => (
            settings.shields.contains(&BreachShield::Block),
            settings.shields.contains(&BreachShield::AdminNotification),
        ),
        Checkpoint::Signup => stage(&settings.pre_user_registration),
        Checkpoint::PasswordChange => stage(&settings.pre_change_password),
    };
    let found = match source {
        BreachSource::Test => "it is one of Auth0's test passwords (AUTH0-TEST-…)",
        BreachSource::Bundled => "it is on the bundled list of common passwords",
        BreachSource::Imported => "it is on the operator's imported list",
        BreachSource::RangeApi => "the operator's range API knows it",
    };
    let description = format!(
        "A breached password was used ({found}); it was {}",
        if block {
            "refused"
        } else {
            "let through (no block shield)"
        }
    );
    store
        .append_log(&NewLogEvent {
            user_id: used.user.map(|u| u.user_id.clone()),
            user_name: Some(used.identifier.to_owned()),
            client_id: used.client_id.cloned(),
            ip: used.ip.map(str::to_owned),
            description: Some(description.clone()),
            ..NewLogEvent::new(checkpoint.log_type(), now)
        })
        .await?;
    let hour = |key: String| async move {
        store
            .take_rate_limit(&key, NOTICES, now.0.saturating_mul(1000))
            .await
            .map(|taken| taken.allowed)
    };
    if notify_admin
        && let Some(to) = store
            .tenant_settings()
            .await?
            .and_then(|t| t.support_email)
            .filter(|to| !to.is_empty())
        && hour(format!("breach-admin:{}", used.ip.unwrap_or_default())).await?
    {
        store
            .queue_email(&OutgoingEmail {
                to,
                subject: "A breached password was used".to_owned(),
                body: format!(
                    "{description}.\n\nAccount: {}\nAddress: {}\n\nThe tenant log has the \
                     event (type {}).\n",
                    used.identifier,
                    used.ip.unwrap_or("unknown"),
                    checkpoint.log_type()
                ),
                html: None,
                from: None,
                kind: "breached_password_admin".to_owned(),
                created_at: now,
            })
            .await?;
    }
    // The user is told at a login, with a link to set a new password (the reset mail).
    if checkpoint == Checkpoint::Login
        && settings.shields.contains(&BreachShield::UserNotification)
        && let Some(mailer) = mailer
        && let Some(user) = used.user
        && let Some(to) = user.email.as_deref()
        && hour(format!("breach-user:{}", user.user_id)).await?
    {
        let link = crate::tickets::Link {
            template: TemplateName::ResetEmail,
            ticket: TicketKind::PasswordReset,
            outbox_kind: "breached_password",
            result_url: None,
        };
        crate::tickets::mail_link(
            store,
            mailer.rng,
            mailer.issuer,
            now,
            link,
            user,
            to,
            used.client_id,
        )
        .await?;
    }
    Ok(block)
}

/// A stage's `(block, notify the administrators)`.
fn stage(shields: &[StageShield]) -> (bool, bool) {
    (
        shields.contains(&StageShield::Block),
        shields.contains(&StageShield::AdminNotification),
    )
}

/// Why a filter file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FilterFileError {
    /// Not a Sigil breached-password filter.
    #[error("not a breached-password filter made by `sigil breached-passwords import`")]
    NotAFilter,
    /// Made by another version of Sigil.
    #[error("a breached-password filter of format {0}; this Sigil reads format {VERSION}")]
    Version(u32),
    /// Cut short or padded.
    #[error("the breached-password filter file is damaged (its length is wrong)")]
    Damaged,
}

/// An imported list of breached passwords: a binary fuse filter over their SHA-1s.
pub struct BreachedFilter {
    descriptor: Vec<u8>,
    fingerprints: Vec<u16>,
    count: u64,
}

impl std::fmt::Debug for BreachedFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachedFilter")
            .field("count", &self.count)
            .field("bytes", &self.size())
            .finish()
    }
}

impl BreachedFilter {
    /// The filter of `keys` ([`key_of_hex`] of each hash; duplicates are dropped).
    pub fn build(mut keys: Vec<u64>) -> Result<Self, String> {
        keys.sort_unstable();
        keys.dedup();
        let filter =
            BinaryFuse16::try_from(&keys).map_err(|e| format!("cannot build the filter: {e}"))?;
        let mut descriptor = vec![0u8; BinaryFuse16::DESCRIPTOR_LEN];
        filter.dma_copy_descriptor_to(&mut descriptor);
        Ok(BreachedFilter {
            descriptor,
            fingerprints: filter.fingerprints.to_vec(),
            count: keys.len() as u64,
        })
    }

    /// How many distinct hashes it was built from.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Its size in bytes, as written.
    pub fn size(&self) -> usize {
        8 + 4 + 8 + 4 + self.descriptor.len() + 2 * self.fingerprints.len()
    }

    /// Whether `key` may be on the list (never a false "no").
    pub fn contains(&self, key: u64) -> bool {
        // The descriptor is a few words, parsed per lookup; the fingerprints are borrowed as
        // the aligned bytes `from_dma` asks for.
        let bytes: &[u8] = bytemuck::cast_slice(&self.fingerprints);
        xorf::BinaryFuse16Ref::from_dma(&self.descriptor, bytes).contains(&key)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&(self.descriptor.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.descriptor);
        for fingerprint in &self.fingerprints {
            out.extend_from_slice(&fingerprint.to_le_bytes());
        }
        out
    }

    /// A filter read back from [`BreachedFilter::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FilterFileError> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(FilterFileError::NotAFilter)?;
        let take = |rest: &[u8], n: usize| -> Result<(Vec<u8>, usize), FilterFileError> {
            rest.get(..n)
                .map(|b| (b.to_vec(), n))
                .ok_or(FilterFileError::Damaged)
        };
        let (version, _) = take(rest, 4)?;
        let version = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
        if version != VERSION {
            return Err(FilterFileError::Version(version));
        }
        let rest = &rest[4..];
        let (count, _) = take(rest, 8)?;
        let count = u64::from_le_bytes(count.try_into().map_err(|_| FilterFileError::Damaged)?);
        let rest = &rest[8..];
        let (length, _) = take(rest, 4)?;
        let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]) as usize;
        if length != BinaryFuse16::DESCRIPTOR_LEN {
            return Err(FilterFileError::Damaged);
        }
        let rest = &rest[4..];
        let (descriptor, _) = take(rest, length)?;
        let rest = &rest[length..];
        if rest.len() % 2 != 0 || rest.is_empty() {
            return Err(FilterFileError::Damaged);
        }
        let fingerprints = rest
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        Ok(BreachedFilter {
            descriptor,
            fingerprints,
            count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_finds_every_listed_hash_and_survives_its_file() {
        let listed: Vec<String> = (0..5000).map(|i| format!("listed-password-{i}")).collect();
        let keys: Vec<u64> = listed
            .iter()
            .filter_map(|p| key_of_hex(&sha1_hex(p)))
            .collect();
        let filter = BreachedFilter::build(keys).unwrap();
        assert_eq!(filter.count(), 5000);
        let read = BreachedFilter::from_bytes(&filter.to_bytes()).unwrap();
        for password in &listed {
            assert_eq!(
                known_breach(password, Some(&read)),
                Some(BreachSource::Imported),
                "{password}"
            );
        }
        // (password, source) without the operator's list
        let cases = [
            ("AUTH0-TEST-anything", Some(BreachSource::Test)),
            ("password1", Some(BreachSource::Bundled)),
            ("Vq7-Lamp-Orbit-Seven!", None),
        ];
        for (password, source) in cases {
            assert_eq!(known_breach(password, None), source, "{password}");
        }
        let bytes = filter.to_bytes();
        for (what, bad) in [
            ("empty", Vec::new()),
            ("another file", b"PNG\x89 not a filter".to_vec()),
            ("cut short", bytes[..bytes.len() - 1].to_vec()),
            ("only the header", bytes[..24].to_vec()),
        ] {
            assert!(BreachedFilter::from_bytes(&bad).is_err(), "{what}");
        }
    }

    #[test]
    fn the_false_positive_rate_is_about_two_to_the_minus_sixteen() {
        // splitmix64: reproducible keys, so the bound cannot flake.
        let mut state = 0x5EED_u64;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let listed: Vec<u64> = (0..100_000).map(|_| next()).collect();
        let filter = BreachedFilter::build(listed.clone()).unwrap();
        assert!(
            listed.iter().all(|k| filter.contains(*k)),
            "no false negative"
        );
        let trials = 1_000_000;
        let false_positives = (0..trials).filter(|_| filter.contains(next())).count();
        // Expected about 15 (2⁻¹⁶ of a million); four times that is a broken filter.
        assert!(
            false_positives <= 4 * (trials as f64 * FALSE_POSITIVE_RATE) as usize,
            "{false_positives} false positives in {trials}"
        );
        let bits = filter.size() as f64 * 8.0 / filter.count() as f64;
        assert!(bits < 20.0, "{bits} bits a password");
    }

    #[test]
    fn hashes_are_read_as_breach_lists_write_them() {
        assert_eq!(
            sha1_hex("password"),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
        assert_eq!(
            key_of_hex("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"),
            Some(0x5BAA_61E4_C9B9_3F3F)
        );
        for bad in ["", "5BAA61E4", "ZZAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"] {
            assert_eq!(key_of_hex(bad), None, "{bad}");
        }
    }
}
