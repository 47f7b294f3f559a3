//! The Management API's multi-factor part, Auth0's shapes: the tenant's factors
//! (`/guardian/factors`) and policy (`/guardian/policies`), and a user's authentication methods
//! (`/users/{id}/authentication-methods`) and enrolments (`/users/{id}/enrollments`,
//! `/guardian/enrollments/{id}`, and the tickets of `/guardian/enrollments/ticket`).

use serde::Deserialize;
use serde_json::{Value, json};

use super::body::{Body, present};
use super::error::ManagementError;
use crate::clock::auth0_time;
use crate::mfa::totp::TotpSecret;
use crate::model::{Authenticator, AuthenticatorKind, MfaFactor, MfaPolicy, MfaSettings, User};

/// Every factor name Auth0 has, in its order: Sigil offers `otp`, `email` and
/// `recovery-code`; the others are always off and cannot be enabled.
const AUTH0_FACTORS: [&str; 9] = [
    "sms",
    "push-notification",
    "email",
    "duo",
    "otp",
    "webauthn-roaming",
    "webauthn-platform",
    "recovery-code",
    "passkey",
];

/// `GET /guardian/factors`: every factor of Auth0's, with whether it is enabled.
pub fn factors_json(settings: &MfaSettings) -> Value {
    Value::Array(
        AUTH0_FACTORS
            .iter()
            .map(|name| {
                let enabled = MfaFactor::parse(name).is_some_and(|f| settings.enabled(f));
                json!({"name": name, "enabled": enabled, "trial_expired": false})
            })
            .collect(),
    )
}

/// `PUT /guardian/factors/{name}`'s body.
#[derive(Debug, Deserialize)]
pub struct FactorBody {
    /// Whether the factor is on.
    pub enabled: bool,
}

impl Body for FactorBody {
    const FIELDS: &'static [&'static str] = &["enabled"];
}

/// Turns the factor `name` on or off in `settings`. A factor of Auth0's that Sigil does not
/// offer may be turned off (it is), never on; a name Auth0 does not have is refused.
pub fn set_factor(
    settings: &mut MfaSettings,
    name: &str,
    body: &FactorBody,
) -> Result<(), ManagementError> {
    let Some(factor) = MfaFactor::parse(name) else {
        if !AUTH0_FACTORS.contains(&name) {
            return Err(ManagementError::InvalidBody(format!(
                "Path validation error: 'String does not match any of the factor names ({})' on property name.",
                AUTH0_FACTORS.join(", ")
            )));
        }
        if body.enabled {
            return Err(ManagementError::NotSupported(format!(
                "Sigil does not offer the {name} factor; it offers otp, email and recovery-code."
            )));
        }
        return Ok(());
    };
    settings.factors.retain(|f| *f != factor);
    if body.enabled {
        settings.factors.push(factor);
        settings.factors.sort();
    }
    Ok(())
}

/// `PUT /guardian/policies`' body: `[]` (never) or `["all-applications"]`; Adaptive MFA's
/// `confidence-score` is refused by name (Sigil has no risk engine).
pub fn parse_policies(body: &[u8]) -> Result<Vec<MfaPolicy>, ManagementError> {
    let names: Vec<String> = serde_json::from_slice(body).map_err(|e| {
        ManagementError::InvalidBody(format!(
            "Payload validation error: 'Expected an array of policy names: {e}'."
        ))
    })?;
    let mut policies = Vec::new();
    for name in names {
        match name.as_str() {
            "all-applications" => policies.push(MfaPolicy::AllApplications),
            "confidence-score" => {
                return Err(ManagementError::NotSupported(
                    "Sigil does not offer Adaptive MFA (confidence-score); use all-applications or [].".to_owned(),
                ));
            }
            other => {
                return Err(ManagementError::InvalidBody(format!(
                    "Payload validation error: 'No enum match for: \"{other}\"' (all-applications, confidence-score)."
                )));
            }
        }
    }
    policies.dedup();
    Ok(policies)
}

/// `GET /guardian/policies`.
pub fn policies_json(settings: &MfaSettings) -> Value {
    Value::Array(
        settings
            .policies
            .iter()
            .map(|p| Value::from(p.as_str()))
            .collect(),
    )
}

/// A user's authentication method, as Auth0 lists it (never its secret).
pub fn authentication_method_json(authenticator: &Authenticator) -> Value {
    let mut out = json!({
        "id": authenticator.id,
        "type": authenticator.kind.as_str(),
        "confirmed": authenticator.confirmed(),
        "created_at": auth0_time(authenticator.created_at),
    });
    if let Some(at) = authenticator.confirmed_at {
        out["enrolled_at"] = auth0_time(at).into();
    }
    if let Some(at) = authenticator.last_auth_at {
        out["last_auth_at"] = auth0_time(at).into();
    }
    if let Some(name) = &authenticator.name {
        out["name"] = name.as_str().into();
        if authenticator.kind == AuthenticatorKind::Email {
            out["email"] = name.as_str().into();
        }
    }
    out
}

/// A user's Guardian enrolment, as `/users/{id}/enrollments` lists it: their authenticator
/// app or email factor (a recovery code is no enrolment); `None` for a recovery code.
pub fn enrollment_json(authenticator: &Authenticator) -> Option<Value> {
    let auth_method = match authenticator.kind {
        AuthenticatorKind::Totp => "authenticator",
        AuthenticatorKind::Email => "email",
        AuthenticatorKind::RecoveryCode => return None,
    };
    let mut out = json!({
        "id": authenticator.id,
        "status": if authenticator.confirmed() { "confirmed" } else { "pending" },
        "type": authenticator.kind.as_str(),
        "auth_method": auth_method,
        "enrolled_at": auth0_time(authenticator.confirmed_at.unwrap_or(authenticator.created_at)),
    });
    if let Some(at) = authenticator.last_auth_at {
        out["last_auth"] = auth0_time(at).into();
    }
    if let Some(name) = &authenticator.name {
        out["name"] = name.as_str().into();
        out["identifier"] = name.as_str().into();
    }
    Some(out)
}

/// `POST /users/{id}/authentication-methods`' body. Sigil takes `totp` with the secret the
/// user's app already holds (Auth0's path for migrations); the other types are refused by
/// name.
#[derive(Debug, Deserialize)]
pub struct NewAuthenticationMethod {
    /// `totp`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// A name for it.
    pub name: Option<String>,
    /// The TOTP secret, base32 without padding.
    pub totp_secret: Option<String>,
    /// For `email` (not yet taken).
    pub email: Option<String>,
    /// For `phone` (not taken).
    pub phone_number: Option<String>,
    /// Ignored with one method per type.
    pub preferred_authentication_method: Option<String>,
}

impl Body for NewAuthenticationMethod {
    const FIELDS: &'static [&'static str] = &[
        "type",
        "name",
        "totp_secret",
        "email",
        "phone_number",
        "preferred_authentication_method",
    ];
}

impl NewAuthenticationMethod {
    /// The TOTP secret this body creates a method with.
    pub fn totp(&self) -> Result<TotpSecret, ManagementError> {
        match self.kind.as_str() {
            "totp" => {}
            "" => return Err(ManagementError::body("type", "Missing required property")),
            "phone" | "email" | "webauthn-roaming" | "passkey" => {
                return Err(ManagementError::NotSupported(format!(
                    "Sigil does not create {} authentication methods through this API yet; it creates totp.",
                    self.kind
                )));
            }
            other => {
                return Err(ManagementError::body(
                    "type",
                    format!("No enum match for: \"{other}\""),
                ));
            }
        }
        let secret = self
            .totp_secret
            .as_deref()
            .ok_or_else(|| ManagementError::body("totp_secret", "Missing required property"))?;
        TotpSecret::from_base32(secret).ok_or_else(|| {
            ManagementError::body(
                "totp_secret",
                "Expected a base32 secret (A-Z, 2-7) of at least 16 characters",
            )
        })
    }
}

/// `POST /guardian/enrollments/ticket`'s body (Auth0's).
#[derive(Debug, Deserialize)]
pub struct EnrollmentTicketBody {
    /// Whose ticket.
    #[serde(default, deserialize_with = "present")]
    pub user_id: Option<String>,
    /// Where to mail the link, instead of the user's address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether to mail the link (default: yes).
    #[serde(default)]
    pub send_mail: Option<bool>,
    /// The mail's language (Sigil's mails are in English).
    #[serde(default)]
    pub email_locale: Option<String>,
    /// The factor to enrol: `otp`, the only one a ticket offers.
    #[serde(default)]
    pub factor: Option<String>,
    /// Whether a user enrolled already may enrol again.
    #[serde(default)]
    pub allow_multiple_enrollments: Option<bool>,
}

impl Body for EnrollmentTicketBody {
    const FIELDS: &'static [&'static str] = &[
        "user_id",
        "email",
        "send_mail",
        "email_locale",
        "factor",
        "allow_multiple_enrollments",
    ];
}

impl EnrollmentTicketBody {
    /// The user the ticket is for.
    pub fn user_id(&self) -> Result<&str, ManagementError> {
        match self.user_id.as_deref() {
            Some(id) if !id.is_empty() => Ok(id),
            _ => Err(ManagementError::body(
                "user_id",
                "Missing required property",
            )),
        }
    }

    /// Where the link is mailed for `user` (`None`: it is not), or why the body cannot be
    /// served: a factor other than `otp` and `allow_multiple_enrollments` are refused by
    /// name (a user has one authenticator app).
    pub fn mail_to(&self, user: &User) -> Result<Option<String>, ManagementError> {
        match self.factor.as_deref() {
            None | Some("otp") => {}
            Some(other) => {
                return Err(ManagementError::NotSupported(format!(
                    "Sigil's enrollment tickets enroll an authenticator app (factor otp), not {other}"
                )));
            }
        }
        if self.allow_multiple_enrollments == Some(true) {
            return Err(ManagementError::NotSupported(
                "A user has one authenticator app in Sigil: allow_multiple_enrollments cannot be true"
                    .to_owned(),
            ));
        }
        if self.send_mail == Some(false) {
            return Ok(None);
        }
        match self.email.as_deref().or(user.email.as_deref()) {
            Some(address) if address.contains('@') => Ok(Some(address.trim().to_owned())),
            Some(_) => Err(ManagementError::body("email", "Expected an email address")),
            None => Err(ManagementError::body(
                "email",
                "The user has no email address: give one, or set send_mail to false",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_turn_on_and_off_by_auth0_names_and_only_sigils_turn_on() {
        let mut settings = MfaSettings::default();
        let on = FactorBody { enabled: true };
        let off = FactorBody { enabled: false };
        set_factor(&mut settings, "recovery-code", &on).unwrap();
        set_factor(&mut settings, "otp", &on).unwrap();
        set_factor(&mut settings, "otp", &on).unwrap();
        assert_eq!(settings.factors, [MfaFactor::Otp, MfaFactor::RecoveryCode]);
        set_factor(&mut settings, "sms", &off).unwrap();
        let refused = set_factor(&mut settings, "sms", &on).unwrap_err();
        assert_eq!(refused.status(), 400);
        assert!(
            refused
                .to_string()
                .contains("does not offer the sms factor")
        );
        assert!(set_factor(&mut settings, "fax", &off).is_err());
        set_factor(&mut settings, "otp", &off).unwrap();
        assert_eq!(settings.factors, [MfaFactor::RecoveryCode]);
        let listed = factors_json(&settings);
        assert_eq!(listed.as_array().unwrap().len(), 9);
        assert_eq!(
            listed[7],
            json!({"name": "recovery-code", "enabled": true, "trial_expired": false})
        );
    }

    #[test]
    fn policies_are_never_or_always_and_adaptive_mfa_is_refused_by_name() {
        let cases: [(&str, Result<Vec<MfaPolicy>, &str>); 6] = [
            ("[]", Ok(vec![])),
            (
                r#"["all-applications"]"#,
                Ok(vec![MfaPolicy::AllApplications]),
            ),
            (
                r#"["all-applications","all-applications"]"#,
                Ok(vec![MfaPolicy::AllApplications]),
            ),
            (r#"["confidence-score"]"#, Err("Adaptive MFA")),
            (r#"["sometimes"]"#, Err("No enum match")),
            (r#"{"policies":[]}"#, Err("Expected an array")),
        ];
        for (body, want) in cases {
            match (parse_policies(body.as_bytes()), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{body}"),
                (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{body}: {e}"),
                (got, want) => panic!("{body}: {got:?} vs {want:?}"),
            }
        }
    }
}
