//! A passwordless connection's `options` as Auth0 writes them, checked when the connection is
//! saved and read as what a login needs ([`PasswordlessSettings`]):
//!
//! - both strategies: `totp` (`length` of the code, `time_step`: how long it works, in
//!   seconds), `disable_signup`, `brute_force_protection`, `authParams` (the magic link's
//!   default parameters, a JSON object or Auth0's JSON string), `name`;
//! - `email`: `email` `{from, subject, syntax: "liquid", body}`, the mail's template (Sigil's
//!   own when there is no body);
//! - `sms`: `from`, `template` and `syntax` (`md_with_macros`, where `@@password@@` is the
//!   code, or `liquid`), and the provider: `provider: "sms_gateway"` with `gateway_url`,
//!   `gateway_authentication` and `forward_req_info` (Auth0's custom gateway protocol); Twilio
//!   with `twilio_sid`, `twilio_token` and `from` or `messaging_service_sid`; neither: the
//!   outbox (`sigil outbox` shows the messages, for tests and operators who relay them).
//!
//! The secrets (`twilio_token`, `gateway_authentication.secret`) are kept apart, sealed at
//! rest and never shown; left out of a patch, they are kept.

use serde_json::{Map, Value};
use url::Url;
use zeroize::Zeroizing;

use crate::federation::settings::refuse;
use crate::federation::{OptionsError, Policy};
use crate::model::{JsonObject, Strategy, Upstream, UpstreamSecrets};

/// A code's digits when `totp.length` does not say.
pub const DEFAULT_CODE_LENGTH: usize = 6;
/// How long a code or link works when `totp.time_step` does not say: Auth0's 3 minutes.
pub const DEFAULT_LIFETIME: i64 = 180;
/// The shortest and longest codes.
const CODE_LENGTHS: std::ops::RangeInclusive<u64> = 4..=10;
/// The longest a code may work: a day.
const MAX_LIFETIME: u64 = 24 * 3600;
/// Auth0's default SMS text.
pub const DEFAULT_SMS_TEMPLATE: &str = "Your verification code is: @@password@@";
/// The largest template (mail body or SMS text), as `/email-templates` allow.
const MAX_TEMPLATE: usize = 100 * 1024;

/// The secret option names and where they sit in `options`.
const TWILIO_TOKEN: &str = "twilio_token";
const GATEWAY_SECRET: &str = "gateway_authentication.secret";

const COMMON: &[&str] = &[
    "name",
    "totp",
    "disable_signup",
    "brute_force_protection",
    "authParams",
];
const EMAIL: &[&str] = &["email"];
const SMS: &[&str] = &[
    "from",
    "template",
    "syntax",
    "twilio_sid",
    "twilio_token",
    "messaging_service_sid",
    "provider",
    "gateway_url",
    "gateway_authentication",
    "forward_req_info",
];

/// What a passwordless login needs of its connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordlessSettings {
    /// Digits in a code.
    pub code_length: usize,
    /// Seconds a code or link works.
    pub lifetime: i64,
    /// Whether only existing users may log in (no account is made at a first login).
    pub disable_signup: bool,
    /// Whether failed codes count towards brute-force protection.
    pub brute_force_protection: bool,
    /// A magic link's default parameters (`authParams`), under the request's own.
    pub auth_params: JsonObject,
    /// How the code travels.
    pub message: Message,
}

/// How a connection's code travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// By mail, written from this template.
    Email(EmailMessage),
    /// By SMS.
    Sms(SmsMessage),
}

/// The `email` option: the mail's template (Liquid), or Sigil's own where a part is absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmailMessage {
    /// `From`.
    pub from: Option<String>,
    /// Subject line.
    pub subject: Option<String>,
    /// HTML body.
    pub body: Option<String>,
}

/// An SMS connection's message and provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsMessage {
    /// The sender (a number or name), as the provider takes it.
    pub from: Option<String>,
    /// The text; the code replaces `@@password@@`, or `{{ code }}` in Liquid.
    pub template: String,
    /// Whether the template is Liquid (else Auth0's `md_with_macros`).
    pub liquid: bool,
    /// Who sends it.
    pub provider: SmsProvider,
}

/// Who sends a connection's SMS.
#[derive(Clone, PartialEq, Eq)]
pub enum SmsProvider {
    /// Nobody: kept in the outbox, where `sigil outbox` shows it.
    Outbox,
    /// Auth0's custom gateway protocol: a JSON POST to `url`.
    Gateway {
        /// Where.
        url: Url,
        /// The bearer token's claims and key, when the gateway asks for one.
        auth: Option<GatewayAuth>,
        /// Whether the end user's address and user agent go along (`req`).
        forward_req_info: bool,
    },
    /// Twilio's REST API (or one that speaks it).
    Twilio {
        /// The account SID.
        sid: String,
        /// The auth token.
        token: Zeroizing<String>,
        /// A messaging service, sent instead of `From` when given.
        messaging_service_sid: Option<String>,
    },
}

impl std::fmt::Debug for SmsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmsProvider::Outbox => f.write_str("Outbox"),
            SmsProvider::Gateway {
                url,
                auth,
                forward_req_info,
            } => f
                .debug_struct("Gateway")
                .field("url", &url.as_str())
                .field("auth", auth)
                .field("forward_req_info", forward_req_info)
                .finish(),
            SmsProvider::Twilio {
                sid,
                messaging_service_sid,
                ..
            } => f
                .debug_struct("Twilio")
                .field("sid", sid)
                .field("token", &"[redacted]")
                .field("messaging_service_sid", messaging_service_sid)
                .finish(),
        }
    }
}

/// The gateway's bearer token: an HS256 JWT with these claims, signed with the shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewayAuth {
    /// `sub`.
    pub subject: String,
    /// `aud`.
    pub audience: String,
    /// The HMAC key.
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for GatewayAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayAuth")
            .field("subject", &self.subject)
            .field("audience", &self.audience)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Checks `options` for a new or changed passwordless connection and splits off its secrets;
/// a secret the options leave out is kept from `kept`.
pub fn check_options(
    strategy: Strategy,
    mut options: Map<String, Value>,
    kept: &UpstreamSecrets,
    policy: &Policy,
) -> Result<Upstream, OptionsError> {
    let own = match strategy {
        Strategy::Email => EMAIL,
        Strategy::Sms => SMS,
        _ => {
            return Err(refuse("strategy", "is not a passwordless strategy"));
        }
    };
    if let Some(unknown) = options
        .keys()
        .find(|k| !(COMMON.contains(&k.as_str()) || own.contains(&k.as_str())))
    {
        return Err(refuse(
            unknown.clone(),
            "is not an option Sigil knows for this strategy",
        ));
    }
    // Auth0 writes `authParams` as a JSON string; keep an object.
    if let Some(Value::String(text)) = options.get("authParams") {
        let parsed: Value = if text.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(text)
                .map_err(|_| refuse("authParams", "must be a JSON object (or one as a string)"))?
        };
        options.insert("authParams".to_owned(), parsed);
    }
    let mut secrets = kept.clone();
    if strategy == Strategy::Sms {
        take_secret(
            &mut options,
            None,
            "twilio_token",
            &mut secrets,
            TWILIO_TOKEN,
        )?;
        if let Some(Value::Object(auth)) = options.get_mut("gateway_authentication") {
            let mut auth_map = std::mem::take(auth);
            take_secret(
                &mut auth_map,
                Some("gateway_authentication"),
                "secret",
                &mut secrets,
                GATEWAY_SECRET,
            )?;
            options.insert("gateway_authentication".to_owned(), Value::Object(auth_map));
        }
    }
    let upstream = Upstream {
        options,
        secrets: UpstreamSecrets(secrets.0),
    };
    let settings = PasswordlessSettings::of(strategy, &upstream, policy)?;
    // A secret of a provider no longer chosen is not kept.
    let mut upstream = upstream;
    if let Message::Sms(sms) = &settings.message {
        if !matches!(sms.provider, SmsProvider::Twilio { .. }) {
            upstream.secrets.0.remove(TWILIO_TOKEN);
        }
        if !matches!(sms.provider, SmsProvider::Gateway { auth: Some(_), .. }) {
            upstream.secrets.0.remove(GATEWAY_SECRET);
        }
    }
    Ok(upstream)
}

fn take_secret(
    options: &mut Map<String, Value>,
    under: Option<&str>,
    name: &str,
    secrets: &mut UpstreamSecrets,
    key: &str,
) -> Result<(), OptionsError> {
    let field = || under.map_or_else(|| name.to_owned(), |u| format!("{u}.{name}"));
    match options.remove(name) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if !s.is_empty() => {
            secrets.0.insert(key.to_owned(), s);
            Ok(())
        }
        Some(_) => Err(refuse(field(), "must be a non-empty string")),
    }
}

fn text<'a>(
    options: &'a Map<String, Value>,
    field: &str,
    name: &str,
) -> Result<Option<&'a str>, OptionsError> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_TEMPLATE => Err(refuse(
            field,
            format!("must be at most {} kB", MAX_TEMPLATE / 1024),
        )),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(refuse(field, "must be a string")),
    }
}

fn flag(options: &Map<String, Value>, name: &str, default: bool) -> Result<bool, OptionsError> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(refuse(name, "must be true or false")),
    }
}

fn object<'a>(
    options: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, OptionsError> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(refuse(name, "must be an object")),
    }
}

fn only(map: &Map<String, Value>, under: &str, known: &[&str]) -> Result<(), OptionsError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(refuse(
            format!("{under}.{unknown}"),
            format!("is not one of {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn number(
    map: &Map<String, Value>,
    field: &str,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, OptionsError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| {
                refuse(
                    field,
                    format!(
                        "must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

impl PasswordlessSettings {
    /// The settings a connection's stored options say.
    pub fn of(
        strategy: Strategy,
        upstream: &Upstream,
        policy: &Policy,
    ) -> Result<Self, OptionsError> {
        let options = &upstream.options;
        let (mut code_length, mut lifetime) = (DEFAULT_CODE_LENGTH, DEFAULT_LIFETIME);
        if let Some(totp) = object(options, "totp")? {
            only(totp, "totp", &["length", "time_step"])?;
            if let Some(n) = number(totp, "totp.length", "length", CODE_LENGTHS)? {
                code_length = usize::try_from(n).unwrap_or(DEFAULT_CODE_LENGTH);
            }
            if let Some(n) = number(totp, "totp.time_step", "time_step", 30..=MAX_LIFETIME)? {
                lifetime = i64::try_from(n).unwrap_or(DEFAULT_LIFETIME);
            }
        }
        let auth_params = object(options, "authParams")?.cloned().unwrap_or_default();
        let message = match strategy {
            Strategy::Email => Message::Email(email_message(options)?),
            Strategy::Sms => Message::Sms(sms_message(options, &upstream.secrets, policy)?),
            _ => return Err(refuse("strategy", "is not a passwordless strategy")),
        };
        Ok(PasswordlessSettings {
            code_length,
            lifetime,
            disable_signup: flag(options, "disable_signup", false)?,
            brute_force_protection: flag(options, "brute_force_protection", true)?,
            auth_params,
            message,
        })
    }
}

fn syntax_is_liquid(map: &Map<String, Value>, field: &str) -> Result<bool, OptionsError> {
    match map.get("syntax") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(s)) if s == "liquid" => Ok(true),
        Some(Value::String(s)) if s == "md_with_macros" => Ok(false),
        Some(_) => Err(refuse(field, "must be liquid or md_with_macros")),
    }
}

fn email_message(options: &Map<String, Value>) -> Result<EmailMessage, OptionsError> {
    let Some(email) = object(options, "email")? else {
        return Ok(EmailMessage::default());
    };
    only(email, "email", &["from", "subject", "syntax", "body"])?;
    if email.get("syntax").is_some_and(|s| !s.is_null())
        && !syntax_is_liquid(email, "email.syntax")?
    {
        return Err(refuse("email.syntax", "must be liquid"));
    }
    let message = EmailMessage {
        from: text(email, "email.from", "from")?.map(str::to_owned),
        subject: text(email, "email.subject", "subject")?.map(str::to_owned),
        body: text(email, "email.body", "body")?.map(str::to_owned),
    };
    crate::email_templates::Template::passwordless(&message)
        .checked()
        .map_err(|why| refuse("email", why))?;
    Ok(message)
}

fn sms_message(
    options: &Map<String, Value>,
    secrets: &UpstreamSecrets,
    policy: &Policy,
) -> Result<SmsMessage, OptionsError> {
    let liquid = syntax_is_liquid(options, "syntax")?;
    let template = text(options, "template", "template")?
        .unwrap_or(DEFAULT_SMS_TEMPLATE)
        .to_owned();
    if liquid {
        crate::email_templates::check_text(&template).map_err(|why| refuse("template", why))?;
    }
    let from = text(options, "from", "from")?.map(str::to_owned);
    let twilio_sid = text(options, "twilio_sid", "twilio_sid")?;
    let provider = match text(options, "provider", "provider")? {
        Some("sms_gateway") => {
            let url = text(options, "gateway_url", "gateway_url")?
                .ok_or_else(|| refuse("gateway_url", "is required with provider sms_gateway"))?;
            let url = policy.urls.check("gateway_url", url)?;
            let auth = match object(options, "gateway_authentication")? {
                None => None,
                Some(auth) => Some(gateway_auth(auth, secrets)?),
            };
            SmsProvider::Gateway {
                url,
                auth,
                forward_req_info: flag(options, "forward_req_info", false)?,
            }
        }
        Some("twilio") | None if twilio_sid.is_some() => {
            let sid = twilio_sid.unwrap_or_default().to_owned();
            let token = secrets
                .get(TWILIO_TOKEN)
                .ok_or_else(|| refuse("twilio_token", "is required with twilio_sid"))?;
            let messaging_service_sid =
                text(options, "messaging_service_sid", "messaging_service_sid")?.map(str::to_owned);
            if from.is_none() && messaging_service_sid.is_none() {
                return Err(refuse(
                    "from",
                    "is required for Twilio unless messaging_service_sid is given",
                ));
            }
            SmsProvider::Twilio {
                sid,
                token: Zeroizing::new(token.to_owned()),
                messaging_service_sid,
            }
        }
        Some("twilio") => return Err(refuse("twilio_sid", "is required with provider twilio")),
        None => SmsProvider::Outbox,
        Some(other) => {
            return Err(refuse(
                "provider",
                format!(
                    "{other} is not sms_gateway or twilio (leave it out to keep SMS in the outbox)"
                ),
            ));
        }
    };
    Ok(SmsMessage {
        from,
        template,
        liquid,
        provider,
    })
}

fn gateway_auth(
    auth: &Map<String, Value>,
    secrets: &UpstreamSecrets,
) -> Result<GatewayAuth, OptionsError> {
    const UNDER: &str = "gateway_authentication";
    only(
        auth,
        UNDER,
        &[
            "method",
            "subject",
            "audience",
            "secret",
            "secret_base64_encoded",
        ],
    )?;
    match auth.get("method") {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if m == "bearer" => {}
        Some(_) => return Err(refuse("gateway_authentication.method", "must be bearer")),
    }
    let subject = text(auth, "gateway_authentication.subject", "subject")?
        .ok_or_else(|| refuse("gateway_authentication.subject", "is required"))?;
    let audience = text(auth, "gateway_authentication.audience", "audience")?
        .ok_or_else(|| refuse("gateway_authentication.audience", "is required"))?;
    let secret = secrets
        .get(GATEWAY_SECRET)
        .ok_or_else(|| refuse("gateway_authentication.secret", "is required"))?;
    let base64 = flag(auth, "secret_base64_encoded", false)
        .map_err(|e| refuse(format!("{UNDER}.{}", e.field), e.message))?;
    let secret = if base64 {
        decode_secret(secret).ok_or_else(|| {
            refuse(
                "gateway_authentication.secret",
                "is not base64 (secret_base64_encoded is true)",
            )
        })?
    } else {
        secret.as_bytes().to_vec()
    };
    if secret.len() < 32 {
        return Err(refuse(
            "gateway_authentication.secret",
            "must be at least 32 bytes (the bearer token is signed with HS256)",
        ));
    }
    Ok(GatewayAuth {
        subject: subject.to_owned(),
        audience: audience.to_owned(),
        secret: Zeroizing::new(secret),
    })
}

/// A base64 or base64url secret, padded or not (Auth0's `secret_base64_encoded`).
fn decode_secret(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim().trim_end_matches('=');
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(trimmed)
        .or_else(|_| base64_simd::STANDARD_NO_PAD.decode_to_vec(trimmed))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checked(strategy: Strategy, options: Value) -> Result<PasswordlessSettings, String> {
        let policy = Policy {
            urls: crate::federation::UrlPolicy {
                allow_http_loopback: true,
            },
            ..Policy::default()
        };
        let Value::Object(map) = options else {
            panic!("options")
        };
        let upstream = check_options(strategy, map, &UpstreamSecrets::default(), &policy)
            .map_err(|e| e.to_string())?;
        assert!(
            !serde_json::to_string(&upstream.options)
                .unwrap()
                .contains("s3cr3t"),
            "no secret stays in the options"
        );
        PasswordlessSettings::of(strategy, &upstream, &policy).map_err(|e| e.to_string())
    }

    #[test]
    fn options_are_checked_per_strategy() {
        // (strategy, options, Ok(code length, lifetime) or the error's start)
        type Case = (Strategy, Value, Result<(usize, i64), &'static str>);
        let cases: [Case; 16] = [
            (Strategy::Email, json!({}), Ok((6, 180))),
            (
                Strategy::Email,
                json!({"totp": {"length": 8, "time_step": 300}}),
                Ok((8, 300)),
            ),
            (
                Strategy::Email,
                json!({"totp": {"length": 3}}),
                Err("totp.length"),
            ),
            (
                Strategy::Email,
                json!({"totp": {"time_step": 10}}),
                Err("totp.time_step"),
            ),
            (
                Strategy::Email,
                json!({"totp": {"digits": 6}}),
                Err("totp.digits"),
            ),
            (
                Strategy::Email,
                json!({"email": {"syntax": "liquid", "from": "a@example.com", "subject": "Code", "body": "<p>{{ code }}</p>"}}),
                Ok((6, 180)),
            ),
            (
                Strategy::Email,
                json!({"email": {"body": "{% if code %}"}}),
                Err("email"),
            ),
            (
                Strategy::Email,
                json!({"gateway_url": "x"}),
                Err("gateway_url is not"),
            ),
            (
                Strategy::Email,
                json!({"authParams": "{\"scope\":\"openid\"}"}),
                Ok((6, 180)),
            ),
            (
                Strategy::Email,
                json!({"authParams": "{"}),
                Err("authParams"),
            ),
            (Strategy::Sms, json!({}), Ok((6, 180))),
            (
                Strategy::Sms,
                json!({"provider": "sms_gateway", "gateway_url": "http://127.0.0.1:9/sms",
                       "gateway_authentication": {"method": "bearer", "subject": "sigil", "audience": "gw", "secret": "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"}}),
                Ok((6, 180)),
            ),
            (
                Strategy::Sms,
                json!({"provider": "sms_gateway", "gateway_url": "ftp://x/"}),
                Err("gateway_url"),
            ),
            (
                Strategy::Sms,
                json!({"twilio_sid": "AC1", "twilio_token": "s3cr3t", "from": "+15550001111"}),
                Ok((6, 180)),
            ),
            (
                Strategy::Sms,
                json!({"twilio_sid": "AC1", "from": "+15550001111"}),
                Err("twilio_token"),
            ),
            (
                Strategy::Sms,
                json!({"provider": "vonage"}),
                Err("provider"),
            ),
        ];
        for (strategy, options, want) in cases {
            let got = checked(strategy, options.clone());
            match (&got, want) {
                (Ok(s), Ok((length, lifetime))) => {
                    assert_eq!((s.code_length, s.lifetime), (length, lifetime), "{options}")
                }
                (Err(e), Err(start)) => assert!(e.starts_with(start), "{options}: {e}"),
                _ => panic!("{options}: {got:?}"),
            }
        }
    }

    #[test]
    fn secrets_are_kept_apart_and_kept_when_left_out() {
        let policy = Policy::default();
        let options = json!({"twilio_sid": "AC1", "twilio_token": "s3cr3t", "from": "+1555"});
        let Value::Object(map) = options else {
            unreachable!()
        };
        let first =
            check_options(Strategy::Sms, map, &UpstreamSecrets::default(), &policy).unwrap();
        assert_eq!(first.secrets.get(TWILIO_TOKEN), Some("s3cr3t"));
        assert!(!first.options.contains_key("twilio_token"));
        // Written back as read: the token is kept.
        let again = check_options(
            Strategy::Sms,
            first.options.clone(),
            &first.secrets,
            &policy,
        )
        .unwrap();
        assert_eq!(again.secrets.get(TWILIO_TOKEN), Some("s3cr3t"));
        // The provider changed to the outbox: the token goes.
        let outbox = check_options(Strategy::Sms, Map::new(), &first.secrets, &policy).unwrap();
        assert!(outbox.secrets.0.is_empty());
        let settings = PasswordlessSettings::of(Strategy::Sms, &again, &policy).unwrap();
        assert!(!format!("{settings:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_base64_gateway_secret_is_decoded() {
        assert_eq!(decode_secret("AAEC_w").unwrap(), vec![0, 1, 2, 255]);
        assert_eq!(decode_secret("AAEC/w==").unwrap(), vec![0, 1, 2, 255]);
        assert!(decode_secret("**").is_none());
    }
}
