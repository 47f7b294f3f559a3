//! `sigil serve`: bootstraps on first start, answers a machine's token request with the admin
//! credentials it wrote, and stops cleanly on SIGTERM; signs an ES256 API's tokens with the
//! P-256 keys `apis create --alg ES256` made, which `sigil jwt verify` checks with the served
//! JWKS.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::{check, init, scratch};

#[test]
fn serve_bootstraps_serves_tokens_and_stops_on_sigterm() {
    let dir = scratch("serve");
    let (mut child, mut stderr, base) = start(&dir);

    let credentials: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("sigil-data/admin-credentials.json")).unwrap(),
    )
    .unwrap();
    let body = serde_json::json!({
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "audience": credentials["audience"],
    });
    let http = reqwest::blocking::Client::new();
    let response = http
        .post(format!("{base}oauth/token"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let token: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    assert!(
        token["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert!(token["scope"].as_str().unwrap().contains("read:users"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{status:?}: {rest}");
    assert!(rest.contains("sigil: stopped"), "{rest}");
}

/// Starts `sigil serve --listen 127.0.0.1:0` in `dir`; returns the child, its stderr (past the
/// line naming the address) and its base URL (ending in `/`).
fn start(
    dir: &std::path::Path,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStderr>,
    String,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env_remove("SIGIL_MASTER_KEY")
        .env_remove("SIGIL_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:") && !w.ends_with(":8787/"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (child, stderr, base)
}

/// Kills the server when the test ends, whether it passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_es256_api_gets_tokens_that_verify_with_the_served_jwks() {
    let dir = scratch("serve_es256");
    let credentials = init(&dir);
    let client = credentials["client_id"].as_str().unwrap();
    let audience = "https://es256.example.com/";
    for args in [
        &[
            "apis",
            "create",
            "--identifier",
            audience,
            "--name",
            "ES",
            "--alg",
            "ES256",
            "--scope",
            "read:e",
        ][..],
        &[
            "grants", "create", "--client", client, "--api", audience, "--scope", "read:e",
        ][..],
    ] {
        check(&dir, args, "", 0, &[], &[]);
    }
    let (child, _stderr, base) = start(&dir);
    let _running = KillOnDrop(child);
    let http = reqwest::blocking::Client::new();
    let jwks_url = format!("{base}.well-known/jwks.json");
    let jwks: serde_json::Value =
        serde_json::from_str(&http.get(&jwks_url).send().unwrap().text().unwrap()).unwrap();
    let mut ktys: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kty"].as_str().unwrap())
        .collect();
    ktys.sort_unstable();
    assert_eq!(ktys, ["EC", "EC", "RSA", "RSA"]);

    let response = http
        .post(format!("{base}oauth/token"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({
                "grant_type": "client_credentials",
                "client_id": client,
                "client_secret": credentials["client_secret"],
                "audience": audience,
            })
            .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    let token = answer["access_token"].as_str().unwrap();
    // `sigil jwt verify` (run while the server runs) fetches the JWKS and checks everything.
    let issuer = "http://127.0.0.1:8787/";
    let verified = check(
        &dir,
        &[
            "jwt", "verify", token, "--jwks", &jwks_url, "--alg", "ES256", "--iss", issuer,
            "--aud", audience,
        ],
        "",
        0,
        &["read:e"],
        &[],
    );
    assert!(
        verified.stdout.contains("client-credentials"),
        "{}",
        verified.stdout
    );
}

#[test]
fn serve_on_an_address_in_use_is_a_one_line_error() {
    let dir = scratch("serve_busy");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    check(
        &dir,
        &["serve", "--listen", &address],
        "",
        2,
        &[],
        &[&format!(
            "cannot listen on {address}; choose another --listen address"
        )],
    );
}
