//! `sigil serve`: bootstraps on first start, answers a machine's token request with the admin
//! credentials it wrote, and stops cleanly on SIGTERM; signs an ES256 API's tokens with the
//! P-256 keys `apis create --alg ES256` made, which `sigil jwt verify` checks with the served
//! JWKS.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};

use crate::{check, generate, init, json, scratch, sign};

/// A running `sigil serve`, killed when dropped (a failing test included).
pub(crate) struct Served {
    child: Child,
    stderr: Option<BufReader<ChildStderr>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sigil serve` on a free port in `dir`, with nothing of the caller's environment but `env`,
/// its log output (stdout) going to `stdout`: the server, and the base URL it serves.
pub(crate) fn start_env(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    stdout: Stdio,
) -> (Served, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(["serve", "--listen", "127.0.0.1:0", "--drain-seconds", "0"])
        .current_dir(dir)
        // No SIGIL_* settings from the developer's shell: the data directory is `dir`'s.
        .env_clear()
        .envs(env.iter().copied())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut served = Served {
        child,
        stderr: None,
    };
    // The bootstrap's lines come first on a first start; then the address.
    let mut seen = String::new();
    let base = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = served.child.wait();
            panic!("sigil serve stopped before serving: {seen}");
        }
        if let Some(base) = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:") && line.contains("serving"))
        {
            break base.to_owned();
        }
        seen.push_str(&line);
    };
    served.stderr = Some(stderr);
    (served, base)
}

/// [`start_env`] with an empty environment, its logs thrown away.
pub(crate) fn start(dir: &std::path::Path) -> (Served, String) {
    start_env(dir, &[], Stdio::null())
}

/// Stops the server with SIGTERM and checks that it stopped cleanly.
pub(crate) fn stop(mut served: Served) {
    let killed = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = served.child.wait().unwrap();
    let mut rest = String::new();
    if let Some(mut stderr) = served.stderr.take() {
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    }
    assert!(status.success(), "{status:?}: {rest}");
    assert!(rest.contains("sigil: stopped"), "{rest}");
}

/// The token response `sigil init`'s admin client gets from the served Sigil at `base` with
/// its `credentials` (admin-credentials.json), asserted to be a 200.
pub(crate) fn admin_token(base: &str, credentials: &serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "audience": credentials["audience"],
    });
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}oauth/token"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    serde_json::from_str(&response.text().unwrap()).unwrap()
}

#[test]
fn serve_bootstraps_serves_tokens_and_stops_on_sigterm() {
    let dir = scratch("serve");
    let (served, base) = start(&dir);

    let credentials: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("sigil-data/admin-credentials.json")).unwrap(),
    )
    .unwrap();
    let token = admin_token(&base, &credentials);
    assert!(
        token["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert!(token["scope"].as_str().unwrap().contains("read:users"));
    stop(served);
}

/// The whole private_key_jwt path with nothing but the binary: a key from `sigil keys
/// generate`, a client registered with its public half, an assertion from `sigil jwt sign`,
/// and a token from `sigil serve`, once per assertion.
#[test]
fn a_private_key_jwt_client_made_with_the_cli_gets_tokens_from_serve() {
    let dir = scratch("serve_pkjwt");
    let admin = init(&dir);
    let jwk = generate(&dir, "ES256", "client.key", &[]);
    std::fs::write(dir.join("client.jwk"), jwk.to_string()).unwrap();
    let out = check(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Keyed",
            "--type",
            "non_interactive",
            "--auth-method",
            "private_key_jwt",
            "--public-key",
            "client.jwk",
            "--json",
        ],
        "",
        0,
        &[],
        &[],
    );
    let client_id = json(&out)["client_id"].as_str().unwrap().to_owned();
    let audience = admin["audience"].as_str().unwrap();
    check(
        &dir,
        &[
            "grants",
            "create",
            "--client",
            &client_id,
            "--api",
            audience,
            "--scope",
            "read:users",
        ],
        "",
        0,
        &[],
        &[],
    );
    let (served, base) = start(&dir);
    let issuer = "http://127.0.0.1:8787/";
    let assertion = sign(
        &dir,
        &[
            "--key",
            "client.key",
            "--iss",
            &client_id,
            "--sub",
            &client_id,
            "--aud",
            issuer,
            "--exp",
            "1m",
            "--claims",
            r#"{"jti":"the-one-and-only"}"#,
        ],
    );
    let body = serde_json::json!({
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "audience": audience,
    });
    let http = reqwest::blocking::Client::new();
    let send = || {
        http.post(format!("{base}oauth/token"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap()
    };
    let first = send();
    assert_eq!(first.status().as_u16(), 200);
    let token: serde_json::Value = serde_json::from_str(&first.text().unwrap()).unwrap();
    assert_eq!(token["scope"], "read:users");
    let replay = send();
    assert_eq!(replay.status().as_u16(), 401, "a replayed assertion");
    stop(served);
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
    let (_served, base) = start(&dir);
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

#[test]
fn tenant_set_switches_the_legacy_endpoints_of_a_running_server_at_once() {
    let dir = scratch("serve_tenant");
    let (served, base) = start(&dir);
    let http = reqwest::blocking::Client::new();
    let tokeninfo = || {
        http.post(format!("{base}tokeninfo"))
            .header("content-type", "application/json")
            .body(r#"{"id_token":"not.a.token"}"#)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };

    // Off by default: 404, as Auth0's. On: the endpoint answers (here, refusing a bad token).
    assert_eq!(tokeninfo(), 404);
    check(
        &dir,
        &["tenant", "set", "--legacy-tokeninfo", "on"],
        "",
        0,
        &[],
        &[],
    );
    assert_eq!(tokeninfo(), 401);
    check(
        &dir,
        &["tenant", "set", "--legacy-tokeninfo", "off"],
        "",
        0,
        &[],
        &[],
    );
    assert_eq!(tokeninfo(), 404);

    stop(served);
}

#[test]
fn serve_refuses_a_missing_or_broken_templates_directory_in_one_line() {
    let dir = scratch("serve_templates");
    check(
        &dir,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--templates",
            "no-such-dir",
        ],
        "",
        2,
        &[],
        &["the templates directory no-such-dir does not exist"],
    );
    // The data directory's templates/ is used on its own; a broken file there stops serve.
    let templates = dir.join("sigil-data/templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("error.html"), "{% block main %}unclosed").unwrap();
    check(
        &dir,
        &["serve", "--listen", "127.0.0.1:0"],
        "",
        2,
        &[],
        &["a page template is broken", "error.html"],
    );
}

/// SIGTERM drains: `/readyz` turns 503 at once while requests are still served for
/// `--drain-seconds`, then the process stops, well within 10 s.
#[test]
fn sigterm_turns_readiness_off_first_then_stops() {
    let dir = scratch("serve_drain");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--drain-seconds",
            "2",
            "--tenant-events",
            "off",
            "--metrics",
            "off",
        ])
        .current_dir(&dir)
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let served = Served {
        child,
        stderr: None,
    };
    let base = loop {
        let mut line = String::new();
        assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "serve stopped");
        if line.contains("serving") {
            break line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .unwrap()
                .to_owned();
        }
    };
    let http = reqwest::blocking::Client::new();
    let ready = || {
        http.get(format!("{base}readyz"))
            .send()
            .map(|r| r.status().as_u16())
    };
    assert_eq!(ready().unwrap(), 200);
    let pid = served.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Draining: not ready, yet still answering.
    let mut statuses = Vec::new();
    for _ in 0..50 {
        match ready() {
            Ok(status) => statuses.push(status),
            Err(_) => break,
        }
        if statuses.last() == Some(&503) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
    let healthz = http.get(format!("{base}healthz")).send().unwrap();
    assert_eq!(
        healthz.status().as_u16(),
        200,
        "still serving while draining"
    );
    let mut served = served;
    let status = served.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("sigil: stopped"), "{rest}");
}

#[test]
fn bad_serve_options_are_one_line_errors() {
    let dir = scratch("serve_bad_options");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--trusted-proxies", "10.0.0.0/8,nope"],
            "\"nope\" is not an IP address or CIDR block",
        ),
        (
            &["--log", "sigil_server=loud"],
            "write a level (info, debug)",
        ),
        (
            &["--log-format", "xml"],
            "invalid value 'xml' for '--log-format",
        ),
        (
            &["--max-connections", "0"],
            "invalid value '0' for '--max-connections",
        ),
        (
            &["--header-timeout", "0"],
            "invalid value '0' for '--header-timeout",
        ),
    ];
    for (flags, message) in cases {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        check(&dir, &args, "", 2, &[], &[message]);
    }
    // The mail settings: the error names the setting, never the URL (it holds a password).
    std::fs::write(dir.join("not-a-ca.pem"), "hello\n").unwrap();
    let mail: &[(&[&str], &str)] = &[
        (
            &["--smtp-url", "ftp://sigil:SMTP-SECRET@mail.example.com"],
            "--smtp-url: the scheme is ftp; write smtp:// (STARTTLS) or smtps://",
        ),
        (
            &[
                "--smtp-url",
                "smtps://sigil:SMTP-SECRET@mail.example.com?tls=none",
            ],
            "--smtp-url: unknown parameter tls=none",
        ),
        (
            &["--smtp-url", "//sigil:SMTP-SECRET@mail.example.com"],
            "--smtp-url: not a URL",
        ),
        (
            &["--mail-from", "Sigil <login@example.com"],
            "--mail-from: \"Sigil <login@example.com\" is not an address",
        ),
        (
            &["--smtp-ca-file", "missing.pem"],
            "cannot read --smtp-ca-file missing.pem",
        ),
        (
            &["--smtp-ca-file", "not-a-ca.pem"],
            "--smtp-ca-file holds no PEM certificate",
        ),
        (
            &["--mail-retry-seconds", "0"],
            "invalid value '0' for '--mail-retry-seconds",
        ),
    ];
    for (flags, message) in mail {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let out = check(&dir, &args, "", 2, &[], &[message]);
        assert!(!out.stderr.contains("SMTP-SECRET"), "{}", out.stderr);
    }
    assert!(!dir.join("sigil-data").exists(), "nothing was created");
}
