//! Reading what the user hands over: a token from an argument or stdin, files, and the
//! `VALUE|@FILE` arguments (`--secret`, `--claims`).

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, bail};

/// The most read from stdin or from a file given with `@FILE`: far more than any token or key.
const MAX_INPUT: u64 = 1024 * 1024;

/// The token from `arg`, or from stdin when `arg` is absent or `-`. Surrounding whitespace and
/// a leading `Bearer ` (as copied from an `Authorization` header) are dropped.
pub(crate) fn token(arg: Option<&str>) -> anyhow::Result<String> {
    let text = match arg {
        Some(token) if token != "-" => token.to_owned(),
        _ => {
            let stdin = std::io::stdin();
            if arg.is_none() && stdin.is_terminal() {
                bail!("no token given: pass it as an argument, or pipe it on stdin");
            }
            let mut text = String::new();
            stdin
                .lock()
                .take(MAX_INPUT)
                .read_to_string(&mut text)
                .context("cannot read the token from stdin")?;
            text
        }
    };
    let token = text.trim();
    let token = match token.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => token[7..].trim_start(),
        _ => token,
    };
    if token.is_empty() {
        bail!("no token given: pass it as an argument, or pipe it on stdin");
    }
    Ok(token.to_owned())
}

/// The contents of `path`, described as `what` in errors ("key file", "JWKS file").
pub(crate) fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > MAX_INPUT {
        bail!(
            "{what} {} is larger than {MAX_INPUT} bytes; is it the right file?",
            path.display()
        );
    }
    Ok(bytes)
}

/// A `VALUE|@FILE` argument: the text itself, or the contents of FILE without one trailing
/// newline (so that `echo secret > file` works as expected).
pub(crate) fn value_or_file(arg: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(arg.as_bytes().to_vec());
    };
    let mut bytes = read_file(Path::new(path), what)?;
    if bytes.ends_with(b"\r\n") {
        bytes.truncate(bytes.len() - 2);
    } else if bytes.ends_with(b"\n") {
        bytes.truncate(bytes.len() - 1);
    }
    Ok(bytes)
}
