//! The few things the prelude needs that JavaScript cannot do well on its own, as functions
//! written in Rust over aws-lc-rs: HMAC-SHA256 for `api.redirect.encodeToken` and
//! `validateToken`, base64url for the tokens' parts, and the hashes, HMACs and randomness of
//! the built-in `crypto` module. The prelude captures them before the
//! tenant's code runs; the tenant's code never reaches this object itself.

use aws_lc_rs::{digest, hmac};
use base64_simd::URL_SAFE_NO_PAD as B64;
use rquickjs::{Ctx, Function, Object};

use crate::bytecode;

/// `{ b64urlEncode, b64urlDecode, hs256, hs256Verify, digest, randomHex, part }`, for the
/// prelude.
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
    // digest(algorithm, key or null, data, encoding): a hash, or an HMAC with a key; null for
    // an algorithm or encoding it does not know.
    natives.set(
        "digest",
        Function::new(
            ctx.clone(),
            |algorithm: String, key: Option<String>, data: String, encoding: String| {
                let bytes = match key {
                    Some(key) => {
                        let algorithm = match algorithm.as_str() {
                            "sha1" => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                            "sha256" => hmac::HMAC_SHA256,
                            "sha384" => hmac::HMAC_SHA384,
                            "sha512" => hmac::HMAC_SHA512,
                            _ => return None,
                        };
                        let key = hmac::Key::new(algorithm, key.as_bytes());
                        hmac::sign(&key, data.as_bytes()).as_ref().to_vec()
                    }
                    None => {
                        let algorithm = match algorithm.as_str() {
                            "sha1" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
                            "sha256" => &digest::SHA256,
                            "sha384" => &digest::SHA384,
                            "sha512" => &digest::SHA512,
                            _ => return None,
                        };
                        digest::digest(algorithm, data.as_bytes()).as_ref().to_vec()
                    }
                };
                encode(&bytes, &encoding)
            },
        )?,
    )?;
    // part(name): one of the prelude's parts, loaded now (see `bytecode`).
    natives.set(
        "part",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, name: String| {
            bytecode::load(&ctx, &name)
        })?,
    )?;
    // urlParse(input, base or undefined): WHATWG's parts of the URL, as JSON; null when it is
    // not one.
    natives.set(
        "urlParse",
        Function::new(ctx.clone(), |input: String, base: Option<String>| {
            let url = match base {
                Some(base) => url::Url::parse(&base).and_then(|base| base.join(&input)),
                None => url::Url::parse(&input),
            };
            url.ok().map(|url| url_parts(&url).to_string())
        })?,
    )?;
    natives.set(
        "randomHex",
        Function::new(ctx.clone(), |bytes: usize| {
            let mut buffer = vec![0u8; bytes.min(65_536)];
            aws_lc_rs::rand::fill(&mut buffer).ok()?;
            encode(&buffer, "hex")
        })?,
    )?;
    Ok(natives)
}

/// `bytes` as Node's `digest(encoding)` gives them.
fn encode(bytes: &[u8], encoding: &str) -> Option<String> {
    match encoding {
        "hex" => Some(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        "base64" => Some(base64_simd::STANDARD.encode_to_string(bytes)),
        "base64url" => Some(B64.encode_to_string(bytes)),
        _ => None,
    }
}

/// The parts of `url` as WHATWG's `URL` has them, and the two prefixes the prelude rebuilds it
/// from (`prefix`: up to the query; `origin_part`: up to the path).
fn url_parts(url: &url::Url) -> serde_json::Value {
    let hostname = match url.host() {
        Some(url::Host::Ipv6(address)) => format!("[{address}]"),
        Some(host) => host.to_string(),
        None => String::new(),
    };
    let port = url.port().map(|p| p.to_string()).unwrap_or_default();
    let host = if port.is_empty() {
        hostname.clone()
    } else {
        format!("{hostname}:{port}")
    };
    let nonempty = |prefix: char, part: Option<&str>| {
        part.filter(|p| !p.is_empty())
            .map(|p| format!("{prefix}{p}"))
            .unwrap_or_default()
    };
    serde_json::json!({
        "href": url.as_str(),
        "origin": url.origin().ascii_serialization(),
        "protocol": format!("{}:", url.scheme()),
        "username": url.username(),
        "password": url.password().unwrap_or_default(),
        "host": host,
        "hostname": hostname,
        "port": port,
        "pathname": url.path(),
        "search": nonempty('?', url.query()),
        "hash": nonempty('#', url.fragment()),
        "prefix": &url[..url::Position::AfterPath],
        "origin_part": &url[..url::Position::BeforePath],
    })
}
