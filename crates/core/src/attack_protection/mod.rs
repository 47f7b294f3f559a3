//! Attack protection, as Auth0's: [`brute_force`] protection of the logins that try a
//! password (the password grants and the hosted login page).

pub mod brute_force;
