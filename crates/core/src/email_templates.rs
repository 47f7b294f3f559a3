//! Mail from templates, as Auth0 writes it: Liquid (the language Auth0's templates are in, so
//! an operator can paste theirs), with Auth0's variables (`user.*`, `application.*`,
//! `connection.name`, `tenant`, `friendly_name`, `support_email`, `url`, `code`, …).
//!
//! - The tenant's template (`/api/v2/email-templates/{name}`), when it is enabled; else
//!   Sigil's own for the mails it sends (`verify_email`, `reset_email`, `auth_email_by_code`,
//!   `mfa_oob_code`, `enrollment_email`, `blocked_account`: HTML with the tenant's logo and colour, and a
//!   plain-text version); a mail with neither (`welcome_email` until the tenant writes one)
//!   is not sent.
//! - Every value is HTML-escaped before the body sees it, so a user's name cannot inject
//!   markup; Auth0's advice to write `{{ user.name | escape }}` still works, since `escape`
//!   here never escapes twice. The subject and the sender are not HTML and see the values as
//!   they are, on one line.
//! - The text alternative of a tenant's template is its HTML rendered as text (`html2text`).
//! - A template is checked when it is saved: it must parse and render against a sample of
//!   every variable. One that still fails when a mail is sent falls back to Sigil's own.

use std::sync::OnceLock;

use liquid_core::{Display_filter, Filter, FilterReflection, ParseFilter, Runtime};
use liquid_core::{Value as LiquidValue, ValueView};
use serde_json::{Value, json};

use crate::UnixTime;
use crate::model::{Client, EmailTemplate, OutgoingEmail, TemplateName, TenantSettings, User};
use crate::store::{Store, StoreError};

/// The primary colour of Sigil's own templates when the tenant's branding names none.
const DEFAULT_PRIMARY: &str = "#0059d6";

/// Sigil's own template for `name`: subject, HTML body, text body.
fn built_in(name: TemplateName) -> Option<(&'static str, &'static str, &'static str)> {
    match name {
        TemplateName::VerifyEmail => Some((
            "Verify your email",
            include_str!("email_templates/verify_email.html"),
            include_str!("email_templates/verify_email.txt"),
        )),
        TemplateName::ResetEmail => Some((
            "Reset your password",
            include_str!("email_templates/reset_email.html"),
            include_str!("email_templates/reset_email.txt"),
        )),
        TemplateName::AuthEmailByCode => Some(PASSWORDLESS),
        TemplateName::BlockedAccount => Some((
            "Your account was blocked",
            include_str!("email_templates/blocked_account.html"),
            include_str!("email_templates/blocked_account.txt"),
        )),
        TemplateName::EnrollmentEmail => Some((
            "Set up multi-factor authentication",
            include_str!("email_templates/enrollment_email.html"),
            include_str!("email_templates/enrollment_email.txt"),
        )),
        TemplateName::MfaOobCode => Some((
            "Your verification code is {{ code }}",
            include_str!("email_templates/mfa_oob_code.html"),
            include_str!("email_templates/mfa_oob_code.txt"),
        )),
        _ => None,
    }
}

/// Sigil's own passwordless mail: a code, or a magic link.
const PASSWORDLESS: (&str, &str, &str) = (
    "{% if send == \"link\" %}Your login link{% else %}Your code is {{ code }}{% endif %}\
     {% if application.name %} for {{ application.name }}{% endif %}",
    include_str!("email_templates/auth_email_by_code.html"),
    include_str!("email_templates/auth_email_by_code.txt"),
);

/// The facts a mail's variables are made of.
#[derive(Clone, Copy, Debug)]
pub struct Letter<'a> {
    /// To whom.
    pub user: &'a User,
    /// The tenant (name, support address, branding).
    pub tenant: &'a TenantSettings,
    /// The application the user came from, when one is known.
    pub application: Option<&'a Client>,
    /// The user's connection's name.
    pub connection: Option<&'a str>,
    /// The link the mail carries.
    pub url: Option<&'a str>,
    /// The code the mail carries.
    pub code: Option<&'a str>,
    /// How long the link or code works, in seconds, when the mail says.
    pub lifetime: Option<i64>,
}

impl Letter<'_> {
    /// The variables, as Auth0 names them.
    fn variables(&self) -> Value {
        let user = self.user;
        // Objects even when unknown, with Auth0's members null, so that a template naming
        // `application.name` or `organization.name` renders for every mail.
        let application = self.application.map_or_else(
            || json!({"name": null, "clientID": null, "client_id": null, "client_metadata": {}}),
            |client| {
                json!({
                    "name": client.name,
                    "clientID": client.client_id.as_str(),
                    "client_id": client.client_id.as_str(),
                    "client_metadata": client.settings.client_metadata,
                })
            },
        );
        json!({
            "user": {
                "user_id": user.user_id.to_string(),
                "email": user.email,
                "email_verified": user.email_verified,
                "username": user.username,
                "name": user.name,
                "nickname": user.nickname,
                "given_name": user.given_name,
                "family_name": user.family_name,
                "picture": user.picture,
                "user_metadata": user.user_metadata,
                "app_metadata": user.app_metadata,
            },
            "application": application,
            "connection": { "name": self.connection },
            "organization": {
                "id": null, "name": null, "display_name": null, "metadata": {},
                "branding": {"logo_url": null, "colors": {"primary": null, "page_background": null}},
            },
            "tenant": self.tenant.friendly_name,
            "friendly_name": self.tenant.friendly_name,
            "support_email": self.tenant.support_email,
            "support_url": Value::Null,
            "request_language": "en",
            "operation": Value::Null,
            "url": self.url,
            "code": self.code,
            // A passwordless mail's: its link (`url` too), and which of the two it sends.
            "link": self.url,
            "send": if self.url.is_some() { "link" } else { "code" },
            "lifetime": self.lifetime.map(duration_words),
            "branding": {
                "logo_url": self.tenant.branding.logo_url,
                "colors": {
                    "primary": self.tenant.branding.colors.primary.as_deref()
                        .unwrap_or(DEFAULT_PRIMARY),
                },
            },
        })
    }
}

/// The template a mail is written with: the tenant's, or Sigil's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    name: TemplateName,
    subject: String,
    html: String,
    /// Sigil's own templates have a text version; a tenant's is derived from its HTML.
    text: Option<String>,
    from: Option<String>,
    result_url: Option<String>,
    url_lifetime: Option<i64>,
    include_email_in_redirect: bool,
}

impl Template {
    /// Sigil's own template for `name`, if it has one.
    pub fn built_in(name: TemplateName) -> Option<Self> {
        built_in(name).map(|parts| Template::own(name, parts))
    }

    /// Sigil's own template `name` of these parts: subject, HTML body, text body.
    fn own(name: TemplateName, (subject, html, text): (&str, &str, &str)) -> Self {
        Template {
            name,
            subject: subject.to_owned(),
            html: html.to_owned(),
            text: Some(text.to_owned()),
            from: None,
            result_url: None,
            url_lifetime: None,
            include_email_in_redirect: false,
        }
    }

    /// The template of a passwordless connection's mail: the connection's own (`options.email`),
    /// each part it leaves out Sigil's.
    pub fn passwordless(own: &crate::passwordless::EmailMessage) -> Self {
        let mut template = Template::own(TemplateName::AuthEmailByCode, PASSWORDLESS);
        if let Some(body) = &own.body {
            template.html.clone_from(body);
            template.text = None;
        }
        if let Some(subject) = &own.subject {
            template.subject.clone_from(subject);
        }
        template.from.clone_from(&own.from);
        template
    }

    /// Whether each part parses and renders against a sample of every variable; the error
    /// says which part and why.
    pub fn checked(&self) -> Result<(), String> {
        let variables = sample_letter_variables();
        let parts = [
            ("body", Some(&self.html)),
            ("text", self.text.as_ref()),
            ("subject", Some(&self.subject)),
            ("from", self.from.as_ref()),
        ];
        for (part, text) in parts {
            if let Some(text) = text {
                render(text, &variables).map_err(|e| format!("the {part} does not render: {e}"))?;
            }
        }
        Ok(())
    }

    /// The tenant's template as stored.
    pub fn of(stored: &EmailTemplate) -> Self {
        Template {
            name: stored.name,
            subject: stored.subject.clone(),
            html: stored.body.clone(),
            text: None,
            from: Some(stored.from.clone()).filter(|f| !f.trim().is_empty()),
            result_url: stored.result_url.clone(),
            url_lifetime: stored.url_lifetime_in_seconds.filter(|s| *s > 0),
            include_email_in_redirect: stored.include_email_in_redirect,
        }
    }

    /// The template `name` mails are written with: the tenant's when enabled, else Sigil's
    /// own; `None` when there is neither (the mail is not sent).
    pub async fn for_mail(
        store: &impl Store,
        name: TemplateName,
    ) -> Result<Option<Self>, StoreError> {
        Ok(match store.email_template(name).await? {
            Some(stored) if stored.enabled => Some(Template::of(&stored)),
            _ => Template::built_in(name),
        })
    }

    /// How long the mail's link works, in seconds: the template's `urlLifetimeInSeconds`,
    /// else `default`.
    pub fn link_lifetime(&self, default: i64) -> i64 {
        self.url_lifetime.unwrap_or(default)
    }

    /// Where the link leads once used (`resultUrl`), with `email` added when the template
    /// says so (`includeEmailInRedirect`).
    pub fn result_url(&self, email: Option<&str>) -> Option<String> {
        let base = self.result_url.clone()?;
        match email {
            Some(email) if self.include_email_in_redirect => {
                let mut url = url::Url::parse(&base).ok()?;
                url.query_pairs_mut().append_pair("email", email);
                Some(url.into())
            }
            _ => Some(base),
        }
    }

    /// The mail to `to`, written from `letter`; `kind` names it in the outbox. A tenant's
    /// template that fails here is logged and Sigil's own is used instead.
    pub fn compose(
        &self,
        letter: &Letter<'_>,
        to: &str,
        kind: &str,
        now: UnixTime,
    ) -> OutgoingEmail {
        match self.render(letter) {
            Ok((subject, html, body, from)) => OutgoingEmail {
                to: to.to_owned(),
                subject,
                body,
                html: Some(html),
                from,
                kind: kind.to_owned(),
                created_at: now,
            },
            Err(e) => {
                tracing::error!(template = %self.name, error = %e, "the email template fails; Sigil's own is used");
                match Template::built_in(self.name).filter(|own| own != self) {
                    Some(own) => own.compose(letter, to, kind, now),
                    None => OutgoingEmail {
                        to: to.to_owned(),
                        subject: self.name.to_string(),
                        body: letter.url.or(letter.code).unwrap_or_default().to_owned(),
                        html: None,
                        from: None,
                        kind: kind.to_owned(),
                        created_at: now,
                    },
                }
            }
        }
    }

    /// Subject, HTML, text and sender.
    fn render(
        &self,
        letter: &Letter<'_>,
    ) -> Result<(String, String, String, Option<String>), String> {
        let raw = letter.variables();
        let escaped = escape_strings(raw.clone());
        let html = render(&self.html, &escaped)?;
        let text = match &self.text {
            Some(text) => render(text, &raw)?,
            // Lines of 78, but links whole: a wrapped link cannot be followed.
            None => html2text::config::plain()
                .no_link_wrapping()
                .string_from_read(html.as_bytes(), 78)
                .map_err(|e| e.to_string())?,
        };
        let subject = one_line(&render(&self.subject, &raw)?);
        let from = match &self.from {
            Some(from) => Some(one_line(&render(from, &raw)?)).filter(|f| !f.is_empty()),
            None => None,
        };
        Ok((subject, html, text, from))
    }
}

/// Checks a template the tenant is saving: each part must parse and render against a sample
/// of every variable. The error says which part and why.
pub fn check(template: &EmailTemplate) -> Result<(), String> {
    let variables = sample_letter_variables();
    for (part, text) in [
        ("body", &template.body),
        ("subject", &template.subject),
        ("from", &template.from),
    ] {
        render(text, &variables).map_err(|e| format!("the {part} does not render: {e}"))?;
    }
    Ok(())
}

/// Checks a plain-text template (an SMS connection's Liquid `template`) against the sample.
pub fn check_text(text: &str) -> Result<(), String> {
    render(text, &sample_letter_variables()).map(|_| ())
}

/// `text` (Liquid) rendered with `letter`'s variables as they are: for messages that are not
/// HTML (an SMS).
pub fn render_text(text: &str, letter: &Letter<'_>) -> Result<String, String> {
    render(text, &letter.variables())
}

/// Every variable, with sample values.
fn sample_letter_variables() -> Value {
    let user = sample_user();
    let tenant = TenantSettings::default();
    Letter {
        user: &user,
        tenant: &tenant,
        application: None,
        connection: Some("Username-Password-Authentication"),
        url: Some("https://sigil.example/u/email-verification?ticket=sample"),
        code: Some("123456"),
        lifetime: Some(300),
    }
    .variables()
}

/// Seconds as people say them: "3 minutes", "1 hour", "5 days".
fn duration_words(seconds: i64) -> String {
    let (n, unit) = match seconds {
        s if s % 86_400 == 0 && s >= 86_400 => (s / 86_400, "day"),
        s if s % 3600 == 0 && s >= 3600 => (s / 3600, "hour"),
        s if s % 60 == 0 && s >= 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn sample_user() -> User {
    let connection = crate::model::Connection::new(
        crate::ids::ConnectionId::from("con_sample"),
        "Username-Password-Authentication",
        crate::model::Strategy::Auth0,
        crate::model::ConnectionOptions::default(),
        UnixTime(0),
    );
    let new = crate::model::NewUser {
        email: "sample@example.com".to_owned(),
        email_verified: false,
        username: None,
        password: None,
    };
    User::new_database(
        crate::ids::UserId::from("auth0|sample"),
        &connection,
        new,
        UnixTime(0),
    )
}

/// `text` rendered with `variables`.
fn render(text: &str, variables: &Value) -> Result<String, String> {
    let globals = liquid::model::to_object(variables).map_err(|e| e.to_string())?;
    parser()
        .parse(text)
        .and_then(|template| template.render(&globals))
        .map_err(|e| e.to_string().trim().to_owned())
}

/// One parser for the process: Liquid's standard tags and filters, with `escape` made
/// idempotent (the values are escaped already).
fn parser() -> &'static liquid::Parser {
    static PARSER: OnceLock<liquid::Parser> = OnceLock::new();
    PARSER.get_or_init(|| {
        liquid::ParserBuilder::with_stdlib()
            .filter(Escape)
            .build()
            .unwrap_or_else(|_| liquid::Parser::new())
    })
}

/// Every string in `value`, HTML-escaped.
fn escape_strings(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(escape_html(&s, false)),
        Value::Array(items) => Value::Array(items.into_iter().map(escape_strings).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, escape_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

/// `text` with `<`, `>`, `"`, `'` and `&` escaped; with `once`, an `&` that starts an entity
/// (`&amp;`, `&lt;`, `&#39;`, …) is left as it is.
fn escape_html(text: &str, once: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '&' if once && starts_entity(&text[i + 1..]) => out.push('&'),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

fn starts_entity(rest: &str) -> bool {
    let Some(end) = rest.find(';') else {
        return false;
    };
    let name = &rest[..end];
    !name.is_empty()
        && name.len() <= 10
        && (name.chars().all(|c| c.is_ascii_alphanumeric())
            || name
                .strip_prefix('#')
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric())))
}

fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Liquid's `escape`, replaced: the values are escaped already, so it escapes only what is
/// not an entity yet (Liquid's `escape_once`).
#[derive(Clone, ParseFilter, FilterReflection)]
#[filter(
    name = "escape",
    description = "Escapes HTML, leaving what is escaped already as it is.",
    parsed(EscapeFilter)
)]
struct Escape;

#[derive(Debug, Default, Display_filter)]
#[name = "escape"]
struct EscapeFilter;

impl Filter for EscapeFilter {
    fn evaluate(
        &self,
        input: &dyn ValueView,
        _runtime: &dyn Runtime,
    ) -> liquid_core::Result<LiquidValue> {
        if input.is_nil() {
            return Ok(LiquidValue::Nil);
        }
        Ok(LiquidValue::scalar(escape_html(&input.to_kstr(), true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantSettings {
        TenantSettings {
            friendly_name: "Example & Co".to_owned(),
            ..TenantSettings::default()
        }
    }

    fn user(name: &str) -> User {
        let mut user = sample_user();
        user.email = Some("ann@example.com".to_owned());
        user.name = Some(name.to_owned());
        user
    }

    fn letter_to<'a>(user: &'a User, tenant: &'a TenantSettings, url: &'a str) -> Letter<'a> {
        Letter {
            user,
            tenant,
            application: None,
            connection: None,
            url: Some(url),
            code: None,
            lifetime: None,
        }
    }

    #[test]
    fn the_mfa_mail_carries_the_code_in_its_subject_and_both_bodies() {
        let tenant = TenantSettings::default();
        let person = user("Pat");
        let letter = Letter {
            code: Some("482913"),
            url: None,
            lifetime: Some(300),
            ..letter_to(&person, &tenant, "")
        };
        let mail = Template::built_in(TemplateName::MfaOobCode)
            .unwrap()
            .compose(&letter, "pat@example.com", "mfa_oob_code", UnixTime(0));
        assert_eq!(mail.subject, "Your verification code is 482913");
        assert!(mail.body.contains("is 482913") && mail.body.contains("5 minutes"));
        assert!(mail.html.as_deref().is_some_and(|h| h.contains(">482913<")));
    }

    #[test]
    fn passwordless_mails_carry_the_code_or_the_link_and_the_connections_template_wins() {
        let tenant = TenantSettings::default();
        let person = user("Pat <b>");
        let code_letter = Letter {
            code: Some("482913"),
            url: None,
            lifetime: Some(180),
            ..letter_to(&person, &tenant, "")
        };
        let own = Template::passwordless(&crate::passwordless::EmailMessage::default());
        let mail = own.compose(
            &code_letter,
            "ann@example.com",
            "passwordless_code",
            UnixTime(0),
        );
        assert_eq!(mail.subject, "Your code is 482913");
        assert!(mail.body.contains("Your code is 482913"), "{}", mail.body);
        assert!(mail.body.contains("3 minutes"), "{}", mail.body);
        assert!(mail.html.as_deref().unwrap().contains("482913"));

        let link =
            "https://sigil.example/passwordless/verify_redirect?verification_code=482913&a=1";
        let link_letter = Letter {
            url: Some(link),
            ..code_letter
        };
        let mail = own.compose(
            &link_letter,
            "ann@example.com",
            "passwordless_link",
            UnixTime(0),
        );
        assert_eq!(mail.subject, "Your login link");
        assert!(mail.body.contains(link), "{}", mail.body);
        assert!(
            mail.html
                .as_deref()
                .unwrap()
                .contains("verification_code=482913&amp;a=1")
        );

        let tenants = Template::passwordless(&crate::passwordless::EmailMessage {
            from: Some("Logins <login@example.com>".to_owned()),
            subject: Some("Code {{ code }}".to_owned()),
            body: Some("<p>{{ code }} for {{ user.name }}</p>".to_owned()),
        });
        assert_eq!(tenants.checked(), Ok(()));
        let mail = tenants.compose(
            &code_letter,
            "ann@example.com",
            "passwordless_code",
            UnixTime(0),
        );
        assert_eq!(mail.subject, "Code 482913");
        assert_eq!(mail.from.as_deref(), Some("Logins <login@example.com>"));
        assert_eq!(
            mail.html.as_deref(),
            Some("<p>482913 for Pat &lt;b&gt;</p>")
        );
        let broken = Template::passwordless(&crate::passwordless::EmailMessage {
            body: Some("{% if code %}".to_owned()),
            ..Default::default()
        });
        assert!(broken.checked().unwrap_err().starts_with("the body"));
        assert_eq!(super::duration_words(86_400 * 2), "2 days");
        assert_eq!(super::duration_words(90), "90 seconds");
        assert_eq!(super::duration_words(3600), "1 hour");
    }

    fn stored(body: &str) -> EmailTemplate {
        EmailTemplate {
            name: TemplateName::VerifyEmail,
            body: body.to_owned(),
            from: "{{ friendly_name }} <login@example.com>".to_owned(),
            subject: "Welcome {{ user.name }}".to_owned(),
            result_url: Some("https://app.example.com/verified".to_owned()),
            url_lifetime_in_seconds: Some(600),
            include_email_in_redirect: true,
            enabled: true,
        }
    }

    #[test]
    fn values_are_escaped_in_the_body_once_whatever_the_template_says() {
        let tenant = tenant();
        let user = user("<script>alert(1)</script> & \"Ann\"");
        let url = "https://login.example.com/u/email-verification?ticket=a&b=c";
        let letter = letter_to(&user, &tenant, url);
        let template = Template::of(&stored(
            "<p>{{ user.name }}</p><p>{{ user.name | escape }}</p><a href=\"{{ url }}\">go</a> {{ tenant }}",
        ));
        let mail = template.compose(&letter, "ann@example.com", "verify_email", UnixTime(5));
        let html = mail.html.unwrap();
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Ann&quot;";
        assert_eq!(html.matches(escaped).count(), 2, "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("ticket=a&amp;b=c"), "{html}");
        assert!(html.contains("Example &amp; Co"), "{html}");
        // Not HTML: the subject and the sender see the values as they are.
        assert_eq!(mail.subject, "Welcome <script>alert(1)</script> & \"Ann\"");
        assert_eq!(
            mail.from.as_deref(),
            Some("Example & Co <login@example.com>")
        );
        // The text alternative is the HTML as text.
        assert!(
            mail.body.contains("<script>alert(1)</script>"),
            "{}",
            mail.body
        );
        assert_eq!(
            (mail.kind.as_str(), mail.created_at),
            ("verify_email", UnixTime(5))
        );
    }

    #[test]
    fn the_link_settings_come_from_the_template() {
        let template = Template::of(&stored("x"));
        assert_eq!(template.link_lifetime(432_000), 600);
        assert_eq!(
            template.result_url(Some("a+b@example.com")).as_deref(),
            Some("https://app.example.com/verified?email=a%2Bb%40example.com")
        );
        let own = Template::built_in(TemplateName::VerifyEmail).unwrap();
        assert_eq!(
            (own.link_lifetime(432_000), own.result_url(Some("a@b.c"))),
            (432_000, None)
        );
        assert!(Template::built_in(TemplateName::WelcomeEmail).is_none());
    }

    #[test]
    fn sigils_own_templates_carry_the_link_in_both_bodies() {
        let tenant = tenant();
        let user = user("Ann");
        let url = "https://login.example.com/u/reset-password?ticket=T";
        for name in [
            TemplateName::VerifyEmail,
            TemplateName::ResetEmail,
            TemplateName::EnrollmentEmail,
            TemplateName::BlockedAccount,
        ] {
            let letter = letter_to(&user, &tenant, url);
            let mail = Template::built_in(name).unwrap().compose(
                &letter,
                "ann@example.com",
                "k",
                UnixTime(0),
            );
            assert!(mail.body.lines().any(|l| l == url), "{name}: {}", mail.body);
            assert!(
                mail.html
                    .as_deref()
                    .unwrap()
                    .contains(&format!("href=\"{url}\"")),
                "{name}"
            );
            assert!(
                check(&EmailTemplate {
                    name,
                    body: mail.html.clone().unwrap_or_default(),
                    ..stored("")
                })
                .is_ok()
            );
        }
    }

    #[test]
    fn templates_that_cannot_render_are_refused_when_saved_and_replaced_when_sent() {
        for (body, why) in [
            ("{% if %}", "body"),
            ("{{ user.name | no_such_filter }}", "body"),
            ("{{ no_such_variable }}", "body"),
        ] {
            let refusal = check(&stored(body)).unwrap_err();
            assert!(refusal.contains(why), "{body}: {refusal}");
        }
        assert!(
            check(&stored(
                "{{ user.email }} {{ application.name }} {{ organization.name }}"
            ))
            .is_ok()
        );
        let tenant = tenant();
        let user = user("Ann");
        let letter = letter_to(&user, &tenant, "https://login.example.com/x");
        let mail = Template::of(&stored("{{ broken.deeply.missing }}")).compose(
            &letter,
            "a@b.c",
            "verify_email",
            UnixTime(0),
        );
        assert_eq!(mail.subject, "Verify your email", "Sigil's own instead");
    }

    #[test]
    fn escape_once_leaves_entities() {
        assert_eq!(
            escape_html("a &amp; b & <c>", true),
            "a &amp; b &amp; &lt;c&gt;"
        );
        assert_eq!(escape_html("&#39;&x", true), "&#39;&amp;x");
    }
}
