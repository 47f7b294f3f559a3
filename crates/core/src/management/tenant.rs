//! `PATCH /tenants/settings`: what may change and how (Auth0's property names; `flags` merged
//! one by one; the issuer is fixed at `sigil init` and is not a property here).

use serde::Deserialize;

use super::ManagementError;
use crate::model::TenantSettings;

/// The patchable settings. Absent properties stay as they are; `null` clears the optional ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    friendly_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    picture_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    support_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    default_audience: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    default_directory: Option<Option<String>>,
    session_lifetime: Option<u32>,
    idle_session_lifetime: Option<u32>,
    allowed_logout_urls: Option<Vec<String>>,
    flags: Option<FlagsPatch>,
    actions_egress: Option<Vec<String>>,
}

/// Tenant flags, each optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagsPatch {
    allow_legacy_tokeninfo_endpoint: Option<bool>,
    allow_legacy_delegation_grant_types: Option<bool>,
    allow_legacy_ro_grant_types: Option<bool>,
    disable_signup: Option<bool>,
}

/// `Some(None)` for an explicit `null`, `Some(Some(v))` for a value, `None` when absent.
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The longest session Auth0 allows: 365 days, in hours.
const MAX_SESSION_HOURS: u32 = 8760;

impl TenantPatch {
    /// The default audience this patch sets, if any, for the caller to check it names an API.
    pub fn default_audience(&self) -> Option<&str> {
        self.default_audience.as_ref().and_then(|a| a.as_deref())
    }

    /// Applies the patch to `settings`, refusing values that cannot work (400 naming the
    /// property): an empty name, lifetimes of 0 or over a year, an idle lifetime longer than
    /// the session's, logout URLs that are not absolute http(s) URLs.
    pub fn apply(self, settings: &mut TenantSettings) -> Result<(), ManagementError> {
        let bad = |field: &str, what: &str| ManagementError::body(field, what);
        if let Some(name) = self.friendly_name {
            if name.trim().is_empty() {
                return Err(bad("friendly_name", "must not be empty"));
            }
            settings.friendly_name = name;
        }
        if let Some(v) = self.picture_url {
            settings.picture_url = v;
        }
        if let Some(v) = self.support_email {
            settings.support_email = v;
        }
        if let Some(v) = self.default_audience {
            settings.default_audience = v;
        }
        if let Some(v) = self.default_directory {
            settings.default_directory = v;
        }
        if let Some(hours) = self.session_lifetime {
            settings.session_lifetime = hours;
        }
        if let Some(hours) = self.idle_session_lifetime {
            settings.idle_session_lifetime = hours;
        }
        for (field, hours) in [
            ("session_lifetime", settings.session_lifetime),
            ("idle_session_lifetime", settings.idle_session_lifetime),
        ] {
            if !(1..=MAX_SESSION_HOURS).contains(&hours) {
                return Err(bad(field, "must be between 1 and 8760 hours"));
            }
        }
        if settings.idle_session_lifetime > settings.session_lifetime {
            return Err(bad(
                "idle_session_lifetime",
                "must not be longer than session_lifetime",
            ));
        }
        if let Some(urls) = self.allowed_logout_urls {
            if let Some(url) = urls.iter().find(|u| {
                !(u.starts_with("https://") || u.starts_with("http://")) || u.contains(' ')
            }) {
                return Err(bad(
                    "allowed_logout_urls",
                    &format!("{url} is not an absolute http(s) URL"),
                ));
            }
            settings.allowed_logout_urls = urls;
        }
        if let Some(list) = self.actions_egress {
            crate::egress::parse_patterns(&list)
                .map_err(|e| bad("actions_egress", &e.to_string()))?;
            settings.actions_egress = list.iter().map(|p| p.trim().to_owned()).collect();
        }
        if let Some(flags) = self.flags {
            let f = &mut settings.flags;
            for (slot, value) in [
                (
                    &mut f.allow_legacy_tokeninfo_endpoint,
                    flags.allow_legacy_tokeninfo_endpoint,
                ),
                (
                    &mut f.allow_legacy_delegation_grant_types,
                    flags.allow_legacy_delegation_grant_types,
                ),
                (
                    &mut f.allow_legacy_ro_grant_types,
                    flags.allow_legacy_ro_grant_types,
                ),
                (&mut f.disable_signup, flags.disable_signup),
            ] {
                if let Some(value) = value {
                    *slot = value;
                }
            }
        }
        Ok(())
    }
}

impl super::Body for TenantPatch {
    const FIELDS: &'static [&'static str] = &[
        "friendly_name",
        "picture_url",
        "support_email",
        "default_audience",
        "default_directory",
        "session_lifetime",
        "idle_session_lifetime",
        "allowed_logout_urls",
        "flags",
        "actions_egress",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;

    #[test]
    fn patches_apply_or_are_refused_naming_the_property() {
        for (body, outcome) in [
            (r#"{"friendly_name":"Acme"}"#, Ok("Acme")),
            (
                r#"{"flags":{"allow_legacy_tokeninfo_endpoint":true}}"#,
                Ok("Sigil"),
            ),
            (r#"{"picture_url":null}"#, Ok("Sigil")),
            (r#"{"friendly_name":" "}"#, Err("friendly_name")),
            (r#"{"session_lifetime":0}"#, Err("session_lifetime")),
            (
                r#"{"idle_session_lifetime":200}"#,
                Err("idle_session_lifetime"),
            ),
            (
                r#"{"allowed_logout_urls":["/relative"]}"#,
                Err("allowed_logout_urls"),
            ),
            (r#"{"issuer":"https://evil/"}"#, Err("issuer")),
            (r#"{"flags":{"enable_sso":true}}"#, Err("enable_sso")),
            (
                r#"{"actions_egress":["api.example.com","*.example.org"]}"#,
                Ok("Sigil"),
            ),
            (
                r#"{"actions_egress":["api.example.com","10.0.0.0/8"]}"#,
                Err("actions_egress"),
            ),
        ] {
            let mut settings = TenantSettings {
                picture_url: Some("https://logo".to_owned()),
                ..TenantSettings::default()
            };
            let result =
                parse_body::<TenantPatch>(body.as_bytes()).and_then(|p| p.apply(&mut settings));
            match (result, outcome) {
                (Ok(()), Ok(name)) => assert_eq!(settings.friendly_name, name, "{body}"),
                (Err(e), Err(field)) => {
                    assert!(e.parts().2.contains(field), "{body}: {}", e.parts().2)
                }
                (got, want) => panic!("{body}: {got:?}, wanted {want:?}"),
            }
            if body.contains("tokeninfo") {
                assert!(settings.flags.allow_legacy_tokeninfo_endpoint);
                assert!(!settings.flags.allow_legacy_delegation_grant_types);
            }
            if body.contains("picture_url") {
                assert_eq!(settings.picture_url, None);
            }
            if body.contains("example.org") {
                assert_eq!(
                    settings.actions_egress,
                    ["api.example.com", "*.example.org"]
                );
            }
        }
    }
}
