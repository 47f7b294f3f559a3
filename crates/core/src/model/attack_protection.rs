//! Attack protection's records: the tenant's brute-force protection settings (Auth0's
//! `/attack-protection/brute-force-protection`) and the failed-login counters they keep
//! (Auth0's user blocks, `/user-blocks`).

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::ids::ConnectionId;

/// What brute-force protection does when the threshold is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BruteForceShield {
    /// Refuse further attempts (429 `too_many_attempts`).
    Block,
    /// Mail the user a link that lifts the block.
    UserNotification,
}

/// What failed logins are counted per.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BruteForceMode {
    /// Per identifier and client address (Auth0's default): a failure from one address never
    /// blocks the same user at another.
    #[default]
    #[serde(rename = "count_per_identifier_and_ip")]
    PerIdentifierAndIp,
    /// Per identifier, from any address (Auth0's "Account Lockout").
    #[serde(rename = "count_per_identifier")]
    PerIdentifier,
}

/// The tenant's brute-force protection, Auth0's defaults: on, 10 consecutive failures per
/// identifier and address, blocking and notifying the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BruteForceSettings {
    /// Whether failures are counted at all.
    pub enabled: bool,
    /// What happens at the threshold; none: only the log (Auth0's "Monitoring").
    pub shields: Vec<BruteForceShield>,
    /// Addresses and CIDR blocks never counted (checked when set).
    pub allowlist: Vec<String>,
    /// Per identifier and address, or per identifier.
    pub mode: BruteForceMode,
    /// Consecutive failures that block (1 to 100).
    pub max_attempts: u32,
}

impl Default for BruteForceSettings {
    fn default() -> Self {
        BruteForceSettings {
            enabled: true,
            shields: vec![BruteForceShield::Block, BruteForceShield::UserNotification],
            allowlist: Vec::new(),
            mode: BruteForceMode::PerIdentifierAndIp,
            max_attempts: 10,
        }
    }
}

impl BruteForceSettings {
    /// Whether reaching the threshold refuses further attempts.
    pub fn blocks(&self) -> bool {
        self.shields.contains(&BruteForceShield::Block)
    }
}

/// What failed logins are counted under: a connection, an identifier as typed (trimmed, in
/// lower case), and the client's address (empty when counted per identifier).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginCounter {
    /// The database connection.
    pub connection_id: ConnectionId,
    /// The identifier tried (an email or a username), whether or not a user has it.
    pub identifier: String,
    /// The client's address, or empty.
    pub ip: String,
}

/// A counter's state, as `/user-blocks` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFailures {
    /// What was counted.
    pub counter: LoginCounter,
    /// Consecutive failures (and attempts in flight).
    pub count: u32,
    /// The last one.
    pub last_failure_at: UnixTime,
}
