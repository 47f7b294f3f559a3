//! Identifiers, each its own type, generated in the shapes Auth0 uses so that tools which
//! recognise them (`auth0|…`, `con_…`, `cgr_…`, `rol_…`) keep working.

use std::fmt;

use crate::Rng;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }
    };
}

id_type!(
    /// A user: `<provider>|<id>`, for database users `auth0|<24 hex digits>`.
    UserId
);
id_type!(
    /// An application's `client_id`: 32 letters and digits.
    ClientId
);
id_type!(
    /// A connection: `con_<16 letters and digits>`.
    ConnectionId
);
id_type!(
    /// An API (resource server): 24 hex digits. Tokens name it by its identifier, not this id.
    ResourceServerId
);
id_type!(
    /// A client grant: `cgr_<16 letters and digits>`.
    ClientGrantId
);
id_type!(
    /// A role: `rol_<16 letters and digits>`.
    RoleId
);
id_type!(
    /// A Management API job: `job_<16 letters and digits>`.
    JobId
);
id_type!(
    /// A legacy Rule: `rul_<16 letters and digits>`.
    RuleId
);
id_type!(
    /// A user's consent to an application (Auth0's "grant"): 24 hex digits.
    ConsentId
);
id_type!(
    /// A login session (the `sid` claim): 32 letters and digits.
    SessionId
);
id_type!(
    /// A refresh-token family: every token rotated from one grant shares it.
    FamilyId
);
id_type!(
    /// A log event; ids sort in the order the events were written.
    LogId
);

impl UserId {
    /// A new database user's id, `auth0|<24 hex digits>`.
    pub fn generate_database(rng: &dyn Rng) -> Self {
        UserId(format!("auth0|{}", hex(rng, 12)))
    }

    /// The provider part (before `|`), `auth0` for database users.
    pub fn provider(&self) -> &str {
        self.0.split_once('|').map_or("", |(p, _)| p)
    }

    /// The id part (after the first `|`).
    pub fn local_part(&self) -> &str {
        self.0.split_once('|').map_or(self.0.as_str(), |(_, id)| id)
    }
}

impl ClientId {
    /// A new client id.
    pub fn generate(rng: &dyn Rng) -> Self {
        ClientId(alphanumeric(rng, 32))
    }
}

impl ConnectionId {
    /// A new connection id.
    pub fn generate(rng: &dyn Rng) -> Self {
        ConnectionId(format!("con_{}", alphanumeric(rng, 16)))
    }
}

impl ResourceServerId {
    /// A new API id.
    pub fn generate(rng: &dyn Rng) -> Self {
        ResourceServerId(hex(rng, 12))
    }
}

impl ClientGrantId {
    /// A new client grant id.
    pub fn generate(rng: &dyn Rng) -> Self {
        ClientGrantId(format!("cgr_{}", alphanumeric(rng, 16)))
    }
}

id_type!(
    /// An Action (tenant code): a UUID, as Auth0's.
    ActionId
);
id_type!(
    /// A deployed version of an Action: a UUID.
    ActionVersionId
);
id_type!(
    /// An Action bound to a trigger: a UUID.
    BindingId
);

impl ActionId {
    /// A new Action id.
    pub fn generate(rng: &dyn Rng) -> Self {
        ActionId(uuid(rng))
    }
}

impl ActionVersionId {
    /// A new version id.
    pub fn generate(rng: &dyn Rng) -> Self {
        ActionVersionId(uuid(rng))
    }
}

impl BindingId {
    /// A new binding id.
    pub fn generate(rng: &dyn Rng) -> Self {
        BindingId(uuid(rng))
    }
}

/// A random UUID (RFC 9562 version 4), lowercase.
pub fn uuid(rng: &dyn Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = to_hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl RoleId {
    /// A new role id.
    pub fn generate(rng: &dyn Rng) -> Self {
        RoleId(format!("rol_{}", alphanumeric(rng, 16)))
    }
}

impl RuleId {
    /// A new Rule id.
    pub fn generate(rng: &dyn Rng) -> Self {
        RuleId(format!("rul_{}", alphanumeric(rng, 16)))
    }
}

impl JobId {
    /// A new job id.
    pub fn generate(rng: &dyn Rng) -> Self {
        JobId(format!("job_{}", alphanumeric(rng, 16)))
    }
}

impl ConsentId {
    /// A new consent id.
    pub fn generate(rng: &dyn Rng) -> Self {
        ConsentId(hex(rng, 12))
    }
}

impl SessionId {
    /// A new session id.
    pub fn generate(rng: &dyn Rng) -> Self {
        SessionId(alphanumeric(rng, 32))
    }
}

impl FamilyId {
    /// A new refresh-token family.
    pub fn generate(rng: &dyn Rng) -> Self {
        FamilyId(alphanumeric(rng, 24))
    }
}

/// `bytes` random bytes as lowercase hex.
pub fn hex(rng: &dyn Rng, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill(&mut buf);
    to_hex(&buf)
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// `count` random decimal digits: a one-time code (rejection sampling keeps each digit
/// uniform).
pub fn digits(rng: &dyn Rng, count: usize) -> zeroize::Zeroizing<String> {
    let mut code = zeroize::Zeroizing::new(String::with_capacity(count));
    let mut buf = [0u8; 16];
    while code.len() < count {
        rng.fill(&mut buf);
        for b in buf {
            if b < 250 && code.len() < count {
                code.push(char::from(b'0' + b % 10));
            }
        }
    }
    code
}

/// `len` characters drawn uniformly from `[A-Za-z0-9]`.
pub fn alphanumeric(rng: &dyn Rng, len: usize) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill(&mut buf);
        // Rejection sampling: 248 = 4 × 62, so every accepted byte is uniform over the alphabet.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;

    #[test]
    fn generated_ids_have_auth0_shapes() {
        let rng = SystemRng;
        let user = UserId::generate_database(&rng);
        assert_eq!((user.provider(), user.local_part().len()), ("auth0", 24));
        assert!(user.local_part().bytes().all(|b| b.is_ascii_hexdigit()));
        let client = ClientId::generate(&rng);
        assert_eq!(client.0.len(), 32);
        assert!(client.0.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(ConnectionId::generate(&rng).0.starts_with("con_"));
        assert_eq!(ClientGrantId::generate(&rng).0.len(), 20);
        assert_ne!(RoleId::generate(&rng), RoleId::generate(&rng));
    }
}
