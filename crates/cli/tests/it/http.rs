//! `--jwks URL` and `--issuer URL` (OpenID Connect discovery) against a local server.

use crate::server::{Server, closed_port};
use crate::{check, check_env, generate, scratch, sign};

#[test]
fn jwks_url_and_discovery() {
    let dir = scratch("http_discovery");
    let jwk = generate(&dir, "ES384", "k.pem", &[]);
    let jwks = serde_json::json!({ "keys": [jwk] }).to_string();

    let server = Server::bind();
    let base = server.base.clone();
    let issuer = format!("{base}/");
    let tenant = format!("{base}/tenant/");
    let discovery = |iss: &str| {
        serde_json::json!({"issuer": iss, "jwks_uri": format!("{base}/jwks.json")}).to_string()
    };
    server.serve(vec![
        (
            "/.well-known/openid-configuration".into(),
            200,
            discovery(&issuer),
        ),
        (
            "/tenant/.well-known/openid-configuration".into(),
            200,
            discovery(&tenant),
        ),
        (
            "/liar/.well-known/openid-configuration".into(),
            200,
            discovery("https://elsewhere/"),
        ),
        ("/jwks.json".into(), 200, jwks),
        ("/html".into(), 200, "<html>hello</html>".into()),
    ]);

    let token = sign(
        &dir,
        &[
            "--key", "k.pem", "--exp", "1h", "--iss", &issuer, "--aud", "api",
        ],
    );
    let tenant_token = sign(&dir, &["--key", "k.pem", "--exp", "1h", "--iss", &tenant]);
    let jwks_url = format!("{base}/jwks.json");
    let no_slash = base.clone();
    let valid: &[&[&str]] = &[
        &["--jwks", &jwks_url, "--aud", "api", &token],
        &["--issuer", &issuer, &token],
        &["--issuer", &no_slash, "--aud", "api", &token],
        &["--issuer", &tenant, &tenant_token],
        &["--issuer", tenant.trim_end_matches('/'), &tenant_token],
        &["--issuer", &tenant, "--iss", &issuer, &token],
    ];
    for args in valid {
        let all = [&["jwt", "verify"][..], args].concat();
        check(&dir, &all, "", 0, &["\"exp\""], &[]);
    }

    let wrong_iss = format!(
        "invalid: issuer {:?} is not the expected {tenant:?} (from the discovery document)",
        issuer
    );
    let liar = format!("{base}/liar");
    let html = format!("{base}/html");
    let missing = format!("{base}/missing.json");
    let failing: &[(&[&str], i32, &str)] = &[
        (&["--issuer", &tenant, &token], 1, &wrong_iss),
        (
            &["--issuer", &liar, &token],
            2,
            "names issuer \"https://elsewhere/\"",
        ),
        (
            &["--jwks", &html, &token],
            2,
            "is unusable: invalid JWK: not a JWK Set",
        ),
        (
            &["--jwks", &missing, &token],
            2,
            "answered HTTP 404 Not Found",
        ),
        (&["--issuer", &html, &token], 2, "error: GET"),
    ];
    for (args, code, stderr) in failing {
        let all = [&["jwt", "verify"][..], args].concat();
        check(&dir, &all, "", *code, &[], &[stderr]);
    }
}

#[test]
fn unreachable_urls_fail_in_one_line() {
    let dir = scratch("http_unreachable");
    generate(&dir, "ES256", "k.pem", &[]);
    let token = sign(&dir, &["--key", "k.pem", "--exp", "1h"]);
    let port = closed_port();
    let jwks = format!("http://127.0.0.1:{port}/jwks.json");
    let issuer = format!("http://127.0.0.1:{port}/");
    for args in [["--jwks", &jwks], ["--issuer", &issuer]] {
        let all = [&["jwt", "verify"][..], &args, &[&token]].concat();
        check(
            &dir,
            &all,
            "",
            2,
            &[],
            &["error: cannot reach http://127.0.0.1:", "check the URL"],
        );
    }
}

/// The global `--issuer` and `SIGIL_ISSUER` configure the server; `jwt verify` only discovers
/// when its own `--issuer` is written after it.
#[test]
fn global_issuer_does_not_trigger_discovery() {
    let dir = scratch("http_global_issuer");
    generate(&dir, "ES256", "k.pem", &[]);
    let token = sign(&dir, &["--key", "k.pem", "--exp", "1h"]);
    let nowhere = format!("http://127.0.0.1:{}/", closed_port());
    check_env(
        &dir,
        &[("SIGIL_ISSUER", &nowhere)],
        &["jwt", "verify", "--key", "k.pem", &token],
        "",
        0,
        &["\"exp\""],
        &[],
    );
    check(
        &dir,
        &[
            "--issuer", &nowhere, "jwt", "verify", "--key", "k.pem", &token,
        ],
        "",
        0,
        &["\"exp\""],
        &[],
    );
    check(
        &dir,
        &[
            "jwt", "--issuer", &nowhere, "verify", "--key", "k.pem", &token,
        ],
        "",
        0,
        &["\"exp\""],
        &[],
    );
    // Typed after `verify`, it is verify's --issuer, and only one key source is allowed.
    check(
        &dir,
        &[
            "jwt", "verify", "--issuer", &nowhere, "--key", "k.pem", &token,
        ],
        "",
        2,
        &[],
        &["cannot be used with", "run 'sigil jwt verify --help'"],
    );
    check_env(
        &dir,
        &[("SIGIL_ISSUER", &nowhere)],
        &["jwt", "verify", &token],
        "",
        2,
        &[],
        &["the following required arguments were not provided"],
    );
}
