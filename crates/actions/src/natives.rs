//! The few things the prelude needs that JavaScript cannot do well on its own, as functions
//! written in Rust over aws-lc-rs: HMAC-SHA256 for `api.redirect.encodeToken` and
//! `validateToken`, and base64url for the tokens' parts. The prelude captures them before the
//! tenant's code runs; the tenant's code never reaches this object itself.

use aws_lc_rs::hmac;
use base64_simd::URL_SAFE_NO_PAD as B64;
use rquickjs::{Ctx, Function, Object};

/// `{ b64urlEncode, b64urlDecode, hs256, hs256Verify }`, for the prelude.
pub(crate) fn natives<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let natives = Object::new(ctx.clone())?;
    natives.set(
        "b64urlEncode",
        Function::new(ctx.clone(), |text: String| B64.encode_to_string(text))?,
    )?;
    // `null` for text that is not base64url of UTF-8.
    natives.set(
        "b64urlDecode",
        Function::new(ctx.clone(), |text: String| {
            B64.decode_to_vec(text.as_bytes())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
        })?,
    )?;
    natives.set(
        "hs256",
        Function::new(ctx.clone(), |secret: String, input: String| {
            let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
            B64.encode_to_string(hmac::sign(&key, input.as_bytes()))
        })?,
    )?;
    // Constant time, on the decoded tag.
    natives.set(
        "hs256Verify",
        Function::new(
            ctx.clone(),
            |secret: String, input: String, signature: String| {
                let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
                B64.decode_to_vec(signature.as_bytes())
                    .is_ok_and(|tag| hmac::verify(&key, input.as_bytes(), &tag).is_ok())
            },
        )?,
    )?;
    Ok(natives)
}
