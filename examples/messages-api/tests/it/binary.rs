//! The `messages-api` binary: flags and environment, start-up against Sigil, and the error
//! when Sigil is not there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::sigil::{MESSAGES, Sigil};

const BIN: &str = env!("CARGO_BIN_EXE_messages-api");

#[tokio::test]
async fn the_binary_serves_with_flags_or_environment() {
    let sigil = Sigil::start().await;
    let token = sigil.token(&sigil.reader, MESSAGES).await;
    let flags = [
        "--issuer",
        &sigil.issuer,
        "--audience",
        MESSAGES,
        "--listen",
        "127.0.0.1:0",
    ];
    for by_env in [false, true] {
        let mut command = Command::new(BIN);
        if by_env {
            command
                .env("ISSUER", &sigil.issuer)
                .env("AUDIENCE", MESSAGES)
                .env("LISTEN", "127.0.0.1:0");
        } else {
            command.args(flags);
        }
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        // "messages-api: listening on http://127.0.0.1:PORT/ (issuer …, audience …)"
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stderr).read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        let client = reqwest::Client::new();
        let status = client
            .get(format!("{url}api/messages"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(status, 200, "by_env={by_env}: {line}");
    }
}

#[test]
fn without_its_issuer_the_binary_says_so_in_one_line() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    for (args, expected) in [
        (
            vec!["--issuer", &closed, "--audience", MESSAGES],
            "messages-api: cannot start: cannot fetch",
        ),
        (vec!["--audience", MESSAGES], "--issuer <ISSUER>"),
    ] {
        let output = Command::new(BIN)
            .args(&args)
            .env_remove("ISSUER")
            .env_remove("AUDIENCE")
            .env_remove("LISTEN")
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
