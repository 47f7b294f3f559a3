//! Multi-factor authentication (Auth0's Guardian factors), built up one factor at a time:
//!
//! - [`totp`]: RFC 6238 one-time passwords, the `otp` factor's codes (and its secrets in the
//!   form authenticator apps read).
//!
//! The factors' enrolment, the policy that asks for them, the hosted pages and the MFA API
//! come next (issue "Multi-factor authentication"); nothing reaches this module yet.

pub mod totp;
