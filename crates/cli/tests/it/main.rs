//! Integration tests for the `sigil` binary: every case runs the real executable through
//! [`check`], with a cleared environment and piped stdin, in a scratch directory of its own.

// Helpers fail the test by panicking, as assertions do; clippy's allow-expect-in-tests covers
// only `#[test]` functions, not the helpers they share.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod admin;
mod config;
mod decode;
mod http;
mod import;
mod init;
mod input_errors;
mod keys;
mod logs;
mod migrate;
mod outbox;
mod postgres;
mod serve;
mod server;
mod sign;
mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;

/// What a run printed.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `sigil args…` in `dir` with `stdin` and checks that it exits with `code` and that its
/// stdout and stderr contain each of the given substrings.
///
/// Every run is also held to the error rules of DESIGN.md: no panic, no backtrace, and a
/// failing run writes exactly one line to stderr.
pub(crate) fn check(
    dir: &Path,
    args: &[&str],
    stdin: &str,
    code: i32,
    stdout: &[&str],
    stderr: &[&str],
) -> Output {
    check_env(dir, &[], args, stdin, code, stdout, stderr)
}

/// [`check`] with environment variables set for the child.
pub(crate) fn check_env(
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
    code: i32,
    stdout: &[&str],
    stderr: &[&str],
) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(args)
        .current_dir(dir)
        // No SIGIL_* settings and no proxies from the developer's shell; a panic would print a
        // backtrace, which the checks below would catch.
        .env_clear()
        .env("RUST_BACKTRACE", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sigil binary starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin is writable");
    let output = child.wait_with_output().expect("sigil finishes");
    let out = Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let context = || {
        format!(
            "sigil {args:?}\n--- stdout:\n{}--- stderr:\n{}",
            out.stdout, out.stderr
        )
    };
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code of {}",
        context()
    );
    for want in stdout {
        assert!(
            out.stdout.contains(want),
            "stdout lacks {want:?}: {}",
            context()
        );
    }
    for want in stderr {
        assert!(
            out.stderr.contains(want),
            "stderr lacks {want:?}: {}",
            context()
        );
    }
    for banned in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(
            !out.stderr.contains(banned),
            "stderr has {banned:?}: {}",
            context()
        );
    }
    if code != 0 {
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "not one line: {}",
            context()
        );
    }
    out
}

/// A fresh, empty directory for one test, under Cargo's scratch space for integration tests.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("sigil-it")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Unpadded base64url, as JWTs use.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with the same header and signature as `token` but other claims: its signature
/// cannot match.
pub(crate) fn with_claims(token: &str, claims: &str) -> String {
    let mut parts = token.split('.');
    let header = parts.next().expect("header");
    let signature = parts.nth(1).expect("signature");
    format!("{header}.{}.{signature}", b64(claims.as_bytes()))
}

/// Generates a key for `alg` into `dir/name`; returns the JWK it printed (public, or the
/// private oct JWK for HMAC).
pub(crate) fn generate(dir: &Path, alg: &str, name: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["keys", "generate", "--alg", alg, "--out", name];
    args.extend_from_slice(extra);
    let out = check(dir, &args, "", 0, &[], &[]);
    let json = if alg.starts_with("HS") {
        std::fs::read_to_string(dir.join(name)).expect("oct JWK file")
    } else {
        out.stdout
    };
    serde_json::from_str(&json).expect("the JWK is JSON")
}

/// Signs with `sigil jwt sign` and returns the token.
pub(crate) fn sign(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["jwt", "sign"];
    all.extend_from_slice(args);
    check(dir, &all, "", 0, &[], &[]).stdout.trim().to_owned()
}

/// Writes `{"keys":[jwk…]}` to `dir/name`.
pub(crate) fn write_jwks(dir: &Path, name: &str, jwks: &[&serde_json::Value]) {
    let set = serde_json::json!({ "keys": jwks });
    std::fs::write(dir.join(name), set.to_string()).expect("JWKS file");
}

/// A 32-byte master key in its text form (`SIGIL_MASTER_KEY`), every byte `byte`.
pub(crate) fn master_key(byte: u8) -> String {
    b64(&[byte; 32])
}

/// Parses what a command printed with `--json`.
pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", out.stdout))
}

/// Runs `sigil init` in `dir` (default data directory and SQLite file) and returns the admin
/// credentials it wrote.
pub(crate) fn init(dir: &Path) -> serde_json::Value {
    check(dir, &["init"], "", 0, &["initialised"], &[]);
    let text = std::fs::read_to_string(dir.join("sigil-data/admin-credentials.json"))
        .expect("admin-credentials.json");
    serde_json::from_str(&text).expect("admin-credentials.json is JSON")
}
