//! `sigil outbox`: the mail a running server queued (a password reset, a signup's verification
//! link), newest first, filtered by recipient, limited, as text or JSON.

use crate::serve::{start, stop};
use serde_json::json;

use crate::{check, init, json, scratch};

#[test]
fn outbox_prints_queued_mail_newest_first() {
    let dir = scratch("outbox");
    let credentials = init(&dir);
    check(&dir, &["outbox"], "", 0, &["The outbox is empty."], &[]);
    check(
        &dir,
        &[
            "users",
            "create",
            "--email",
            "cy@example.com",
            "--password",
            "Sup3r-Secret",
        ],
        "",
        0,
        &[],
        &[],
    );

    let (served, base) = start(&dir);
    let http = reqwest::blocking::Client::new();
    for (path, body) in [
        (
            "dbconnections/change_password",
            serde_json::json!({"client_id": credentials["client_id"], "connection": "Username-Password-Authentication", "email": "cy@example.com"}),
        ),
        (
            "dbconnections/signup",
            serde_json::json!({"client_id": credentials["client_id"], "connection": "Username-Password-Authentication", "email": "dee@example.com", "password": "Sup3r-Secret"}),
        ),
    ] {
        let response = http
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    stop(served);

    let all = check(
        &dir,
        &["outbox"],
        "",
        0,
        &[
            "To:      dee@example.com",
            "Subject: Verify your email",
            "Kind:    reset_password",
            "Status:  queued (0 attempts)",
            "u/reset-password?ticket=",
        ],
        &[],
    );
    let dee = all.stdout.find("dee@example.com").unwrap();
    let cy = all.stdout.find("To:      cy@example.com").unwrap();
    assert!(dee < cy, "newest first: {}", all.stdout);

    let only = json(&check(
        &dir,
        &["outbox", "--to", "cy@example.com", "--json"],
        "",
        0,
        &[],
        &[],
    ));
    let mails = only.as_array().unwrap();
    assert_eq!(mails.len(), 1, "{only}");
    assert_eq!(mails[0]["to"], "cy@example.com");
    assert_eq!(mails[0]["kind"], "reset_password");
    // No mail provider: the message waits, never tried.
    assert_eq!(
        (
            &mails[0]["status"],
            &mails[0]["attempts"],
            &mails[0]["last_error"]
        ),
        (&json!("queued"), &json!(0), &serde_json::Value::Null)
    );
    assert!(mails[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        mails[0]["body"]
            .as_str()
            .unwrap()
            .contains("u/reset-password?ticket=")
    );
    // Sigil's own template: an HTML part too, with the same link.
    assert!(
        mails[0]["html"]
            .as_str()
            .unwrap()
            .contains("u/reset-password?ticket="),
        "{only}"
    );

    let newest = json(&check(
        &dir,
        &["outbox", "--limit", "1", "--json"],
        "",
        0,
        &[],
        &[],
    ));
    assert_eq!(newest.as_array().unwrap().len(), 1);
    assert_eq!(newest[0]["kind"], "verify_email");

    check(
        &dir,
        &["outbox", "--to", "nobody@example.com"],
        "",
        0,
        &["No mail to nobody@example.com."],
        &[],
    );
    check(&dir, &["outbox", "--limit", "0"], "", 2, &[], &["--limit"]);
}
