//! The handlers, one module per endpoint family.

pub(crate) mod authorize;
pub(crate) mod consent;
pub(crate) mod dbconnections;
pub(crate) mod discovery;
pub(crate) mod federated;
pub(crate) mod form_csrf;
pub(crate) mod health;
pub(crate) mod legacy;
pub(crate) mod logout;
pub(crate) mod mfa;
pub(crate) mod mfa_api;
pub(crate) mod mfa_enrolment;
pub(crate) mod passwordless;
pub(crate) mod reset;
pub(crate) mod resume;
pub(crate) mod signup;
pub(crate) mod token;
pub(crate) mod userinfo;
