//! `/email-templates`: Auth0's template bodies (camelCase, as Auth0's), checked before they are
//! stored: a known name, Liquid syntax, a body that renders against every variable
//! (`crate::email_templates::check`), an http(s) `resultUrl`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::ManagementError;
use super::body::present;
use crate::email_templates;
use crate::model::{EmailTemplate, TemplateName};

/// The longest body, in bytes.
const BODY_BYTES: usize = 100_000;
/// The longest a link may be made to work: 30 days (as the tickets').
const MAX_LIFETIME: i64 = 30 * 86_400;

/// `POST /email-templates` (`template`, `body`, `subject` and `syntax` required), `PUT` (the
/// same, the name from the path) and `PATCH` (what is named replaces what is stored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplateBody {
    #[serde(default, deserialize_with = "present")]
    template: Option<String>,
    #[serde(default, deserialize_with = "present")]
    body: Option<String>,
    #[serde(default, deserialize_with = "present")]
    from: Option<String>,
    #[serde(default, deserialize_with = "present")]
    subject: Option<String>,
    #[serde(default, deserialize_with = "present")]
    syntax: Option<String>,
    #[serde(default, rename = "resultUrl")]
    result_url: Option<String>,
    /// A number (Auth0's SDKs may send `600.0`); whole seconds only.
    #[serde(default, rename = "urlLifetimeInSeconds")]
    url_lifetime_in_seconds: Option<f64>,
    #[serde(
        default,
        rename = "includeEmailInRedirect",
        deserialize_with = "present"
    )]
    include_email_in_redirect: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    enabled: Option<bool>,
}

impl super::Body for EmailTemplateBody {
    const FIELDS: &'static [&'static str] = &[
        "template",
        "body",
        "from",
        "subject",
        "syntax",
        "resultUrl",
        "urlLifetimeInSeconds",
        "includeEmailInRedirect",
        "enabled",
    ];
}

/// The template a path or body names; Auth0's names only.
pub fn template_name(name: &str) -> Result<TemplateName, ManagementError> {
    TemplateName::parse(name).ok_or_else(|| {
        let names: Vec<&str> = TemplateName::ALL.iter().map(|n| n.as_str()).collect();
        ManagementError::InvalidBody(format!(
            "Invalid template name '{name}': it must be one of {}",
            names.join(", ")
        ))
    })
}

impl EmailTemplateBody {
    /// The template a `POST` creates.
    pub fn create(self) -> Result<EmailTemplate, ManagementError> {
        let name = match &self.template {
            Some(name) => template_name(name)?,
            None => {
                return Err(ManagementError::body(
                    "template",
                    "Missing required property",
                ));
            }
        };
        self.whole(name)
    }

    /// The template a `PUT` to `name` writes whole.
    pub fn replace(self, name: TemplateName) -> Result<EmailTemplate, ManagementError> {
        if let Some(named) = &self.template
            && template_name(named)? != name
        {
            return Err(ManagementError::body(
                "template",
                format!("the body names {named}, the path {name}"),
            ));
        }
        self.whole(name)
    }

    fn whole(self, name: TemplateName) -> Result<EmailTemplate, ManagementError> {
        for (field, given) in [
            ("body", self.body.is_some()),
            ("subject", self.subject.is_some()),
            ("syntax", self.syntax.is_some()),
        ] {
            if !given {
                return Err(ManagementError::body(field, "Missing required property"));
            }
        }
        let mut template = EmailTemplate {
            name,
            body: String::new(),
            from: String::new(),
            subject: String::new(),
            result_url: None,
            url_lifetime_in_seconds: None,
            include_email_in_redirect: false,
            enabled: true,
        };
        self.apply(&mut template)?;
        Ok(template)
    }

    /// Applies the body to `template`, then checks that it renders.
    pub fn apply(self, template: &mut EmailTemplate) -> Result<(), ManagementError> {
        if let Some(named) = &self.template
            && template_name(named)? != template.name
        {
            return Err(ManagementError::body(
                "template",
                format!("the body names {named}, the path {}", template.name),
            ));
        }
        if let Some(syntax) = &self.syntax
            && syntax != "liquid"
        {
            return Err(ManagementError::body(
                "syntax",
                "No enum match for: must be 'liquid'",
            ));
        }
        if let Some(body) = self.body {
            if body.len() > BODY_BYTES {
                return Err(ManagementError::body("body", "must be at most 100 kB"));
            }
            template.body = body;
        }
        if let Some(subject) = self.subject {
            template.subject = subject;
        }
        if let Some(from) = self.from {
            template.from = from;
        }
        if let Some(url) = self.result_url {
            let valid = url::Url::parse(&url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !valid {
                return Err(ManagementError::body(
                    "resultUrl",
                    "must be an http or https URL",
                ));
            }
            template.result_url = Some(url);
        }
        if let Some(seconds) = self.url_lifetime_in_seconds {
            #[allow(clippy::cast_possible_truncation)] // whole and within range, checked first
            let whole = (seconds.fract() == 0.0 && (0.0..=MAX_LIFETIME as f64).contains(&seconds))
                .then_some(seconds as i64);
            let Some(seconds) = whole else {
                return Err(ManagementError::body(
                    "urlLifetimeInSeconds",
                    "must be whole seconds from 0 (the default, 5 days) to 2592000 (30 days)",
                ));
            };
            template.url_lifetime_in_seconds = Some(seconds).filter(|s| *s > 0);
        }
        if let Some(include) = self.include_email_in_redirect {
            template.include_email_in_redirect = include;
        }
        if let Some(enabled) = self.enabled {
            template.enabled = enabled;
        }
        email_templates::check(template).map_err(|why| ManagementError::body("body", why))
    }
}

/// A template as Auth0 shows it.
pub fn email_template_json(template: &EmailTemplate) -> Value {
    json!({
        "template": template.name.as_str(),
        "body": template.body,
        "from": template.from,
        "subject": template.subject,
        "syntax": "liquid",
        "resultUrl": template.result_url,
        "urlLifetimeInSeconds": template.url_lifetime_in_seconds,
        "includeEmailInRedirect": template.include_email_in_redirect,
        "enabled": template.enabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;

    fn create(body: Value) -> Result<EmailTemplate, ManagementError> {
        parse_body::<EmailTemplateBody>(body.to_string().as_bytes())?.create()
    }

    fn with_lifetime(body: &Value, seconds: Value) -> Value {
        let mut body = body.clone();
        body["urlLifetimeInSeconds"] = seconds;
        body
    }

    #[test]
    fn bodies_are_checked_before_they_are_stored() {
        let good = json!({"template": "verify_email", "body": "<a href=\"{{ url }}\">{{ user.email }}</a>",
                          "subject": "Verify", "syntax": "liquid", "from": "login@example.com",
                          "resultUrl": "https://app.example.com/done", "urlLifetimeInSeconds": 600,
                          "includeEmailInRedirect": true});
        let template = create(good.clone()).unwrap();
        assert_eq!(
            create(with_lifetime(&good, json!(600.0))).unwrap(),
            template
        );
        assert_eq!(
            (
                template.name,
                template.url_lifetime_in_seconds,
                template.enabled
            ),
            (TemplateName::VerifyEmail, Some(600), true)
        );
        assert_eq!(
            email_template_json(&template)["resultUrl"],
            "https://app.example.com/done"
        );
        let with = |key: &str, value: Value| {
            let mut body = good.clone();
            body[key] = value;
            body
        };
        for (body, property) in [
            (with("template", json!("goodbye_email")), "goodbye_email"),
            (with("syntax", json!("handlebars")), "syntax"),
            (with("body", json!("{% if %}")), "body"),
            (with("body", json!("{{ user.shoe_size }}")), "body"),
            (with("resultUrl", json!("javascript:alert(1)")), "resultUrl"),
            (
                with("urlLifetimeInSeconds", json!(-1)),
                "urlLifetimeInSeconds",
            ),
            (
                json!({"template": "verify_email", "subject": "s", "syntax": "liquid"}),
                "body",
            ),
        ] {
            let refusal = create(body.clone()).unwrap_err();
            assert!(refusal.to_string().contains(property), "{body}: {refusal}");
        }
    }

    #[test]
    fn put_and_patch_keep_to_their_name() {
        let body: EmailTemplateBody = parse_body(
            json!({"template": "reset_email", "body": "x", "subject": "s", "syntax": "liquid"})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert!(body.replace(TemplateName::VerifyEmail).is_err());
        let mut stored = create(
            json!({"template": "welcome_email", "body": "hi", "subject": "s",
                                       "syntax": "liquid"}),
        )
        .unwrap();
        let patch: EmailTemplateBody = parse_body(
            json!({"enabled": false, "urlLifetimeInSeconds": 0})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        patch.apply(&mut stored).unwrap();
        assert_eq!(
            (
                stored.enabled,
                stored.url_lifetime_in_seconds,
                stored.body.as_str()
            ),
            (false, None, "hi")
        );
    }
}
