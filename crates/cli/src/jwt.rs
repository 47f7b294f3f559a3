//! `sigil jwt`: the JWT debugger (decode, verify, sign).

pub(crate) mod decode;
mod reason;
pub(crate) mod sign;
pub(crate) mod verify;
