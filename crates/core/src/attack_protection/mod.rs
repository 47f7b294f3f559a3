//! Attack protection, as Auth0's: [`brute_force`] protection of the logins that try a
//! password (the password grants and the hosted login page), [`suspicious_ip`] throttling of
//! the addresses that fail logins across accounts or sign up in bulk, and [`breached`]-password
//! detection at logins, signups and password changes.

pub mod breached;
pub mod brute_force;
pub mod suspicious_ip;
