//! Sending SMS for passwordless connections, over HTTP:
//!
//! - Auth0's custom gateway protocol: `POST <gateway_url>` with
//!   `{"recipient","body","sender"}` (and `"req":{"ip","user-agent"}` with
//!   `forward_req_info`), a bearer JWT (HS256 over the shared secret, the configured `sub` and
//!   `aud`, one minute long) when the connection has `gateway_authentication`;
//! - Twilio's REST API: `POST <base>/2010-04-01/Accounts/{sid}/Messages.json`, a form with `To`,
//!   `From` or `MessagingServiceSid` and `Body`, HTTP Basic `sid:token`. The base is
//!   `https://api.twilio.com` unless the operator points it elsewhere
//!   (`sigil serve --twilio-url`: a compatible service, or a test double).
//!
//! Only the status counts (Auth0's rule): 2xx is sent, 401/403 is an authentication failure,
//! anything else or no answer within 30 seconds is the provider's error, logged once here with
//! the status or the cause (never the provider's answer, which may echo the code); each call
//! is counted in
//! `sigil_upstream_calls_total{call="sms_gateway"|"twilio", result}`.

use std::time::Duration;

use serde_json::json;
use sigil_core::passwordless::{GatewayAuth, Sms, SmsError, SmsProvider, SmsSender};
use sigil_jose::{Algorithm, PrivateKey, Secret, SigningKey};

/// Auth0's time limit for the gateway.
const CALL_TIME: Duration = Duration::from_secs(30);
const CONNECT_TIME: Duration = Duration::from_secs(5);
/// Twilio's API.
pub(crate) const TWILIO_API: &str = "https://api.twilio.com";
/// How long the gateway's bearer token lives.
const BEARER_LIFETIME: i64 = 60;

/// The HTTP client SMS go out through.
pub(crate) struct SmsClient {
    client: reqwest::Client,
    twilio: std::sync::RwLock<url::Url>,
    clock: std::sync::Arc<dyn sigil_core::Clock>,
    /// Where each call's outcome is counted (`sigil_upstream_calls_total{call="sms_gateway"}`).
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl std::fmt::Debug for SmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsClient")
            .field("twilio", &self.twilio_base().as_str())
            .finish_non_exhaustive()
    }
}

impl SmsClient {
    /// A client with no proxy from the environment and no redirects; Twilio at `twilio`.
    pub(crate) fn new(
        clock: std::sync::Arc<dyn sigil_core::Clock>,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIME)
            .timeout(CALL_TIME)
            .user_agent("Sigil")
            .build()
            .map_err(|e| e.to_string())?;
        let twilio = url::Url::parse(TWILIO_API).map_err(|e| e.to_string())?;
        Ok(SmsClient {
            client,
            twilio: std::sync::RwLock::new(twilio),
            clock,
            metrics,
        })
    }

    /// Points Twilio's API elsewhere (`sigil serve --twilio-url`).
    pub(crate) fn set_twilio(&self, base: url::Url) {
        match self.twilio.write() {
            Ok(mut t) => *t = base,
            Err(mut t) => **t.get_mut() = base,
        }
    }

    fn twilio_base(&self) -> url::Url {
        match self.twilio.read() {
            Ok(t) => t.clone(),
            Err(t) => t.into_inner().clone(),
        }
    }

    fn bearer(&self, auth: &GatewayAuth) -> Result<String, SmsError> {
        let now = self.clock.now().0;
        let key = SigningKey::new(
            PrivateKey::from_secret(Secret::new(auth.secret.to_vec())),
            Algorithm::HS256,
        )
        .map(|k| k.with_kid(None))
        .map_err(|e| {
            tracing::error!(error = %e, "the SMS gateway's secret cannot sign");
            SmsError::Unreachable
        })?;
        key.sign(&json!({
            "sub": auth.subject,
            "aud": auth.audience,
            "iat": now,
            "exp": now + BEARER_LIFETIME,
        }))
        .map_err(|e| {
            tracing::error!(error = %e, "cannot sign the SMS gateway's bearer token");
            SmsError::Unreachable
        })
    }

    async fn post(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<(), SmsError> {
        let outcome = self.send(request, what).await;
        let result = match &outcome {
            Ok(()) => "ok",
            Err(SmsError::Unreachable) => "unreachable",
            Err(_) => "status",
        };
        self.metrics.upstream_call(what, result);
        outcome
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Result<(), SmsError> {
        let response = request.send().await.map_err(|e| {
            tracing::warn!(provider = what, error = %e, "the SMS provider cannot be reached");
            SmsError::Unreachable
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // Its answer is not logged: a provider may echo the message, and with it the code.
        tracing::warn!(
            provider = what,
            status = status.as_u16(),
            "the SMS provider refused a message"
        );
        Err(match status.as_u16() {
            code @ (401 | 403) => SmsError::Authentication(code),
            code => SmsError::Status(code),
        })
    }
}

impl SmsSender for SmsClient {
    async fn send_sms(&self, provider: &SmsProvider, sms: &Sms<'_>) -> Result<(), SmsError> {
        match provider {
            SmsProvider::Outbox => Ok(()),
            SmsProvider::Gateway {
                url,
                auth,
                forward_req_info,
            } => {
                let mut body = json!({
                    "recipient": sms.to,
                    "body": sms.body,
                    "sender": sms.from,
                });
                if *forward_req_info {
                    body["req"] = json!({
                        "ip": sms.origin.ip,
                        "user-agent": sms.origin.user_agent,
                    });
                }
                let mut request = self
                    .client
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string());
                if let Some(auth) = auth {
                    request = request.bearer_auth(self.bearer(auth)?);
                }
                self.post(request, "sms_gateway").await
            }
            SmsProvider::Twilio {
                sid,
                token,
                messaging_service_sid,
            } => {
                let mut url = self.twilio_base();
                url.set_path(&format!("/2010-04-01/Accounts/{sid}/Messages.json"));
                let mut form = vec![("To", sms.to), ("Body", sms.body)];
                match (messaging_service_sid, sms.from) {
                    (Some(service), _) => form.push(("MessagingServiceSid", service)),
                    (None, Some(from)) => form.push(("From", from)),
                    (None, None) => {}
                }
                let request = self
                    .client
                    .post(url)
                    .basic_auth(sid, Some(token.as_str()))
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(serde_urlencoded::to_string(&form).unwrap_or_default());
                self.post(request, "twilio").await
            }
        }
    }
}
