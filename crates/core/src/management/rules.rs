//! `/rules` and `/rules-configs`, legacy Rules in Auth0's shapes: what a body may say, what a
//! Rule looks like on the wire, and the rules-configs keys. The script is built (it must be one
//! function) by the caller, on the Actions engine.

use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::ManagementError;
use crate::clock::Rng;
use crate::ids::RuleId;
use crate::model::{Rule, RulesConfig};

/// The longest script, in bytes (Auth0's limit on an Action's code).
const SCRIPT_BYTES: usize = 100_000;
/// The longest rules-config value, in bytes.
const VALUE_BYTES: usize = 4096;

/// `POST /rules`, and `PATCH /rules/{id}` (where what is named is replaced).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    name: Option<String>,
    script: Option<String>,
    order: Option<i64>,
    enabled: Option<bool>,
    /// Auth0's legacy stage: `login_success` only.
    stage: Option<String>,
}

impl super::Body for RuleBody {
    const FIELDS: &'static [&'static str] = &["name", "script", "order", "enabled", "stage"];
}

impl RuleBody {
    /// The script this body sets, to build before anything is stored.
    pub fn script(&self) -> Option<&str> {
        self.script.as_deref()
    }

    /// A new Rule from this body: `name` and `script` required; `order` after the others
    /// (`next_order`) unless given; enabled unless `enabled: false`.
    pub fn create(
        self,
        rng: &dyn Rng,
        now: crate::UnixTime,
        next_order: i64,
    ) -> Result<Rule, ManagementError> {
        let mut rule = Rule {
            id: RuleId::generate(rng),
            name: String::new(),
            script: String::new(),
            order: next_order,
            enabled: true,
            created_at: now,
            updated_at: now,
        };
        if self.name.is_none() {
            return Err(ManagementError::body("name", "Missing required property"));
        }
        if self.script.is_none() {
            return Err(ManagementError::body("script", "Missing required property"));
        }
        self.apply(&mut rule, now)?;
        Ok(rule)
    }

    /// Applies this body to `rule`, checking each value.
    pub fn apply(self, rule: &mut Rule, now: crate::UnixTime) -> Result<(), ManagementError> {
        if let Some(name) = self.name {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
                return Err(ManagementError::body(
                    "name",
                    "must be 1 to 255 characters, none of them control characters",
                ));
            }
            rule.name = name;
        }
        if let Some(script) = self.script {
            if script.trim().is_empty() || script.len() > SCRIPT_BYTES {
                return Err(ManagementError::body(
                    "script",
                    "must be a function (user, context, callback) of at most 100 kB",
                ));
            }
            rule.script = script;
        }
        if let Some(order) = self.order {
            if order < 0 {
                return Err(ManagementError::body("order", "must be 0 or more"));
            }
            rule.order = order;
        }
        if let Some(enabled) = self.enabled {
            rule.enabled = enabled;
        }
        if let Some(stage) = self.stage
            && stage != "login_success"
        {
            return Err(ManagementError::body(
                "stage",
                "Sigil runs rules at login_success only",
            ));
        }
        rule.updated_at = now;
        Ok(())
    }
}

/// A Rule as Auth0 shows it.
pub fn rule_json(rule: &Rule) -> Value {
    json!({
        "id": rule.id.as_str(),
        "name": rule.name,
        "script": rule.script,
        "order": rule.order,
        "enabled": rule.enabled,
        "stage": "login_success",
    })
}

/// `PUT /rules-configs/{key}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigBody {
    value: Option<String>,
}

impl super::Body for ConfigBody {
    const FIELDS: &'static [&'static str] = &["value"];
}

/// Auth0's rule for rules-config keys: 1 to 127 of letters, digits and `_-@*+:`.
pub fn check_key(key: &str) -> Result<(), ManagementError> {
    let ok = !key.is_empty()
        && key.len() <= 127
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-@*+:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ManagementError::InvalidBody(format!(
            "Path validation error: 'String does not match pattern ^[A-Za-z0-9_\\-@*+:]*$ \
             (1 to 127 characters)' on property key ({key})."
        )))
    }
}

impl ConfigBody {
    /// The config this body sets at `key`.
    pub fn config(self, key: &str) -> Result<RulesConfig, ManagementError> {
        check_key(key)?;
        let value = self
            .value
            .ok_or_else(|| ManagementError::body("value", "Missing required property"))?;
        if value.is_empty() || value.len() > VALUE_BYTES {
            return Err(ManagementError::body("value", "must be 1 to 4096 bytes"));
        }
        Ok(RulesConfig {
            key: key.to_owned(),
            value: Zeroizing::new(value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;
    use crate::{SystemRng, UnixTime};

    #[test]
    fn rule_bodies_apply_or_are_refused_naming_the_property() {
        for (body, outcome) in [
            (
                r#"{"name":"roles","script":"function (u, c, cb) { cb(null, u, c); }"}"#,
                Ok((3, true)),
            ),
            (
                r#"{"name":"r","script":"x","order":1,"enabled":false}"#,
                Ok((1, false)),
            ),
            (
                r#"{"name":"r","script":"x","stage":"login_success"}"#,
                Ok((3, true)),
            ),
            (r#"{"script":"x"}"#, Err("name")),
            (r#"{"name":"r"}"#, Err("script")),
            (r#"{"name":" ","script":"x"}"#, Err("name")),
            (r#"{"name":"r","script":"x","order":-1}"#, Err("order")),
            (
                r#"{"name":"r","script":"x","stage":"pre_authorize"}"#,
                Err("stage"),
            ),
            (r#"{"name":"r","script":"x","id":"rul_1"}"#, Err("id")),
        ] {
            let result = parse_body::<RuleBody>(body.as_bytes())
                .and_then(|b| b.create(&SystemRng, UnixTime(1000), 3));
            match (result, outcome) {
                (Ok(rule), Ok((order, enabled))) => {
                    assert_eq!((rule.order, rule.enabled), (order, enabled), "{body}");
                    assert!(rule.id.as_str().starts_with("rul_"));
                }
                (Err(e), Err(field)) => {
                    assert!(e.parts().2.contains(field), "{body}: {}", e.parts().2)
                }
                (got, want) => panic!("{body}: {got:?}, wanted {want:?}"),
            }
        }
        for (key, ok) in [
            ("API_KEY", true),
            ("a:b@c*d+e-f", true),
            ("", false),
            ("a b", false),
            ("é", false),
        ] {
            assert_eq!(check_key(key).is_ok(), ok, "{key:?}");
        }
    }
}
