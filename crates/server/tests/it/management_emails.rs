//! `/emails/provider` through the Management API: Auth0's `smtp` provider configured, shown
//! without its password (Auth0's `fields` projection), changed one credential at a time,
//! deleted; the other providers Auth0 has refused by name; each operation behind its scope.
//! And `/email-templates`: a tenant's Liquid template writes the signup's mail, every value
//! HTML-escaped, its link living and leading where the template says; disabled, Sigil's own;
//! a welcome mail after a verification.

use reqwest::StatusCode;
use serde_json::json;
use sigil_core::model::OutgoingEmail;
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::{Page, Store as _};

use crate::app::TestApp;
use crate::management::{audience, call, token_for};

const SCOPES: [&str; 4] = [
    "read:email_provider",
    "create:email_provider",
    "update:email_provider",
    "delete:email_provider",
];

#[tokio::test]
async fn the_email_provider_is_configured_shown_without_its_password_and_deleted() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());
    let smtp = json!({
        "name": "smtp",
        "default_from_address": "login@example.com",
        "credentials": {"smtp_host": "mail.example.com", "smtp_port": 587,
                        "smtp_user": "sigil", "smtp_pass": "SMTP-SECRET"},
    });

    let (status, none) = call(&app, "GET", "/emails/provider", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{none}");
    assert_eq!(none["message"], "Email provider has not been configured");
    let (status, _) = call(
        &app,
        "PATCH",
        "/emails/provider",
        t,
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for (body, property) in [
        (
            json!({"name": "sendgrid", "credentials": {"api_key": "k"}}),
            "name",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "h", "smtp_port": 25}}),
            "credentials.smtp_user",
        ),
        (
            json!({"name": "smtp", "credentials": {"smtp_host": "h", "smtp_port": 70000, "smtp_user": "u", "smtp_pass": "p"}}),
            "smtp_port",
        ),
        (
            json!({"name": "smtp", "credentials": {}, "region": "eu"}),
            "region",
        ),
    ] {
        let (status, answer) = call(&app, "POST", "/emails/provider", t, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["errorCode"], "invalid_body", "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(property),
            "{body}: {answer}"
        );
    }

    let (status, created) = call(&app, "POST", "/emails/provider", t, Some(smtp.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created,
        json!({"name": "smtp", "enabled": true, "default_from_address": "login@example.com",
               "credentials": {"smtp_host": "mail.example.com", "smtp_port": 587, "smtp_user": "sigil"},
               "settings": {"headers": {}}})
    );
    let (status, again) = call(&app, "POST", "/emails/provider", t, Some(smtp)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Auth0's projection: no fields, name and enabled only.
    for (query, expected) in [
        ("", json!({"name": "smtp", "enabled": true})),
        (
            "?fields=credentials&include_fields=true",
            json!({"credentials": {"smtp_host": "mail.example.com", "smtp_port": 587, "smtp_user": "sigil"}}),
        ),
        (
            "?fields=credentials,settings&include_fields=false",
            json!({"name": "smtp", "enabled": true, "default_from_address": "login@example.com"}),
        ),
    ] {
        let (status, shown) = call(&app, "GET", &format!("/emails/provider{query}"), t, None).await;
        assert_eq!((status, &shown), (StatusCode::OK, &expected), "{query}");
    }

    // A patch names what changes; the password stays unless given, and is never shown.
    let (status, patched) = call(
        &app,
        "PATCH",
        "/emails/provider",
        t,
        Some(
            json!({"credentials": {"smtp_port": 465}, "settings": {"headers": {"X-Tag": "login"}}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["credentials"]["smtp_port"], 465);
    assert_eq!(patched["settings"]["headers"]["X-Tag"], "login");
    let stored = app.store.email_provider().await.unwrap().unwrap();
    assert_eq!(stored.smtp.pass.as_str(), "SMTP-SECRET");
    assert!(!patched.to_string().contains("SMTP-SECRET"));

    // Each operation needs its own scope.
    let reader = token_for(&app, &audience(&app), &["read:email_provider"]).await;
    for (method, body) in [
        ("POST", Some(json!({}))),
        ("PATCH", Some(json!({}))),
        ("DELETE", None),
    ] {
        let (status, answer) = call(&app, method, "/emails/provider", Some(&reader), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method}: {answer}");
    }

    let (status, _) = call(&app, "DELETE", "/emails/provider", t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = call(&app, "DELETE", "/emails/provider", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    assert_eq!(gone["message"], "Email provider does not exist.");
}

const TEMPLATE_SCOPES: [&str; 3] = [
    "create:email_templates",
    "read:email_templates",
    "update:email_templates",
];

async fn signup(app: &TestApp, email: &str, name: &str) {
    let response = app
        .http
        .post(app.url("dbconnections/signup"))
        .json(&json!({
            "client_id": app.native.to_string(), "connection": DEFAULT_DATABASE_CONNECTION,
            "email": email, "password": "Tr0ub4dor&3-horse", "name": name,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
}

async fn mail_to(app: &TestApp, to: &str) -> OutgoingEmail {
    app.store
        .outbox(Some(to), Page::first())
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no mail to {to}"))
        .email
}

/// The verification link in a mail's text part (a footnote of html2text's: `[1]: <link>`).
fn verification_link(mail: &OutgoingEmail) -> String {
    mail.body
        .split_whitespace()
        .find(|w| w.contains("u/email-verification?ticket="))
        .unwrap_or_else(|| panic!("no link in the text: {}", mail.body))
        .to_owned()
}

#[tokio::test]
async fn the_tenants_templates_write_the_mail_with_every_value_escaped() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &TEMPLATE_SCOPES).await;
    let t = Some(token.as_str());
    let verify = json!({
        "template": "verify_email",
        "syntax": "liquid",
        "from": "{{ friendly_name }} <login@example.com>",
        "subject": "{{ application.name }}: confirm {{ user.email }}",
        "body": "<p>Hello {{ user.name }} ({{ user.name | escape }})</p><a href=\"{{ url }}\">Verify</a>",
        "resultUrl": "https://app.example.com/verified",
        "urlLifetimeInSeconds": 600,
        "includeEmailInRedirect": true,
    });

    // The API: Auth0's names only, 404 until set, one POST, then PATCH and PUT.
    let (status, unknown) = call(&app, "GET", "/email-templates/goodbye_email", t, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{unknown}");
    let (status, _) = call(&app, "GET", "/email-templates/verify_email", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, created) = call(&app, "POST", "/email-templates", t, Some(verify.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["urlLifetimeInSeconds"], 600);
    assert_eq!(created["enabled"], true);
    let (status, again) = call(&app, "POST", "/email-templates", t, Some(verify.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, refused) = call(
        &app,
        "PATCH",
        "/email-templates/verify_email",
        t,
        Some(json!({"body": "{{ user.favourite_colour }}"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("body"),
        "{refused}"
    );
    let (_, shown) = call(&app, "GET", "/email-templates/verify_email", t, None).await;
    assert_eq!(shown, created, "a refused patch changes nothing");

    // A signup's mail, from the template: values escaped in the HTML, as they are in the
    // subject and the sender; the link's lifetime and result URL as the template says.
    signup(&app, "ann+new@example.com", "<b>Ann</b> & co").await;
    let mail = mail_to(&app, "ann+new@example.com").await;
    let html = mail.html.as_deref().unwrap();
    assert_eq!(
        html.matches("&lt;b&gt;Ann&lt;/b&gt; &amp; co").count(),
        2,
        "{html}"
    );
    assert!(!html.contains("<b>Ann"), "{html}");
    assert_eq!(mail.subject, "Native: confirm ann+new@example.com");
    assert_eq!(mail.from.as_deref(), Some("Sigil <login@example.com>"));
    let link = verification_link(&mail);
    assert!(html.contains(&link.replace('&', "&amp;")), "{html}");
    let page = app
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.replace("&#x2f;", "/")
            .contains("https://app.example.com/verified?email=ann%2Bnew%40example.com"),
        "{page}"
    );

    // 600 seconds: a second user's link has expired after them.
    signup(&app, "bo@example.com", "Bo").await;
    let mail = mail_to(&app, "bo@example.com").await;
    let link = verification_link(&mail);
    app.clock.advance(601);
    let expired = app.http.get(&link).send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::BAD_REQUEST);

    // Disabled: Sigil's own template again. A welcome mail follows a verification once the
    // tenant writes one.
    let (status, _) = call(
        &app,
        "PATCH",
        "/email-templates/verify_email",
        t,
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, welcome) = call(
        &app,
        "PUT",
        "/email-templates/welcome_email",
        t,
        Some(json!({"body": "<p>Welcome, {{ user.email }}!</p>", "subject": "Welcome", "syntax": "liquid"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{welcome}");
    signup(&app, "cy@example.com", "Cy").await;
    let mail = mail_to(&app, "cy@example.com").await;
    assert_eq!(mail.subject, "Verify your email");
    let link = mail
        .body
        .lines()
        .find(|l| l.starts_with(&app.base))
        .unwrap()
        .to_owned();
    assert_eq!(
        app.http.get(&link).send().await.unwrap().status(),
        StatusCode::OK
    );
    let welcome = mail_to(&app, "cy@example.com").await;
    assert_eq!(
        (welcome.kind.as_str(), welcome.subject.as_str()),
        ("welcome_email", "Welcome")
    );
    assert!(
        welcome.body.contains("Welcome, cy@example.com!"),
        "{}",
        welcome.body
    );
}

#[tokio::test]
async fn a_verification_email_job_mails_the_link_again() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["update:users", "read:users"]).await;
    let t = Some(token.as_str());
    let ann = app.ann.to_string();
    let (status, job) = call(
        &app,
        "POST",
        "/jobs/verification-email",
        t,
        Some(json!({"user_id": ann, "client_id": app.native.to_string()})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(
        (&job["type"], &job["status"]),
        (&json!("verification_email"), &json!("completed"))
    );
    let (status, again) = call(
        &app,
        "GET",
        &format!("/jobs/{}", job["id"].as_str().unwrap()),
        t,
        None,
    )
    .await;
    assert_eq!((status, &again), (StatusCode::OK, &job));
    let mail = mail_to(&app, "ann@example.com").await;
    assert_eq!(
        (mail.kind.as_str(), mail.subject.as_str()),
        ("verify_email", "Verify your email")
    );
    assert!(
        mail.html.as_deref().unwrap().contains("for Native"),
        "the client's name"
    );
    let link = mail
        .body
        .lines()
        .find(|l| l.starts_with(&app.base))
        .unwrap()
        .to_owned();
    assert_eq!(
        app.http.get(&link).send().await.unwrap().status(),
        StatusCode::OK
    );

    for (body, status) in [
        (
            json!({"user_id": "auth0|000000000000000000000000"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"user_id": ann, "client_id": "nope"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"user_id": ann, "identity": {"user_id": "x", "provider": "google-oauth2"}}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"client_id": "nope"}), StatusCode::BAD_REQUEST),
    ] {
        let (got, answer) = call(
            &app,
            "POST",
            "/jobs/verification-email",
            t,
            Some(body.clone()),
        )
        .await;
        assert_eq!(got, status, "{body}: {answer}");
    }
    let reader = token_for(&app, &audience(&app), &["read:users"]).await;
    let (status, _) = call(
        &app,
        "POST",
        "/jobs/verification-email",
        Some(&reader),
        Some(json!({"user_id": ann})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
