//! `RequireScope` and `RequirePermission`, all-of and any-of, as layers and in a handler.

use serde_json::json;
use sigil_jose::Algorithm;

use crate::issuer::{Api, Issuer, Key, clock};

#[tokio::test]
async fn routes_answer_403_with_the_scopes_they_need() {
    let rs = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&rs]).await;
    let clock = clock();
    let guard = issuer.guard(&clock).build().await.unwrap();
    let api = Api::start(&guard).await;
    let token = |scope: Option<&str>, permissions: &[&str]| {
        let mut claims = issuer.claims();
        match scope {
            Some(scope) => claims["scope"] = json!(scope),
            None => drop(claims.as_object_mut().unwrap().remove("scope")),
        }
        claims["permissions"] = json!(permissions);
        rs.sign(&claims)
    };
    let read = token(Some("openid read:messages"), &[]);
    let write = token(Some("write:messages"), &[]);
    let both = token(Some("read:messages write:messages"), &[]);
    let none = token(None, &[]);
    let near = token(Some("read:messagesX read"), &[]);
    let stats = token(Some(""), &["read:stats"]);
    let admin = token(Some(""), &["admin", "read:stats"]);

    for (path, token, status, needed) in [
        ("/read", &read, 200, None),
        ("/read", &write, 403, Some("read:messages")),
        ("/read", &none, 403, Some("read:messages")),
        ("/read", &near, 403, Some("read:messages")),
        (
            "/read-write",
            &read,
            403,
            Some("read:messages write:messages"),
        ),
        ("/read-write", &both, 200, None),
        ("/read-or-write", &read, 200, None),
        ("/read-or-write", &write, 200, None),
        (
            "/read-or-write",
            &none,
            403,
            Some("read:messages write:messages"),
        ),
        ("/handler", &read, 403, Some("write:messages")),
        ("/handler", &write, 200, None),
        ("/stats", &stats, 200, None),
        ("/stats", &admin, 200, None),
        ("/stats", &read, 403, Some("read:stats admin")),
        ("/admin", &stats, 403, Some("read:stats admin")),
        ("/admin", &admin, 200, None),
        ("/any", &none, 200, None),
        ("/read", &"x.y.z".to_owned(), 401, None),
    ] {
        let answer = api.call(path, token).await;
        assert_eq!(answer.status, status, "{path}: {answer:?}");
        if let Some(needed) = needed {
            assert_eq!(answer.error(), "insufficient_scope", "{path}");
            let challenge = answer.challenge.as_deref().unwrap();
            assert!(
                challenge.ends_with(&format!(", scope=\"{needed}\"")),
                "{path}: {challenge}"
            );
            assert_eq!(answer.body["error"], "insufficient_scope");
            assert_eq!(answer.body["scope"], needed);
        }
    }
}
