//! The tenant's mail provider, as `/api/v2/emails/provider` configures it: Auth0's `smtp`
//! provider (other names are refused). The password is sealed at rest and never shown.

use std::fmt;

use zeroize::Zeroizing;

/// The mail provider.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailProvider {
    /// Auth0's provider name; `smtp` is the one Sigil speaks.
    pub name: String,
    /// Whether mail is sent through it (`false`: mail stays queued).
    pub enabled: bool,
    /// The `From` address of mail whose template names none.
    pub default_from_address: Option<String>,
    /// Where and as whom to send.
    pub smtp: SmtpCredentials,
    /// Headers added to every message (`settings.headers`), Auth0's way of tagging mail.
    pub headers: Vec<(String, String)>,
}

/// An SMTP server and the account Sigil logs in with.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    /// Host name or address.
    pub host: String,
    /// Port: 465 is implicit TLS, any other STARTTLS (required).
    pub port: u16,
    /// The account to log in as (`AUTH`); empty: no login.
    pub user: String,
    /// Its password.
    pub pass: Zeroizing<String>,
}

impl fmt::Debug for EmailProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailProvider")
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("default_from_address", &self.default_from_address)
            .field("smtp", &self.smtp)
            .field("headers", &self.headers)
            .finish()
    }
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("pass", &"<redacted>")
            .finish()
    }
}
