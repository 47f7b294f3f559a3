//! Attack protection's records: the tenant's brute-force protection settings (Auth0's
//! `/attack-protection/brute-force-protection`) and the failed-login counters they keep
//! (Auth0's user blocks, `/user-blocks`); suspicious-IP throttling's settings (Auth0's
//! `/attack-protection/suspicious-ip-throttling`) and breached-password detection's (Auth0's
//! `/attack-protection/breached-password-detection`).

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

/// What suspicious-IP throttling does when an address runs out of attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleShield {
    /// Refuse the address's further attempts (429 `too_many_attempts`).
    Block,
    /// Mail the tenant's administrators (its `support_email`), at most once an hour per
    /// address.
    AdminNotification,
}

/// A throttled stage's bucket: `max_attempts` at once, then one more every `rate` ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleStage {
    /// Attempts an address may make at once (1 to 100,000 in Sigil).
    pub max_attempts: u32,
    /// Milliseconds between two attempts given back (Auth0's `rate`).
    pub rate: i64,
}

/// The tenant's suspicious-IP throttling, Auth0's defaults: on, blocking and notifying the
/// administrators; 100 failed logins per address across accounts, one more every 14.4 minutes
/// (100 a day); 50 signups per address, one more every 1.2 seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SuspiciousIpSettings {
    /// Whether addresses are throttled at all.
    pub enabled: bool,
    /// What happens when an address runs out; none: only the log.
    pub shields: Vec<ThrottleShield>,
    /// Addresses and CIDR blocks never throttled (checked when set).
    pub allowlist: Vec<String>,
    /// Failed logins per address, across accounts (Auth0's `pre-login`).
    pub pre_login: ThrottleStage,
    /// Signup attempts per address (Auth0's `pre-user-registration`).
    pub pre_user_registration: ThrottleStage,
    /// Auth0's `pre-custom-token-exchange` stage, kept as set: Sigil has no custom token
    /// exchange, so nothing is throttled by it.
    pub pre_custom_token_exchange: ThrottleStage,
}

impl Default for SuspiciousIpSettings {
    fn default() -> Self {
        SuspiciousIpSettings {
            enabled: true,
            shields: vec![ThrottleShield::AdminNotification, ThrottleShield::Block],
            allowlist: Vec::new(),
            pre_login: ThrottleStage {
                max_attempts: 100,
                rate: 864_000,
            },
            pre_user_registration: ThrottleStage {
                max_attempts: 50,
                rate: 1_200,
            },
            pre_custom_token_exchange: ThrottleStage {
                max_attempts: 10,
                rate: 600_000,
            },
        }
    }
}

impl SuspiciousIpSettings {
    /// Whether an address that ran out is refused.
    pub fn blocks(&self) -> bool {
        self.shields.contains(&ThrottleShield::Block)
    }
}

/// What breached-password detection does about a breached password at a login.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachShield {
    /// Refuse the login (401 `password_leaked`) until the password is changed.
    Block,
    /// Mail the user, at most once an hour (a link to set a new password).
    UserNotification,
    /// Mail the tenant's administrators (its `support_email`).
    AdminNotification,
}

/// What breached-password detection does at a signup or a password change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageShield {
    /// Refuse the password.
    Block,
    /// Mail the tenant's administrators.
    AdminNotification,
}

/// The tenant's breached-password detection, Auth0's defaults: off; when turned on without
/// shields it only logs (`pwd_leak`, `signup_pwd_leak`, `reset_pwd_leak`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BreachedPasswordSettings {
    /// Whether passwords are checked at all.
    pub enabled: bool,
    /// At a login.
    pub shields: Vec<BreachShield>,
    /// At a signup (Auth0's `pre-user-registration` stage).
    pub pre_user_registration: Vec<StageShield>,
    /// At a password change: a reset, the Management API (Auth0's `pre-change-password`).
    pub pre_change_password: Vec<StageShield>,
}
