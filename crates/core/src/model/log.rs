//! Log events with Auth0's type codes (`s`, `f`, `fp`, `seacft`, `sapi`, …), so that log
//! tooling built for Auth0 reads them. Dates are Unix milliseconds; ids sort in write order.

use super::JsonObject;
use crate::ids::{ClientId, LogId, UserId};

/// An Auth0 log type code. Open-ended (Auth0 has well over a hundred); the ones Sigil writes
/// are constants here.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LogType(pub String);

macro_rules! log_types {
    ($($name:ident = $code:literal: $what:literal;)*) => {
        impl LogType {
            $(#[doc = $what] pub const $name: &'static str = $code;)*

            /// What the code means, for the ones Sigil writes.
            pub fn description(&self) -> Option<&'static str> {
                match self.0.as_str() {
                    $($code => Some($what),)*
                    _ => None,
                }
            }
        }
    };
}

log_types! {
    SUCCESS_LOGIN = "s": "Success Login";
    FAILED_LOGIN = "f": "Failed Login";
    FAILED_LOGIN_PASSWORD = "fp": "Failed Login (Incorrect Password)";
    FAILED_LOGIN_USER = "fu": "Failed Login (Invalid Email/Username)";
    SUCCESS_SIGNUP = "ss": "Success Signup";
    FAILED_SIGNUP = "fs": "Failed Signup";
    SUCCESS_LOGOUT = "slo": "Success Logout";
    SUCCESS_SILENT_AUTH = "ssa": "Success Silent Auth";
    FAILED_SILENT_AUTH = "fsa": "Failed Silent Auth";
    SUCCESS_EXCHANGE_CODE = "seacft": "Success Exchange (Authorization Code for Access Token)";
    FAILED_EXCHANGE_CODE = "feacft": "Failed Exchange (Authorization Code for Access Token)";
    SUCCESS_EXCHANGE_CLIENT_CREDENTIALS = "seccft": "Success Exchange (Client Credentials for Access Token)";
    FAILED_EXCHANGE_CLIENT_CREDENTIALS = "feccft": "Failed Exchange (Client Credentials for Access Token)";
    SUCCESS_EXCHANGE_PASSWORD = "sepft": "Success Exchange (Password for Access Token)";
    FAILED_EXCHANGE_PASSWORD = "fepft": "Failed Exchange (Password for Access Token)";
    SUCCESS_EXCHANGE_REFRESH = "sertft": "Success Exchange (Refresh Token for Access Token)";
    FAILED_EXCHANGE_REFRESH = "fertft": "Failed Exchange (Refresh Token for Access Token)";
    FAILED_REFRESH_REUSE = "ferrt": "Failed Exchange (Rotating Refresh Token reused)";
    FAILED_EXCHANGE_PASSWORDLESS_OTP = "fepotpft": "Failed Exchange (Passwordless OTP for Access Token)";
    CODE_LINK_SENT = "cls": "Code/Link Sent";
    CODE_SENT = "cs": "Code Sent";
    SUCCESS_REVOCATION = "srrt": "Success Revocation (Refresh Token)";
    SUCCESS_API_OPERATION = "sapi": "Success API Operation";
    FAILED_API_OPERATION = "fapi": "Failed API Operation";
    SUCCESS_CHANGE_PASSWORD = "scp": "Success Change Password";
    FAILED_CHANGE_PASSWORD = "fcp": "Failed Change Password";
    SUCCESS_CHANGE_PASSWORD_REQUEST = "scpr": "Success Change Password Request";
    SUCCESS_VERIFICATION_EMAIL = "sv": "Success Verification Email";
    FAILED_VERIFICATION_EMAIL = "fv": "Failed Verification Email";
    DELETED_USER = "du": "Deleted User";
    SUCCESS_DELEGATION = "sd": "Success Delegation";
    ACTIONS_EXECUTION_FAILED = "actions_execution_failed": "Execution of an Action failed";
    MFA_REQUIRED = "mfar": "MFA Required";
    BLOCKED_FAILED_LOGINS = "limit_wc": "Blocked Account - Failed Logins";
    BLOCK_RELEASED = "ublkdu": "User login block released";
    BLOCKED_IP = "limit_mu": "Blocked IP Address";
    BREACHED_PASSWORD = "pwd_leak": "Breached password";
    BREACHED_PASSWORD_SIGNUP = "signup_pwd_leak": "Breached password on signup";
    BREACHED_PASSWORD_RESET = "reset_pwd_leak": "Breached password on reset";
    SUCCESS_EXCHANGE_MFA_OTP = "seotpft": "Success Exchange (Password and OTP for Access Token)";
    FAILED_EXCHANGE_MFA_OTP = "feotpft": "Failed Exchange (Password and OTP for Access Token)";
    SUCCESS_EXCHANGE_MFA_OOB = "seoobft": "Success Exchange (Password and OOB for Access Token)";
    FAILED_EXCHANGE_MFA_OOB = "feoobft": "Failed Exchange (Password and OOB for Access Token)";
    SUCCESS_EXCHANGE_MFA_RECOVERY_CODE = "sercft": "Success Exchange (Password and MFA Recovery code for Access Token)";
    FAILED_EXCHANGE_MFA_RECOVERY_CODE = "fercft": "Failed Exchange (Password and MFA Recovery code for Access Token)";
    MFA_ENROLLED = "gd_enrollment_complete": "Guardian enrollment complete";
    MFA_SUCCEEDED = "gd_auth_succeed": "OTP Auth success";
    MFA_FAILED = "gd_auth_failed": "OTP Auth failed";
    MFA_RECOVERY_SUCCEEDED = "gd_recovery_succeed": "Recovery success";
    MFA_RECOVERY_FAILED = "gd_recovery_failed": "Recovery failed";
    MFA_TOO_MANY_ATTEMPTS = "gd_otp_rate_limit_exceed": "Too many failures";
    MFA_EMAIL_SENT = "gd_send_email": "Email Sent";
    MFA_UNENROLLED = "gd_unenroll": "Unenroll device account";
    MFA_TENANT_UPDATED = "gd_tenant_update": "Guardian tenant update";
}

impl LogType {
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for LogType {
    fn from(code: &str) -> Self {
        LogType(code.to_owned())
    }
}

/// An event about to be logged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewLogEvent {
    /// When, in Unix milliseconds.
    pub date_ms: i64,
    /// Auth0 type code.
    pub log_type: Option<LogType>,
    /// What happened, in a sentence.
    pub description: Option<String>,
    /// The application involved.
    pub client_id: Option<ClientId>,
    /// Its name at the time.
    pub client_name: Option<String>,
    /// The user involved.
    pub user_id: Option<UserId>,
    /// Their name at the time.
    pub user_name: Option<String>,
    /// The connection involved, by name.
    pub connection: Option<String>,
    /// Its id (`con_…`).
    pub connection_id: Option<String>,
    /// Its strategy (`auth0` for a database connection).
    pub strategy: Option<String>,
    /// The strategy's kind (`database`, `social`, `enterprise`, `passwordless`).
    pub strategy_type: Option<String>,
    /// The API involved.
    pub audience: Option<String>,
    /// Scopes involved.
    pub scope: Option<String>,
    /// Caller's IP address.
    pub ip: Option<String>,
    /// Caller's user agent.
    pub user_agent: Option<String>,
    /// The host the request was for (the issuer's).
    pub hostname: Option<String>,
    /// Anything else, as JSON.
    pub details: JsonObject,
}

impl NewLogEvent {
    /// An event of `log_type` at `now` (Unix seconds), the rest to be filled in.
    pub fn new(log_type: &str, now: crate::UnixTime) -> Self {
        NewLogEvent {
            date_ms: now.0.saturating_mul(1000),
            log_type: Some(LogType::from(log_type)),
            ..NewLogEvent::default()
        }
    }
}

/// A logged event.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEvent {
    /// Sorts in write order.
    pub log_id: LogId,
    /// What was logged.
    pub event: NewLogEvent,
}

/// Which events a listing returns. Empty: all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Only this type.
    pub log_type: Option<LogType>,
    /// Only about this user.
    pub user_id: Option<UserId>,
    /// Only about this application.
    pub client_id: Option<ClientId>,
}
