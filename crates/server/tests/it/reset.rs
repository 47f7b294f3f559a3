//! Password reset and email verification, end to end: the "Forgot password?" link on the login
//! page, the mailed links (read from the outbox), the set-new-password page, the verification
//! link, and the Management API's `verify_email` and tickets.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::ids::UserId;
use sigil_core::model::{LogQuery, OutgoingEmail};
use sigil_core::{Page as StorePage, Store, UnixTime};

use crate::app::{NOW, PASSWORD, RBAC_API, TestApp};
use crate::browser::{Browser, CHALLENGE, Page, urlencode};
use crate::management::{assert_error, audience, call, token_for};

const NEW_PASSWORD: &str = "Brand-new-Passw0rd";
const CY_PASSWORD: &str = "Cy-own-Passw0rd";
const CONNECTION: &str = "Username-Password-Authentication";

/// The page's HTML with minijinja's `&#x2f;` read back as `/`, as a browser does.
fn html(page: &Page) -> String {
    page.body.replace("&#x2f;", "/").replace("&amp;", "&")
}

/// The `href` of the link whose text is `text`.
fn link(page: &Page, text: &str) -> String {
    let html = html(page);
    let end = html
        .find(&format!("\">{text}</a>"))
        .unwrap_or_else(|| panic!("no link {text:?} in {html}"));
    let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
    html[start..end].to_owned()
}

/// The newest mail to `to`, and the link in it that starts with the issuer.
async fn mailed_link(app: &TestApp, to: &str) -> (OutgoingEmail, String) {
    // A reset's mail is made after the answer (so strangers' answers take as long).
    app.server.flush_events().await;
    let mails = app
        .store
        .outbox(Some(to), StorePage::first())
        .await
        .unwrap();
    let mail = mails
        .into_iter()
        .next()
        .map(|m| m.email)
        .unwrap_or_else(|| panic!("no mail to {to}"));
    let link = mail
        .body
        .lines()
        .find(|l| l.starts_with(&app.base))
        .unwrap_or_else(|| panic!("no link in {}", mail.body))
        .to_owned();
    (mail, link)
}

/// Whether `password` logs `email` in (password-realm grant).
async fn logs_in(app: &TestApp, email: &str, password: &str) -> bool {
    token(app, email, password).await.0 == StatusCode::OK
}

async fn token(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("oauth/token"))
        .json(&json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": app.native.to_string(), "realm": CONNECTION,
            "username": email, "password": password,
            "audience": RBAC_API, "scope": "openid offline_access",
        }))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// The status of a refresh-token grant with `refresh_token`.
async fn refresh(app: &TestApp, refresh_token: &str) -> StatusCode {
    app.http
        .post(app.url("oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &app.native.to_string()),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

/// A password reset mailed to Ann through `/dbconnections/change_password`; its link.
pub(crate) async fn reset_link(app: &TestApp) -> String {
    let response = app
        .http
        .post(app.url("dbconnections/change_password"))
        .json(&json!({"client_id": app.native.to_string(), "connection": CONNECTION, "email": "ann@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    mailed_link(app, "ann@example.com").await.1
}

/// Posts the set-new-password form shown at `page` with `password` twice.
pub(crate) async fn set_password(
    browser: &mut Browser,
    app: &TestApp,
    page: &Page,
    password: &str,
    confirm: &str,
) -> Page {
    browser
        .post_form(
            &app.url("u/reset-password"),
            &[
                ("csrf", &page.field("csrf")),
                ("ticket", &page.field("ticket")),
                ("password", password),
                ("confirm", confirm),
            ],
        )
        .await
}

async fn log_types(app: &TestApp) -> Vec<String> {
    app.store
        .list_logs(&LogQuery::default(), StorePage::first())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.event.log_type.map(|t| t.0))
        .collect()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_login_page_through_the_mailed_link() {
    let app = TestApp::start().await;
    let (status, before) = token(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let refresh_token = before["refresh_token"].as_str().unwrap().to_owned();
    let mut browser = Browser::new();

    // The login page links to the request page, carrying the login transaction.
    let start = browser
        .get(&format!(
            "{}authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256",
            app.base,
            app.native,
            urlencode(crate::app::CALLBACK)
        ))
        .await;
    let login = browser.get(start.location()).await;
    let forgot = link(&login, "Forgot password?");
    assert!(
        forgot.starts_with(&app.url("u/reset-password/request?tx=")),
        "{forgot}"
    );

    let request = browser.get(&forgot).await;
    assert_eq!(request.status, StatusCode::OK);
    assert!(
        request.body.contains("<label for=\"email\">"),
        "{}",
        request.body
    );
    for email in ["ann@example.com", "nobody@example.com"] {
        let sent = browser
            .post_form(
                &app.url("u/reset-password/request"),
                &[
                    ("csrf", &request.field("csrf")),
                    ("tx", &request.field("tx")),
                    ("email", email),
                ],
            )
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        assert!(
            sent.body.contains("Check your email"),
            "{email}: {}",
            sent.body
        );
        assert!(
            sent.body.contains("We&#x27;ve just sent you an email"),
            "{}",
            sent.body
        );
    }
    assert!(
        app.store
            .outbox(Some("nobody@example.com"), StorePage::first())
            .await
            .unwrap()
            .is_empty(),
        "strangers get no mail, and the page does not tell"
    );
    let (mail, url) = mailed_link(&app, "ann@example.com").await;
    assert_eq!(mail.kind, "reset_password");
    assert!(
        url.starts_with(&app.url("u/reset-password?ticket=")),
        "{url}"
    );

    let mut form = browser.get(&url).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body.contains(
            "At least 8 characters, with lower case letters, upper case letters and digits."
        ),
        "the policy in words: {}",
        form.body
    );
    assert!(form.body.contains("<label for=\"confirm\">"));

    // (what, password, confirm, message): refused, the ticket still good, nothing changed.
    let refusals = [
        ("weak", "password", "password", "Password is too weak"),
        ("short", "Ab1", "Ab1", "at least 8 characters"),
        (
            "mismatch",
            NEW_PASSWORD,
            "Brand-new-Passw0rd!",
            "do not match",
        ),
    ];
    for (what, password, confirm, message) in refusals {
        let refused = set_password(&mut browser, &app, &form, password, confirm).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{what}");
        assert!(
            refused.body.contains("role=\"alert\""),
            "{what}: {}",
            refused.body
        );
        assert!(refused.body.contains(message), "{what}: {}", refused.body);
        assert!(
            logs_in(&app, "ann@example.com", PASSWORD).await,
            "{what}: unchanged"
        );
        // The form comes back with a fresh CSRF pair.
        form = refused;
    }

    let done = set_password(&mut browser, &app, &form, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("Your password was changed"),
        "{}",
        done.body
    );
    let back = link(&done, "Back to the login");
    assert!(back.starts_with(&app.url("u/login?tx=")), "{back}");
    assert_eq!(
        browser.get(&back).await.status,
        StatusCode::OK,
        "the login page opens again"
    );

    assert!(
        !logs_in(&app, "ann@example.com", PASSWORD).await,
        "the old password is refused"
    );
    assert!(
        logs_in(&app, "ann@example.com", NEW_PASSWORD).await,
        "the new one works"
    );
    let refreshed = refresh(&app, &refresh_token).await;
    assert_eq!(
        refreshed,
        StatusCode::FORBIDDEN,
        "refresh tokens were revoked"
    );
    let user = app.store.user(&app.ann).await.unwrap().unwrap();
    assert_eq!(user.last_password_reset.map(|t| t.0), Some(NOW));

    // The link works once.
    let again = browser.get(&url).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        again.body.contains("This link no longer works"),
        "{}",
        again.body
    );
    assert!(again.body.contains("used already"), "{}", again.body);
    assert!(link(&again, "Ask for a new link").ends_with("u/reset-password/request"));
    let replay = set_password(
        &mut browser,
        &app,
        &form,
        "Another-Passw0rd",
        "Another-Passw0rd",
    )
    .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.body.contains("used already"), "{}", replay.body);
    assert!(logs_in(&app, "ann@example.com", NEW_PASSWORD).await);

    let logged = log_types(&app).await;
    for code in ["scpr", "scp", "fcp"] {
        assert!(logged.iter().any(|t| t == code), "{code} in {logged:?}");
    }
}

/// An account linked into another user keeps its own email and password (they log in as the
/// user it is linked into), so its mailed reset and verification links must keep working.
#[tokio::test]
async fn a_linked_account_follows_its_own_reset_and_verification_links() {
    let app = TestApp::start().await;
    let admin = token_for(&app, &audience(&app), &["create:users"]).await;
    let (status, cy) = call(
        &app,
        "POST",
        "/users",
        Some(&admin),
        Some(json!({
            "connection": CONNECTION, "email": "cy@example.com", "password": CY_PASSWORD,
            "verify_email": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{cy}");
    let cy = UserId(cy["user_id"].as_str().unwrap().to_owned());
    let (_, verification) = mailed_link(&app, "cy@example.com").await;
    let (status, before) = token(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let ann_refresh = before["refresh_token"].as_str().unwrap().to_owned();
    app.store
        .link_user(&app.ann, &cy, UnixTime(NOW))
        .await
        .unwrap()
        .unwrap();

    // The verification mailed before the link marks the linked account's own address.
    let mut browser = Browser::new();
    let verified = browser.get(&verification).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert!(
        verified.body.contains("cy@example.com"),
        "{}",
        verified.body
    );
    let account = app.store.account(&cy).await.unwrap().unwrap();
    assert!(account.email_verified);
    assert_eq!(account.linked_to.as_ref(), Some(&app.ann));

    // A reset asked for by the linked account's address sets that account's password.
    let response = app
        .http
        .post(app.url("dbconnections/change_password"))
        .json(&json!({"client_id": app.native.to_string(), "connection": CONNECTION, "email": "cy@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, url) = mailed_link(&app, "cy@example.com").await;
    let form = browser.get(&url).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("cy@example.com"), "{}", form.body);
    let done = set_password(&mut browser, &app, &form, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(!logs_in(&app, "cy@example.com", CY_PASSWORD).await);
    let (status, body) = token(&app, "cy@example.com", NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        logs_in(&app, "ann@example.com", PASSWORD).await,
        "the primary's own password is another account's, and stays"
    );
    let after = app.store.account(&cy).await.unwrap().unwrap();
    assert!(
        after.last_password_reset > account.last_password_reset,
        "{after:?}"
    );

    // The user the account logs in as had its refresh tokens revoked, as on any reset.
    let refreshed = refresh(&app, &ann_refresh).await;
    assert_eq!(refreshed, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn expired_and_unknown_reset_links_are_refused() {
    let app = TestApp::start().await;
    let url = reset_link(&app).await;
    let mut browser = Browser::new();
    let form = browser.get(&url).await;
    assert_eq!(form.status, StatusCode::OK);

    app.clock.advance(432_000);
    let expired = browser.get(&url).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(
        expired.body.contains("This link has expired."),
        "{}",
        expired.body
    );
    // The form opened in time does not help either (its CSRF pair lasts an hour).
    let late = set_password(&mut browser, &app, &form, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(late.status, StatusCode::FORBIDDEN, "{}", late.body);
    assert!(logs_in(&app, "ann@example.com", PASSWORD).await);

    for query in ["ticket=not-a-ticket", "", "ticket="] {
        let unknown = browser
            .get(&app.url(&format!("u/reset-password?{query}")))
            .await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            unknown.body.contains("This link is not valid."),
            "{query}: {}",
            unknown.body
        );
    }
}

#[tokio::test]
async fn an_expired_ticket_is_refused_when_the_form_is_sent() {
    let app = TestApp::start().await;
    let url = reset_link(&app).await;
    let mut browser = Browser::new();
    // The form opens a minute before the ticket's end and is sent a minute after it.
    app.clock.advance(432_000 - 60);
    let form = browser.get(&url).await;
    assert_eq!(form.status, StatusCode::OK);
    app.clock.advance(120);
    let refused = set_password(&mut browser, &app, &form, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("This link has expired."),
        "{}",
        refused.body
    );
    assert!(logs_in(&app, "ann@example.com", PASSWORD).await);
}

#[tokio::test]
async fn reset_forms_without_their_csrf_pair_are_refused() {
    let app = TestApp::start().await;
    let url = reset_link(&app).await;
    let mut browser = Browser::new();
    let request = browser.get(&app.url("u/reset-password/request")).await;
    let form = browser.get(&url).await;
    let ticket = form.field("ticket");
    let password_csrf = form.field("csrf");
    let request_csrf = request.field("csrf");
    let tampered = format!("x{password_csrf}");

    // (what, the browser's cookies sent, form, csrf field)
    let cases = [
        (
            "no cookie",
            false,
            "u/reset-password",
            password_csrf.as_str(),
        ),
        ("no field", true, "u/reset-password", ""),
        (
            "another form's field",
            true,
            "u/reset-password",
            request_csrf.as_str(),
        ),
        (
            "a tampered field",
            true,
            "u/reset-password",
            tampered.as_str(),
        ),
        (
            "no cookie",
            false,
            "u/reset-password/request",
            request_csrf.as_str(),
        ),
        (
            "another form's field",
            true,
            "u/reset-password/request",
            password_csrf.as_str(),
        ),
    ];
    for (what, cookies, path, csrf) in cases {
        let mut stranger = Browser::new();
        let sender = if cookies { &mut browser } else { &mut stranger };
        let refused = sender
            .post_form(
                &app.url(path),
                &[
                    ("csrf", csrf),
                    ("ticket", &ticket),
                    ("email", "ann@example.com"),
                    ("password", NEW_PASSWORD),
                    ("confirm", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}, {what}: {}",
            refused.body
        );
        assert!(refused.body.contains("role=\"alert\""), "{path}, {what}");
    }
    assert!(
        logs_in(&app, "ann@example.com", PASSWORD).await,
        "nothing changed"
    );
    assert_eq!(
        app.store
            .outbox(Some("ann@example.com"), StorePage::first())
            .await
            .unwrap()
            .len(),
        1,
        "no second mail"
    );
    // The refused posts did not use the ticket up.
    assert_eq!(browser.get(&url).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_signup_mails_a_verification_link_that_works_once() {
    let app = TestApp::start().await;
    let response = app
        .http
        .post(app.url("dbconnections/signup"))
        .json(&json!({"client_id": app.native.to_string(), "connection": CONNECTION, "email": "cy@example.com", "password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.json::<Value>().await.unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_id = sigil_core::ids::UserId(format!("auth0|{id}"));
    let (mail, url) = mailed_link(&app, "cy@example.com").await;
    assert_eq!(mail.kind, "verify_email");
    assert!(
        url.starts_with(&app.url("u/email-verification?ticket=")),
        "{url}"
    );
    assert!(
        !app.store
            .user(&user_id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );

    let mut browser = Browser::new();
    let verified = browser.get(&url).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert!(
        verified.body.contains("Your email was verified"),
        "{}",
        verified.body
    );
    assert!(
        app.store
            .user(&user_id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );

    let again = browser.get(&url).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("used already"), "{}", again.body);
    let reset = browser
        .get(&url.replace("u/email-verification", "u/reset-password"))
        .await;
    assert!(
        reset.body.contains("This link is not valid."),
        "a ticket of another kind"
    );
    let logged = log_types(&app).await;
    assert!(
        logged.iter().any(|t| t == "sv") && logged.iter().any(|t| t == "fv"),
        "{logged:?}"
    );
}

#[tokio::test]
async fn an_expired_verification_link_is_refused() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["create:user_tickets"]).await;
    let answer = call(
        &app,
        "POST",
        "/tickets/email-verification",
        Some(&token),
        Some(json!({"user_id": app.ann.to_string(), "ttl_sec": 60})),
    )
    .await;
    assert_eq!(answer.0, StatusCode::CREATED, "{}", answer.1);
    let url = answer.1["ticket"].as_str().unwrap().to_owned();
    app.clock.advance(60);
    let expired = Browser::new().get(&url).await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(
        expired.body.contains("This link has expired."),
        "{}",
        expired.body
    );
}

#[tokio::test]
async fn the_management_api_mails_verification_when_asked_and_issues_tickets() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &["create:users", "update:users", "create:user_tickets"],
    )
    .await;
    let create = |email: &str, verify: Option<bool>| {
        let mut body = json!({"connection": CONNECTION, "email": email, "password": NEW_PASSWORD});
        if let Some(verify) = verify {
            body["verify_email"] = verify.into();
        }
        body
    };
    // (email, verify_email, mailed)
    let cases = [
        ("asked@example.com", Some(true), true),
        ("default@example.com", None, true),
        ("declined@example.com", Some(false), false),
    ];
    for (email, verify, mailed) in cases {
        let (status, body) = call(
            &app,
            "POST",
            "/users",
            Some(&token),
            Some(create(email, verify)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let mails = app
            .store
            .outbox(Some(email), StorePage::first())
            .await
            .unwrap();
        assert_eq!(mails.len(), usize::from(mailed), "{email}: {mails:?}");
    }
    let (_, url) = mailed_link(&app, "asked@example.com").await;
    assert_eq!(Browser::new().get(&url).await.status, StatusCode::OK);

    let (_, declined) = call(
        &app,
        "GET",
        "/users?q=email:declined@example.com",
        Some(&token_for(&app, &audience(&app), &["read:users"]).await),
        None,
    )
    .await;
    let id = declined[0]["user_id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &app,
        "PATCH",
        &format!("/users/{id}"),
        Some(&token),
        Some(json!({"email": "moved@example.com", "verify_email": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (mail, _) = mailed_link(&app, "moved@example.com").await;
    assert_eq!(mail.kind, "verify_email");

    // Tickets: a link answered, not mailed.
    let (status, body) = call(
        &app,
        "POST",
        "/tickets/password-change",
        Some(&token),
        Some(json!({"user_id": app.ann.to_string(), "result_url": "https://app.example.com/done"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let url = body["ticket"].as_str().unwrap();
    assert!(
        url.starts_with(&app.url("u/reset-password?ticket=")),
        "{url}"
    );
    let mut browser = Browser::new();
    let form = browser.get(url).await;
    let done = set_password(&mut browser, &app, &form, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        link(&done, "Back to the login"),
        "https://app.example.com/done"
    );
    assert!(logs_in(&app, "ann@example.com", NEW_PASSWORD).await);
    let (status, body) = call(&app, "POST", "/tickets/password-change", Some(&token), Some(json!({"email": "ann@example.com", "connection_id": app.store.connection_by_name(CONNECTION).await.unwrap().unwrap().id.to_string()}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // (what, path, body, token, status, errorCode)
    let reader = token_for(&app, &audience(&app), &["read:users"]).await;
    let refusals = [
        (
            "no scope",
            "/tickets/email-verification",
            json!({"user_id": app.ann.to_string()}),
            reader.as_str(),
            403,
            "insufficient_scope",
        ),
        (
            "unknown user",
            "/tickets/email-verification",
            json!({"user_id": "auth0|nobody"}),
            token.as_str(),
            404,
            "inexistent_user",
        ),
        (
            "no user",
            "/tickets/password-change",
            json!({"ttl_sec": 10}),
            token.as_str(),
            400,
            "invalid_body",
        ),
        (
            "unsupported property",
            "/tickets/password-change",
            json!({"user_id": app.ann.to_string(), "mark_email_as_verified": true}),
            token.as_str(),
            400,
            "invalid_body",
        ),
        (
            "bad result_url",
            "/tickets/email-verification",
            json!({"user_id": app.ann.to_string(), "result_url": "javascript:x"}),
            token.as_str(),
            400,
            "invalid_body",
        ),
    ];
    for (what, path, body, token, status, code) in refusals {
        let answer = call(&app, "POST", path, Some(token), Some(body)).await;
        assert_eq!(answer.0.as_u16(), status, "{what}: {}", answer.1);
        assert_error(&answer, status, code);
    }
}
