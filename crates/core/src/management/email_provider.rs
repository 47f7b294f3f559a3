//! `/emails/provider`: the tenant's mail provider in Auth0's shape. Sigil speaks SMTP, so
//! `smtp` is the one provider name accepted; the others Auth0 knows (`sendgrid`, `ses`, …)
//! are refused by name. `credentials.smtp_pass` is write-only: no answer ever carries it.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::ManagementError;
use super::body::present;
use crate::model::{EmailProvider, SmtpCredentials};

/// The provider names Auth0 has that Sigil does not speak.
const OTHER_PROVIDERS: &[&str] = &[
    "mailgun",
    "mandrill",
    "sendgrid",
    "resend",
    "ses",
    "sparkpost",
    "azure_cs",
    "ms365",
    "custom",
];

/// Headers Sigil writes itself, which `settings.headers` may not set.
const OWN_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// `POST /emails/provider` (all of `name` and `credentials` required) and `PATCH` (what is
/// named replaces what is stored; credentials one by one, so a password need not be resent).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailProviderBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    default_from_address: Option<String>,
    /// Read once the name is known to be `smtp`, so that another provider's credentials are
    /// refused for the provider, not for their fields.
    #[serde(default, deserialize_with = "present")]
    credentials: Option<Map<String, Value>>,
    /// `null` is allowed, as Auth0's: no settings.
    #[serde(default)]
    settings: Option<SettingsBody>,
}

impl super::Body for EmailProviderBody {
    const FIELDS: &'static [&'static str] = &[
        "name",
        "enabled",
        "default_from_address",
        "credentials",
        "settings",
    ];
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsBody {
    #[serde(default, deserialize_with = "present")]
    smtp_host: Option<String>,
    #[serde(default, deserialize_with = "present")]
    smtp_port: Option<u16>,
    #[serde(default, deserialize_with = "present")]
    smtp_user: Option<String>,
    #[serde(default, deserialize_with = "present")]
    smtp_pass: Option<String>,
}

impl CredentialsBody {
    fn read(credentials: &Map<String, Value>) -> Result<Self, ManagementError> {
        if let Some(other) = credentials
            .keys()
            .find(|k| !["smtp_host", "smtp_port", "smtp_user", "smtp_pass"].contains(&k.as_str()))
        {
            return Err(ManagementError::body(
                &format!("credentials.{other}"),
                "Additional properties not allowed: smtp takes smtp_host, smtp_port, smtp_user and smtp_pass",
            ));
        }
        for (key, value) in credentials {
            let single = Value::Object([(key.clone(), value.clone())].into_iter().collect());
            if let Err(e) = serde_json::from_value::<CredentialsBody>(single) {
                return Err(ManagementError::body(&format!("credentials.{key}"), e));
            }
        }
        serde_json::from_value(Value::Object(credentials.clone()))
            .map_err(|e| ManagementError::body("credentials", e))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    #[serde(default)]
    headers: Option<Map<String, Value>>,
}

impl EmailProviderBody {
    /// The provider a `POST` configures.
    pub fn create(self) -> Result<EmailProvider, ManagementError> {
        let Some(name) = &self.name else {
            return Err(ManagementError::body("name", "Missing required property"));
        };
        check_name(name)?;
        let Some(credentials) = &self.credentials else {
            return Err(ManagementError::body(
                "credentials",
                "Missing required property",
            ));
        };
        let credentials = CredentialsBody::read(credentials)?;
        for (field, given) in [
            ("smtp_host", credentials.smtp_host.is_some()),
            ("smtp_port", credentials.smtp_port.is_some()),
            ("smtp_user", credentials.smtp_user.is_some()),
            ("smtp_pass", credentials.smtp_pass.is_some()),
        ] {
            if !given {
                return Err(ManagementError::body(
                    &format!("credentials.{field}"),
                    "Missing required property",
                ));
            }
        }
        let mut provider = EmailProvider {
            name: name.clone(),
            enabled: true,
            default_from_address: None,
            smtp: SmtpCredentials {
                host: String::new(),
                port: 0,
                user: String::new(),
                pass: Zeroizing::new(String::new()),
            },
            headers: Vec::new(),
        };
        self.apply(&mut provider)?;
        Ok(provider)
    }

    /// Applies a `PATCH` to the stored provider.
    pub fn apply(self, provider: &mut EmailProvider) -> Result<(), ManagementError> {
        if let Some(name) = self.name {
            check_name(&name)?;
            provider.name = name;
        }
        if let Some(enabled) = self.enabled {
            provider.enabled = enabled;
        }
        if let Some(from) = self.default_from_address {
            provider.default_from_address = Some(check_address(&from)?);
        }
        if let Some(credentials) = &self.credentials {
            let credentials = CredentialsBody::read(credentials)?;
            if let Some(host) = credentials.smtp_host {
                let host = host.trim();
                if host.is_empty()
                    || host.len() > 253
                    || host
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "/@?#".contains(c))
                {
                    return Err(ManagementError::body(
                        "credentials.smtp_host",
                        "must be a host name or an IP address",
                    ));
                }
                provider.smtp.host = host.to_owned();
            }
            if let Some(port) = credentials.smtp_port {
                if port == 0 {
                    return Err(ManagementError::body(
                        "credentials.smtp_port",
                        "must be a port from 1 to 65535",
                    ));
                }
                provider.smtp.port = port;
            }
            if let Some(user) = credentials.smtp_user {
                if user.chars().any(char::is_control) {
                    return Err(ManagementError::body(
                        "credentials.smtp_user",
                        "must not contain control characters",
                    ));
                }
                provider.smtp.user = user;
            }
            if let Some(pass) = credentials.smtp_pass {
                provider.smtp.pass = Zeroizing::new(pass);
            }
        }
        if let Some(settings) = self.settings {
            provider.headers = check_headers(settings.headers.unwrap_or_default())?;
        }
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), ManagementError> {
    if name == "smtp" {
        Ok(())
    } else if OTHER_PROVIDERS.contains(&name) {
        Err(ManagementError::body(
            "name",
            format!(
                "Sigil sends mail over SMTP only, not through '{name}'; use the name 'smtp' with that service's SMTP relay"
            ),
        ))
    } else {
        Err(ManagementError::body(
            "name",
            "No enum match for: the name must be 'smtp'",
        ))
    }
}

/// A bare address (`noreply@example.com`): one `@` with something on both sides, nothing a
/// header could be broken with.
fn check_address(address: &str) -> Result<String, ManagementError> {
    let address = address.trim();
    let valid = address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !address
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c));
    if valid {
        Ok(address.to_owned())
    } else {
        Err(ManagementError::body(
            "default_from_address",
            "Object didn't pass validation for format email",
        ))
    }
}

fn check_headers(headers: Map<String, Value>) -> Result<Vec<(String, String)>, ManagementError> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let field = format!("settings.headers.{name}");
            let valid_name = !name.is_empty()
                && name.len() <= 76
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid_name {
                return Err(ManagementError::body(
                    &field,
                    "a header name is letters, digits and dashes",
                ));
            }
            if OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(ManagementError::body(
                    &field,
                    "Sigil sets this header itself",
                ));
            }
            match value {
                Value::String(value)
                    if value.len() <= 998 && !value.chars().any(char::is_control) =>
                {
                    Ok((name, value))
                }
                _ => Err(ManagementError::body(
                    &field,
                    "a header value is a string of at most 998 characters, on one line",
                )),
            }
        })
        .collect()
}

/// The provider as Auth0 shows it: never the password.
pub fn email_provider_json(provider: &EmailProvider) -> Value {
    let headers: Map<String, Value> = provider
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    let mut body = json!({
        "name": provider.name,
        "enabled": provider.enabled,
        "credentials": {
            "smtp_host": provider.smtp.host,
            "smtp_port": provider.smtp.port,
            "smtp_user": provider.smtp.user,
        },
        "settings": { "headers": headers },
    });
    if let (Some(from), Some(object)) = (&provider.default_from_address, body.as_object_mut()) {
        object.insert("default_from_address".into(), Value::String(from.clone()));
    }
    body
}

/// Auth0's `GET` projection: an empty or absent `fields` shows `name` and `enabled` only;
/// otherwise `fields` keeps (or, with `include_fields=false`, drops) the properties named.
pub fn project_provider(value: Value, fields: Option<&str>, include_fields: Option<bool>) -> Value {
    let names: Vec<&str> = fields
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let Value::Object(object) = value else {
        return value;
    };
    let keep: Box<dyn Fn(&str) -> bool> = if names.is_empty() {
        Box::new(|k| k == "name" || k == "enabled")
    } else if include_fields.unwrap_or(true) {
        Box::new(|k| names.contains(&k))
    } else {
        Box::new(|k| !names.contains(&k))
    };
    Value::Object(object.into_iter().filter(|(k, _)| keep(k)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;

    fn create(body: Value) -> Result<EmailProvider, ManagementError> {
        parse_body::<EmailProviderBody>(body.to_string().as_bytes())?.create()
    }

    fn smtp() -> Value {
        json!({"name": "smtp", "credentials": {
            "smtp_host": "mail.example.com", "smtp_port": 587,
            "smtp_user": "sigil", "smtp_pass": "s3cret"}})
    }

    #[test]
    fn a_complete_smtp_provider_is_created_and_never_shows_its_password() {
        let provider = create(smtp()).unwrap();
        assert!(provider.enabled);
        assert_eq!(provider.smtp.port, 587);
        assert_eq!(provider.smtp.pass.as_str(), "s3cret");
        let shown = email_provider_json(&provider);
        assert!(!shown.to_string().contains("s3cret"), "{shown}");
        assert!(!format!("{provider:?}").contains("s3cret"));
        assert_eq!(
            project_provider(shown.clone(), None, None),
            json!({"name": "smtp", "enabled": true})
        );
        assert_eq!(
            project_provider(shown, Some("credentials"), Some(true))["credentials"]["smtp_host"],
            "mail.example.com"
        );
    }

    #[test]
    fn refusals_name_the_property() {
        let mut missing_pass = smtp();
        missing_pass["credentials"]
            .as_object_mut()
            .unwrap()
            .remove("smtp_pass");
        let mut bad_from = smtp();
        bad_from["default_from_address"] = json!("a@b.c\r\nBcc: x@y.z");
        let mut own_header = smtp();
        own_header["settings"] = json!({"headers": {"Subject": "x"}});
        let mut port_zero = smtp();
        port_zero["credentials"]["smtp_port"] = json!(0);
        let cases = [
            (
                json!({"name": "sendgrid", "credentials": {"api_key": "k"}}),
                "name",
            ),
            (json!({"name": "postal", "credentials": {}}), "name"),
            (json!({"credentials": {}}), "name"),
            (json!({"name": "smtp"}), "credentials"),
            (missing_pass, "credentials.smtp_pass"),
            (bad_from, "default_from_address"),
            (own_header, "settings.headers.Subject"),
            (port_zero, "credentials.smtp_port"),
        ];
        for (body, property) in cases {
            let refusal = create(body.clone()).unwrap_err();
            assert!(refusal.to_string().contains(property), "{body}: {refusal}");
            assert_eq!(refusal.status(), 400);
        }
    }

    #[test]
    fn a_patch_keeps_the_password_it_does_not_name() {
        let mut provider = create(smtp()).unwrap();
        let patch: EmailProviderBody = parse_body(
            json!({"enabled": false, "credentials": {"smtp_port": 465},
                   "settings": {"headers": {"X-Tag": "login"}}})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        patch.apply(&mut provider).unwrap();
        assert!(!provider.enabled);
        assert_eq!(provider.smtp.port, 465);
        assert_eq!(provider.smtp.pass.as_str(), "s3cret");
        assert_eq!(provider.headers, [("X-Tag".to_owned(), "login".to_owned())]);
    }
}
