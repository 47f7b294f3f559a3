//! The quick start's second half: tokens from Sigil's token endpoint at each route.

use serde_json::json;

use crate::api::Api;
use crate::sigil::{MESSAGES, Sigil};

#[tokio::test]
async fn each_route_answers_as_the_quick_start_says() {
    let sigil = Sigil::start().await;
    let api = Api::start(&sigil).await;
    let writer = sigil.token(&sigil.writer, MESSAGES).await;
    let reader = sigil.token(&sigil.reader, MESSAGES).await;
    let writer_sub = format!("{}@clients", sigil.writer.0.as_str());
    let hello = r#"{"text":"hello"}"#;

    // (method, path, token, body, status, challenge error, what the body must hold)
    let cases = [
        (
            "GET",
            "/api/public",
            None,
            None,
            200,
            "-",
            json!({"message": "Hello from a public endpoint! You don't need to be authenticated to see this."}),
        ),
        (
            "GET",
            "/api/public",
            Some("garbage"),
            None,
            200,
            "-",
            json!({}),
        ),
        (
            "GET",
            "/api/private",
            Some(&writer),
            None,
            200,
            "-",
            json!({"sub": writer_sub}),
        ),
        (
            "GET",
            "/api/private",
            Some(&reader),
            None,
            200,
            "-",
            json!({}),
        ),
        (
            "GET",
            "/api/private",
            None,
            None,
            401,
            "-",
            json!({"error": "unauthorized"}),
        ),
        (
            "GET",
            "/api/messages",
            None,
            None,
            401,
            "-",
            json!({"error": "unauthorized"}),
        ),
        (
            "GET",
            "/api/messages",
            Some("garbage"),
            None,
            401,
            "invalid_token",
            json!({"error": "invalid_token"}),
        ),
        (
            "GET",
            "/api/messages",
            Some(&reader),
            None,
            200,
            "-",
            json!([]),
        ),
        (
            "POST",
            "/api/messages",
            Some(&reader),
            Some(hello),
            403,
            "insufficient_scope",
            json!({"error": "insufficient_scope", "scope": "write:messages"}),
        ),
        (
            "POST",
            "/api/messages",
            None,
            Some(hello),
            401,
            "-",
            json!({}),
        ),
        (
            "POST",
            "/api/messages",
            Some(&writer),
            Some(hello),
            201,
            "-",
            json!({"id": 1, "text": "hello", "author": writer_sub}),
        ),
        (
            "POST",
            "/api/messages",
            Some(&writer),
            Some("{\"text\":"),
            400,
            "-",
            json!({"error": "invalid_request"}),
        ),
        (
            "POST",
            "/api/messages",
            Some(&writer),
            Some(r#"{"text":"  "}"#),
            400,
            "-",
            json!({"error": "invalid_request"}),
        ),
        (
            "POST",
            "/api/messages",
            Some(&writer),
            Some(&json!({"text": "x".repeat(1001)}).to_string()),
            400,
            "-",
            json!({"error": "invalid_request"}),
        ),
        (
            "GET",
            "/api/messages",
            Some(&writer),
            None,
            200,
            "-",
            json!([{"id": 1, "text": "hello", "author": writer_sub}]),
        ),
    ];
    for (method, path, token, body, status, error, expected) in cases {
        let answer = api.send(method, path, token, body).await;
        let name = format!("{method} {path} {status}");
        assert_eq!(answer.status, status, "{name}: {answer:?}");
        assert_eq!(answer.error(), error, "{name}: {answer:?}");
        match &expected {
            serde_json::Value::Object(members) => {
                for (member, value) in members {
                    assert_eq!(&answer.body[member], value, "{name}: {answer:?}");
                }
            }
            other => assert_eq!(&answer.body, other, "{name}"),
        }
        if status == 401 || status == 403 {
            let challenge = answer.challenge.unwrap();
            assert!(
                challenge.starts_with(&format!("Bearer realm=\"{MESSAGES}\"")),
                "{challenge}"
            );
        }
    }
}
