//! The Management API's attack-protection part, Auth0's shapes:
//! `/attack-protection/brute-force-protection`, `/attack-protection/suspicious-ip-throttling` and
//! `/attack-protection/breached-password-detection` (the settings, read and patched), `/user-blocks` (the brute-force blocks of an identifier or
//! of a user, read and lifted), and `/attack-protection/bot-detection` and `/captcha`, which
//! Sigil answers as off and refuses to turn on.

use serde::Deserialize;
use serde_json::{Value, json};

use super::body::{Body, present};
use super::error::ManagementError;
pub use crate::attack_protection::brute_force::identifiers_of;
use crate::attack_protection::brute_force::{self, BLOCK_LIFETIME};
use crate::model::{
    BreachedPasswordSettings, BruteForceMode, BruteForceSettings, LogType, NewLogEvent,
    SuspiciousIpSettings, ThrottleStage, User,
};
use crate::{Store, StoreError, UnixTime};

/// The most consecutive failures Auth0 lets a tenant allow.
pub const MAX_ATTEMPTS: u32 = 100;

/// The most allowlist entries (Auth0's 100).
pub const MAX_ALLOWLIST: usize = 100;

/// The settings, as Auth0 answers them.
pub fn brute_force_json(settings: &BruteForceSettings) -> Value {
    json!({
        "enabled": settings.enabled,
        "shields": settings.shields,
        "allowlist": settings.allowlist,
        "mode": settings.mode,
        "max_attempts": settings.max_attempts,
    })
}

/// `PATCH /attack-protection/brute-force-protection`'s body: what it names changes.
#[derive(Debug, Deserialize)]
pub struct BruteForcePatch {
    /// On or off.
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
    /// `block`, `user_notification`.
    #[serde(default, deserialize_with = "present")]
    pub shields: Option<Vec<String>>,
    /// Addresses and CIDR blocks.
    #[serde(default, deserialize_with = "present")]
    pub allowlist: Option<Vec<String>>,
    /// `count_per_identifier_and_ip` or `count_per_identifier`.
    #[serde(default, deserialize_with = "present")]
    pub mode: Option<String>,
    /// 1 to 100.
    #[serde(default, deserialize_with = "present")]
    pub max_attempts: Option<i64>,
}

impl Body for BruteForcePatch {
    const FIELDS: &'static [&'static str] =
        &["enabled", "shields", "allowlist", "mode", "max_attempts"];
}

impl BruteForcePatch {
    /// `settings` with the patch applied, or the first property it refuses.
    pub fn apply(
        &self,
        settings: &BruteForceSettings,
    ) -> Result<BruteForceSettings, ManagementError> {
        let mut next = settings.clone();
        if let Some(enabled) = self.enabled {
            next.enabled = enabled;
        }
        if let Some(shields) = &self.shields {
            next.shields = shields_of("shields", shields, "block, user_notification")?;
        }
        if let Some(given) = &self.allowlist {
            next.allowlist = allowlist(given)?;
        }
        if let Some(mode) = &self.mode {
            next.mode = match mode.as_str() {
                "count_per_identifier_and_ip" => BruteForceMode::PerIdentifierAndIp,
                "count_per_identifier" => BruteForceMode::PerIdentifier,
                other => {
                    return Err(ManagementError::body(
                        "mode",
                        format!(
                            "No enum match for: \"{other}\" (count_per_identifier_and_ip, count_per_identifier)"
                        ),
                    ));
                }
            };
        }
        if let Some(max) = self.max_attempts {
            next.max_attempts = u32::try_from(max)
                .ok()
                .filter(|m| (1..=MAX_ATTEMPTS).contains(m))
                .ok_or_else(|| {
                    ManagementError::body("max_attempts", format!("Expected 1 to {MAX_ATTEMPTS}"))
                })?;
        }
        Ok(next)
    }
}

/// An allowlist as given: at most [`MAX_ALLOWLIST`] addresses or CIDR blocks, trimmed.
fn allowlist(given: &[String]) -> Result<Vec<String>, ManagementError> {
    if given.len() > MAX_ALLOWLIST {
        return Err(ManagementError::body(
            "allowlist",
            format!("Array is too long (at most {MAX_ALLOWLIST} entries)"),
        ));
    }
    if let Some(bad) = given
        .iter()
        .find(|e| brute_force::parse_allowed(e).is_none())
    {
        return Err(ManagementError::body(
            "allowlist",
            format!("\"{bad}\" is not an IP address or CIDR block"),
        ));
    }
    Ok(given.iter().map(|e| e.trim().to_owned()).collect())
}

/// The most attempts a throttled stage may allow at once.
pub const MAX_THROTTLE_ATTEMPTS: u32 = 100_000;

/// The longest refill interval, in milliseconds (30 days).
pub const MAX_THROTTLE_RATE: i64 = 30 * 24 * 3_600_000;

/// Suspicious-IP throttling's settings, as Auth0 answers them.
pub fn suspicious_ip_json(settings: &SuspiciousIpSettings) -> Value {
    let stage = |s: &ThrottleStage| json!({"max_attempts": s.max_attempts, "rate": s.rate});
    json!({
        "enabled": settings.enabled,
        "shields": settings.shields,
        "allowlist": settings.allowlist,
        "stage": {
            "pre-login": stage(&settings.pre_login),
            "pre-user-registration": stage(&settings.pre_user_registration),
            "pre-custom-token-exchange": stage(&settings.pre_custom_token_exchange),
        },
    })
}

/// `PATCH /attack-protection/suspicious-ip-throttling`'s body: what it names changes.
#[derive(Debug, Deserialize)]
pub struct SuspiciousIpPatch {
    /// On or off.
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
    /// `block`, `admin_notification`.
    #[serde(default, deserialize_with = "present")]
    pub shields: Option<Vec<String>>,
    /// Addresses and CIDR blocks.
    #[serde(default, deserialize_with = "present")]
    pub allowlist: Option<Vec<String>>,
    /// `{"pre-login": {"max_attempts", "rate"}, "pre-user-registration": …}`.
    #[serde(default, deserialize_with = "present")]
    pub stage: Option<serde_json::Map<String, Value>>,
}

impl Body for SuspiciousIpPatch {
    const FIELDS: &'static [&'static str] = &["enabled", "shields", "allowlist", "stage"];
}

impl SuspiciousIpPatch {
    /// `settings` with the patch applied, or the first property it refuses.
    pub fn apply(
        &self,
        settings: &SuspiciousIpSettings,
    ) -> Result<SuspiciousIpSettings, ManagementError> {
        let mut next = settings.clone();
        if let Some(enabled) = self.enabled {
            next.enabled = enabled;
        }
        if let Some(shields) = &self.shields {
            next.shields = shields_of("shields", shields, "block, admin_notification")?;
        }
        if let Some(given) = &self.allowlist {
            next.allowlist = allowlist(given)?;
        }
        for (name, value) in self.stage.iter().flatten() {
            let slot = match name.as_str() {
                "pre-login" => &mut next.pre_login,
                "pre-user-registration" => &mut next.pre_user_registration,
                "pre-custom-token-exchange" => &mut next.pre_custom_token_exchange,
                other => {
                    return Err(ManagementError::body(
                        "stage",
                        format!(
                            "Additional properties not allowed: {other} (pre-login, \
                             pre-user-registration, pre-custom-token-exchange)"
                        ),
                    ));
                }
            };
            *slot = throttle_stage(name, value, *slot)?;
        }
        Ok(next)
    }
}

/// One stage's `{"max_attempts", "rate"}` over `current`.
fn throttle_stage(
    name: &str,
    value: &Value,
    current: ThrottleStage,
) -> Result<ThrottleStage, ManagementError> {
    let field = format!("stage.{name}");
    let Value::Object(object) = value else {
        return Err(ManagementError::body(&field, "Expected type object"));
    };
    let mut next = current;
    for (key, value) in object {
        match key.as_str() {
            "max_attempts" => {
                next.max_attempts = value
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (1..=MAX_THROTTLE_ATTEMPTS).contains(n))
                    .ok_or_else(|| {
                        ManagementError::body(
                            &format!("{field}.max_attempts"),
                            format!("Expected an integer from 1 to {MAX_THROTTLE_ATTEMPTS}"),
                        )
                    })?;
            }
            "rate" => {
                next.rate = value
                    .as_i64()
                    .filter(|n| (1..=MAX_THROTTLE_RATE).contains(n))
                    .ok_or_else(|| {
                        ManagementError::body(
                            &format!("{field}.rate"),
                            format!(
                                "Expected an integer number of milliseconds from 1 to \
                                 {MAX_THROTTLE_RATE}"
                            ),
                        )
                    })?;
            }
            other => {
                return Err(ManagementError::body(
                    &field,
                    format!("Additional properties not allowed: {other} (max_attempts, rate)"),
                ));
            }
        }
    }
    Ok(next)
}

/// Breached-password detection's settings, as Auth0 answers them.
pub fn breached_json(settings: &BreachedPasswordSettings) -> Value {
    json!({
        "enabled": settings.enabled,
        "shields": settings.shields,
        "admin_notification_frequency": ["immediately"],
        "method": "standard",
        "stage": {
            "pre-user-registration": {"shields": settings.pre_user_registration},
            "pre-change-password": {"shields": settings.pre_change_password},
        },
    })
}

/// `PATCH /attack-protection/breached-password-detection`'s body: what it names changes.
#[derive(Debug, Deserialize)]
pub struct BreachedPatch {
    /// On or off.
    #[serde(default, deserialize_with = "present")]
    pub enabled: Option<bool>,
    /// `block`, `user_notification`, `admin_notification`.
    #[serde(default, deserialize_with = "present")]
    pub shields: Option<Vec<String>>,
    /// Only `["immediately"]`: Sigil sends no digests.
    #[serde(default, deserialize_with = "present")]
    pub admin_notification_frequency: Option<Vec<String>>,
    /// Only `standard`: Sigil has no Credential Guard.
    #[serde(default, deserialize_with = "present")]
    pub method: Option<String>,
    /// `{"pre-user-registration": {"shields": […]}, "pre-change-password": …}`.
    #[serde(default, deserialize_with = "present")]
    pub stage: Option<serde_json::Map<String, Value>>,
}

impl Body for BreachedPatch {
    const FIELDS: &'static [&'static str] = &[
        "enabled",
        "shields",
        "admin_notification_frequency",
        "method",
        "stage",
    ];
}

/// Each of `given` as a shield of type `T` (its serde names, Auth0's), once each, or a refusal
/// naming `field` and the `known` names (every `shields` of `/attack-protection/*`).
fn shields_of<T: PartialEq + serde::de::DeserializeOwned>(
    field: &str,
    given: &[String],
    known: &str,
) -> Result<Vec<T>, ManagementError> {
    let mut out = Vec::new();
    for name in given {
        let shield = serde_json::from_value::<T>(Value::String(name.clone())).map_err(|_| {
            ManagementError::body(field, format!("No enum match for: \"{name}\" ({known})"))
        })?;
        if !out.contains(&shield) {
            out.push(shield);
        }
    }
    Ok(out)
}

impl BreachedPatch {
    /// `settings` with the patch applied, or the first property it refuses.
    pub fn apply(
        &self,
        settings: &BreachedPasswordSettings,
    ) -> Result<BreachedPasswordSettings, ManagementError> {
        let mut next = settings.clone();
        if let Some(enabled) = self.enabled {
            next.enabled = enabled;
        }
        if let Some(shields) = &self.shields {
            next.shields = shields_of(
                "shields",
                shields,
                "block, user_notification, admin_notification",
            )?;
        }
        if let Some(frequency) = &self.admin_notification_frequency
            && frequency.iter().any(|f| f != "immediately")
        {
            return Err(ManagementError::body(
                "admin_notification_frequency",
                "Sigil sends administrators each notice at once and no digests: only \
                 [\"immediately\"] is accepted",
            ));
        }
        if let Some(method) = &self.method
            && method != "standard"
        {
            return Err(ManagementError::body(
                "method",
                format!("Sigil has only the standard method, not \"{method}\""),
            ));
        }
        for (name, value) in self.stage.iter().flatten() {
            let slot = match name.as_str() {
                "pre-user-registration" => &mut next.pre_user_registration,
                "pre-change-password" => &mut next.pre_change_password,
                other => {
                    return Err(ManagementError::body(
                        "stage",
                        format!(
                            "Additional properties not allowed: {other} (pre-user-registration, \
                             pre-change-password)"
                        ),
                    ));
                }
            };
            let field = format!("stage.{name}.shields");
            let given = match value {
                Value::Object(object) if object.keys().all(|k| k == "shields") => {
                    let Some(given) = object.get("shields") else {
                        continue;
                    };
                    given
                        .as_array()
                        .and_then(|given| {
                            given
                                .iter()
                                .map(|v| v.as_str().map(str::to_owned))
                                .collect::<Option<Vec<String>>>()
                        })
                        .ok_or_else(|| {
                            ManagementError::body(&field, "Expected an array of strings")
                        })?
                }
                _ => {
                    return Err(ManagementError::body(
                        &format!("stage.{name}"),
                        "Expected an object with shields only",
                    ));
                }
            };
            *slot = shields_of(&field, &given, "block, admin_notification")?;
        }
        Ok(next)
    }
}

/// `/attack-protection/bot-detection` as Sigil has it: nothing is ever challenged (every
/// `challenge_*_policy` is Auth0's `never`; the level, which only matters for a challenge, is
/// the lowest). Sigil scores no address's reputation and shows no CAPTCHA; a patch that keeps
/// these values is answered with them, one that would change any is refused by name.
pub fn bot_detection_json() -> Value {
    json!({
        "bot_detection_level": "low",
        "challenge_password_policy": "never",
        "challenge_passwordless_policy": "never",
        "challenge_password_reset_policy": "never",
        "allowlist": [],
        "monitoring_mode_enabled": false,
    })
}

/// `/attack-protection/captcha` as Sigil has it: no provider (Auth0's answer names none of
/// its providers' settings either).
pub fn captcha_json() -> Value {
    json!({})
}

/// Checks a bot-detection patch: only the values that keep it off are accepted.
pub fn check_bot_detection_patch(body: &Value) -> Result<(), ManagementError> {
    let Value::Object(object) = body else {
        return Err(ManagementError::InvalidBody(
            "Payload validation error: 'Expected type object but found another type'.".into(),
        ));
    };
    let off = bot_detection_json();
    for (key, value) in object {
        match off.get(key) {
            Some(expected) if expected == value || (key == "allowlist" && value.is_array()) => {}
            Some(_) => {
                return Err(ManagementError::body(
                    key,
                    "Sigil has no bot detection: it can only stay off",
                ));
            }
            None => {
                return Err(ManagementError::InvalidBody(format!(
                    "Payload validation error: 'Additional properties not allowed: {key}'."
                )));
            }
        }
    }
    Ok(())
}

/// Checks a CAPTCHA patch: only an empty one (or `active_provider_id: "none"`) is accepted.
pub fn check_captcha_patch(body: &Value) -> Result<(), ManagementError> {
    let Value::Object(object) = body else {
        return Err(ManagementError::InvalidBody(
            "Payload validation error: 'Expected type object but found another type'.".into(),
        ));
    };
    for (key, value) in object {
        if key == "active_provider_id" && value == "none" {
            continue;
        }
        return Err(ManagementError::body(
            key,
            "Sigil has no CAPTCHA provider (its pages run no third-party script): only \
             active_provider_id \"none\" is accepted",
        ));
    }
    Ok(())
}

/// `GET /user-blocks`' answer for `identifiers`: Auth0's `blocked_for`, the blocks in force
/// (with the connection's name; the address where counted per address). With
/// `consider_brute_force_enablement` and protection off, none.
pub async fn user_blocks(
    store: &impl Store,
    settings: &BruteForceSettings,
    identifiers: &[String],
    consider_enablement: bool,
    now: UnixTime,
) -> Result<Value, StoreError> {
    if consider_enablement && !settings.enabled {
        return Ok(json!({"blocked_for": []}));
    }
    let since = UnixTime(now.0 - BLOCK_LIFETIME);
    let rows = store
        .login_failures(identifiers, settings.max_attempts.max(1), since)
        .await?;
    let mut blocked = Vec::new();
    for row in rows {
        let connection = store.connection(&row.counter.connection_id).await?;
        let mut entry = json!({
            "identifier": row.counter.identifier,
            "connection": connection.map(|c| c.name),
        });
        if !row.counter.ip.is_empty() {
            entry["ip"] = row.counter.ip.into();
        }
        blocked.push(entry);
    }
    Ok(json!({ "blocked_for": blocked }))
}

/// A user's JSON with Auth0's `blocked_for` added when brute-force protection blocks them
/// somewhere (`GET /users/{id}`).
pub async fn with_blocked_for(
    store: &impl Store,
    settings: &BruteForceSettings,
    user: &User,
    mut json: Value,
    now: UnixTime,
) -> Result<Value, StoreError> {
    let blocks = user_blocks(store, settings, &identifiers_of(user), true, now).await?;
    if blocks["blocked_for"]
        .as_array()
        .is_some_and(|b| !b.is_empty())
    {
        json["blocked_for"] = blocks["blocked_for"].clone();
    }
    Ok(json)
}

/// `DELETE /user-blocks`: lifts every brute-force block of `identifiers` (logged `ublkdu`
/// when there was one).
pub async fn unblock(
    store: &impl Store,
    identifiers: &[String],
    user: Option<&User>,
    now: UnixTime,
) -> Result<(), StoreError> {
    let mut lifted = 0;
    for identifier in identifiers {
        lifted += store.clear_login_failures(None, identifier, None).await?;
    }
    if lifted > 0 {
        store
            .append_log(&NewLogEvent {
                user_id: user.map(|u| u.user_id.clone()),
                user_name: identifiers.first().cloned(),
                description: Some("Brute-force blocks lifted by an administrator".to_owned()),
                ..NewLogEvent::new(LogType::BLOCK_RELEASED, now)
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(body: &str) -> Result<BruteForceSettings, ManagementError> {
        super::super::parse_body::<BruteForcePatch>(body.as_bytes())?
            .apply(&BruteForceSettings::default())
    }

    #[test]
    fn a_patch_changes_what_it_names_and_refuses_what_auth0_refuses() {
        let changed = patch(
            r#"{"max_attempts": 3, "mode": "count_per_identifier", "allowlist": ["10.0.0.0/8"], "shields": ["block"]}"#,
        )
        .unwrap();
        assert_eq!(
            (
                changed.max_attempts,
                changed.mode,
                changed.shields.len(),
                changed.enabled
            ),
            (3, BruteForceMode::PerIdentifier, 1, true)
        );
        let json = brute_force_json(&changed);
        assert_eq!(json["mode"], "count_per_identifier");
        assert_eq!(json["shields"], json!(["block"]));
        for (what, body) in [
            ("zero", r#"{"max_attempts": 0}"#),
            ("too many", r#"{"max_attempts": 101}"#),
            ("a shield", r#"{"shields": ["captcha"]}"#),
            ("a mode", r#"{"mode": "count_per_ip"}"#),
            ("an address", r#"{"allowlist": ["10.0.0.300"]}"#),
            ("unknown", r#"{"form_submission_mode": "auto"}"#),
            ("null", r#"{"enabled": null}"#),
        ] {
            assert!(patch(body).is_err(), "{what}");
        }
    }
}
