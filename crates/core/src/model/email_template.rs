//! Auth0's email templates (`/api/v2/email-templates/{templateName}`): a mail's Liquid body
//! (HTML), subject and sender, and for the mails that carry a link, where the link leads after
//! use and how long it works.

use std::fmt;

/// The templates Auth0 has, by their API names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateName {
    /// The link proving an address (after a signup, or `verify_email`).
    VerifyEmail,
    /// A code proving an address.
    VerifyEmailByCode,
    /// The password reset link.
    ResetEmail,
    /// A password reset code.
    ResetEmailByCode,
    /// Sent once an address is verified (or after a signup when nothing is to verify).
    WelcomeEmail,
    /// Sent when brute-force protection blocks an account.
    BlockedAccount,
    /// Sent when a breached password is used.
    StolenCredentials,
    /// An MFA enrollment invitation.
    EnrollmentEmail,
    /// An MFA one-time code by email.
    MfaOobCode,
    /// An organization's invitation.
    UserInvitation,
    /// The legacy change-password confirmation.
    ChangePassword,
    /// The legacy password reset.
    PasswordReset,
    /// A CIBA approval request.
    AsyncApproval,
    /// A passwordless login code or link.
    AuthEmailByCode,
}

impl TemplateName {
    /// Every name, in Auth0's order.
    pub const ALL: [TemplateName; 14] = [
        TemplateName::VerifyEmail,
        TemplateName::VerifyEmailByCode,
        TemplateName::ResetEmail,
        TemplateName::ResetEmailByCode,
        TemplateName::WelcomeEmail,
        TemplateName::BlockedAccount,
        TemplateName::StolenCredentials,
        TemplateName::EnrollmentEmail,
        TemplateName::MfaOobCode,
        TemplateName::UserInvitation,
        TemplateName::ChangePassword,
        TemplateName::PasswordReset,
        TemplateName::AsyncApproval,
        TemplateName::AuthEmailByCode,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateName::VerifyEmail => "verify_email",
            TemplateName::VerifyEmailByCode => "verify_email_by_code",
            TemplateName::ResetEmail => "reset_email",
            TemplateName::ResetEmailByCode => "reset_email_by_code",
            TemplateName::WelcomeEmail => "welcome_email",
            TemplateName::BlockedAccount => "blocked_account",
            TemplateName::StolenCredentials => "stolen_credentials",
            TemplateName::EnrollmentEmail => "enrollment_email",
            TemplateName::MfaOobCode => "mfa_oob_code",
            TemplateName::UserInvitation => "user_invitation",
            TemplateName::ChangePassword => "change_password",
            TemplateName::PasswordReset => "password_reset",
            TemplateName::AsyncApproval => "async_approval",
            TemplateName::AuthEmailByCode => "auth_email_by_code",
        }
    }

    /// The template an API name names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == name)
    }
}

impl fmt::Display for TemplateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A template the tenant set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailTemplate {
    /// Which mail it is.
    pub name: TemplateName,
    /// The HTML body, in Liquid.
    pub body: String,
    /// The sender (`login@example.com` or `{{ friendly_name }} <login@example.com>`), in Liquid;
    /// empty: the mail provider's default.
    pub from: String,
    /// The subject, in Liquid.
    pub subject: String,
    /// Where the link leads once used (`resultUrl`).
    pub result_url: Option<String>,
    /// How long the link works, in seconds (`urlLifetimeInSeconds`); `None`: the default.
    pub url_lifetime_in_seconds: Option<i64>,
    /// Whether `resultUrl` gets the user's address (`includeEmailInRedirect`).
    pub include_email_in_redirect: bool,
    /// Whether it is used; a disabled template leaves Sigil's own in place.
    pub enabled: bool,
}
