//! Tenant settings: one record per installation (Auth0's `GET /api/v2/tenants/settings`).

use serde::{Deserialize, Serialize};

/// The tenant's settings. Every field has a default, so a record written by an older or a
/// newer Sigil still reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    /// The issuer recorded when the tenant was initialised, ending in `/`.
    pub issuer: String,
    /// The name shown on login pages and in emails.
    pub friendly_name: String,
    /// Logo URL for the hosted pages.
    pub picture_url: Option<String>,
    /// Support address shown on error pages.
    pub support_email: Option<String>,
    /// Audience used when a token request names none (Auth0's "Default Audience").
    pub default_audience: Option<String>,
    /// Connection used by the `password` grant when no realm is given.
    pub default_directory: Option<String>,
    /// Hours a login session lasts at most.
    pub session_lifetime: u32,
    /// Hours a login session lasts without activity.
    pub idle_session_lifetime: u32,
    /// Seconds a device code stays valid.
    pub device_code_lifetime: u32,
    /// Where `/v2/logout` may send the browser when no `client_id` is given.
    pub allowed_logout_urls: Vec<String>,
    /// Feature switches.
    pub flags: TenantFlags,
    /// The hosted pages' look (Auth0's `/api/v2/branding`).
    pub branding: Branding,
    /// The hosts the tenant's Actions may `fetch` from (a Sigil setting: patterns of
    /// [`crate::egress::HostPattern`]), within the operator's own list. Empty: none.
    pub actions_egress: Vec<String>,
    /// Multi-factor authentication: the factors enabled and the policy (Auth0's
    /// `/guardian/factors` and `/guardian/policies`, not part of `/tenants/settings`).
    pub mfa: super::MfaSettings,
    /// Brute-force protection (Auth0's `/attack-protection/brute-force-protection`).
    pub brute_force: super::BruteForceSettings,
    /// Suspicious-IP throttling (Auth0's `/attack-protection/suspicious-ip-throttling`).
    pub suspicious_ip: super::SuspiciousIpSettings,
    /// Breached-password detection (Auth0's `/attack-protection/breached-password-detection`).
    pub breached_passwords: super::BreachedPasswordSettings,
}

/// Auth0's branding settings: what the hosted pages look like. Colours are CSS hex colours and
/// URLs absolute `https://` ones, checked when set (`management::BrandingPatch`), so both are
/// safe to put in a page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Branding {
    /// The colours.
    pub colors: BrandingColors,
    /// The logo on every page (over the tenant's `picture_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// The pages' icon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub favicon_url: Option<String>,
    /// A web font for the pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub font: Option<BrandingFont>,
}

/// Branding colours, `#rgb` or `#rrggbb`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrandingColors {
    /// Buttons, links and focus rings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// Behind the page's card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_background: Option<String>,
}

/// A branding web font.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrandingFont {
    /// Where the font file is.
    pub url: String,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            issuer: String::new(),
            friendly_name: "Sigil".to_owned(),
            picture_url: None,
            support_email: None,
            default_audience: None,
            default_directory: None,
            session_lifetime: 168,
            idle_session_lifetime: 72,
            device_code_lifetime: 900,
            allowed_logout_urls: Vec::new(),
            flags: TenantFlags::default(),
            branding: Branding::default(),
            actions_egress: Vec::new(),
            mfa: super::MfaSettings::default(),
            brute_force: super::BruteForceSettings::default(),
            suspicious_ip: super::SuspiciousIpSettings::default(),
            breached_passwords: super::BreachedPasswordSettings::default(),
        }
    }
}

/// Auth0's tenant flags that Sigil honours.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantFlags {
    /// `/tokeninfo` answers (legacy).
    pub allow_legacy_tokeninfo_endpoint: bool,
    /// `/delegation` answers (legacy).
    pub allow_legacy_delegation_grant_types: bool,
    /// `/oauth/ro` answers (legacy).
    pub allow_legacy_ro_grant_types: bool,
    /// Public signups are off in every connection (the hosted signup page and
    /// `/dbconnections/signup`); each connection can also turn them off on its own.
    pub disable_signup: bool,
}
