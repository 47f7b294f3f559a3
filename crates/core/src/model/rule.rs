//! Legacy Auth0 Rules (`/api/v2/rules`) and their configuration values (`/rules-configs`):
//! `function (user, context, callback)` scripts run, enabled ones in `order`, before the
//! post-login Actions. Configuration values are plain here; the store seals them under the
//! master key, and the Management API never returns them.

use zeroize::Zeroizing;

use crate::UnixTime;
use crate::ids::RuleId;

/// A Rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its id.
    pub id: RuleId,
    /// Its name, unique.
    pub name: String,
    /// Its code: one function `(user, context, callback)`.
    pub script: String,
    /// Where it runs among the enabled ones, lowest first.
    pub order: i64,
    /// Whether it runs.
    pub enabled: bool,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
}

/// A configuration value Rules read as `configuration[key]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesConfig {
    /// Its key.
    pub key: String,
    /// Its value (write-only through the API).
    pub value: Zeroizing<String>,
}
