//! The Management API's attack-protection part, Auth0's shapes:
//! `/attack-protection/brute-force-protection` (the settings, read and patched) and
//! `/user-blocks` (the brute-force blocks of an identifier or of a user, read and lifted).

use serde::Deserialize;
use serde_json::{Value, json};

use super::body::{Body, present};
use super::error::ManagementError;
pub use crate::attack_protection::brute_force::identifiers_of;
use crate::attack_protection::brute_force::{self, BLOCK_LIFETIME};
use crate::model::{
    BruteForceMode, BruteForceSettings, BruteForceShield, LogType, NewLogEvent, User,
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
            next.shields = Vec::new();
            for shield in shields {
                let parsed = match shield.as_str() {
                    "block" => BruteForceShield::Block,
                    "user_notification" => BruteForceShield::UserNotification,
                    other => {
                        return Err(ManagementError::body(
                            "shields",
                            format!("No enum match for: \"{other}\" (block, user_notification)"),
                        ));
                    }
                };
                if !next.shields.contains(&parsed) {
                    next.shields.push(parsed);
                }
            }
        }
        if let Some(allowlist) = &self.allowlist {
            if allowlist.len() > MAX_ALLOWLIST {
                return Err(ManagementError::body(
                    "allowlist",
                    format!("Array is too long (at most {MAX_ALLOWLIST} entries)"),
                ));
            }
            if let Some(bad) = allowlist
                .iter()
                .find(|e| brute_force::parse_allowed(e).is_none())
            {
                return Err(ManagementError::body(
                    "allowlist",
                    format!("\"{bad}\" is not an IP address or CIDR block"),
                ));
            }
            next.allowlist = allowlist.iter().map(|e| e.trim().to_owned()).collect();
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
