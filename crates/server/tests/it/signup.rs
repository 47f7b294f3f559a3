//! The hosted signup page, end to end: the "Sign up" link on the login page (only where signup
//! is open), the policy shown, each refusal shown on the form again with the typed email (never
//! the password), a signup that lands at the application with a code, CSRF refusals, and the
//! common-passwords dictionary on the wire of `/dbconnections/signup` and the Management API.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde_json::{Value, json};
use sigil_core::model::PasswordPolicy;
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::{Page as StorePage, Store, UnixTime};

use crate::app::{CALLBACK, NOW, TestApp};
use crate::browser::{Browser, Page, authorize_url, param, redeem_code};
use crate::management::{assert_error, audience, call, token_for};

/// A password every policy level accepts and no list has.
const GOOD_PASSWORD: &str = "Vq7-Lamp-Orbit";
/// Passes the default (fair) policy, but is one of the most common passwords.
const COMMON_PASSWORD: &str = "Password1";

/// The page's text as a browser shows it (minijinja escapes `/`, `&` and `'`).
fn text(page: &Page) -> String {
    page.body
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The `href` of the link whose text is `label`, if the page has one.
fn link(page: &Page, label: &str) -> Option<String> {
    let html = text(page);
    let end = html.find(&format!("\">{label}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].to_owned())
}

/// The login page of a new authorization request by the native application.
async fn login_page(app: &TestApp, browser: &mut Browser) -> Page {
    let start = browser
        .get(&authorize_url(app, &app.native.to_string(), ""))
        .await;
    let page = browser.get(start.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// The signup page, reached by the login page's link.
async fn signup_page(app: &TestApp, browser: &mut Browser) -> Page {
    let login = login_page(app, browser).await;
    let url = link(&login, "Sign up").expect("a Sign up link");
    browser.get(&url).await
}

/// Posts the signup form of `page`.
async fn submit(
    app: &TestApp,
    browser: &mut Browser,
    page: &Page,
    email: &str,
    password: &str,
    confirm: &str,
) -> Page {
    let tx = page.field("tx");
    browser
        .post_form(
            &app.url("u/signup"),
            &[
                ("tx", &tx),
                ("email", email),
                ("password", password),
                ("confirm", confirm),
            ],
        )
        .await
}

/// The default directory's user with `email`, if any.
async fn user_of(app: &TestApp, email: &str) -> Option<sigil_core::model::User> {
    let connection = app
        .store
        .connection_by_name(DEFAULT_DATABASE_CONNECTION)
        .await
        .unwrap()
        .unwrap();
    app.store
        .user_by_email(&connection.id, email)
        .await
        .unwrap()
}

async fn user_exists(app: &TestApp, email: &str) -> bool {
    user_of(app, email).await.is_some()
}

/// Changes the default connection's options.
async fn set_connection(app: &TestApp, change: impl FnOnce(&mut sigil_core::model::Connection)) {
    let mut connection = app
        .store
        .connection_by_name(DEFAULT_DATABASE_CONNECTION)
        .await
        .unwrap()
        .unwrap();
    change(&mut connection);
    app.store.update_connection(&connection, &[]).await.unwrap();
}

#[tokio::test]
async fn the_signup_page_shows_the_policy_and_leads_back_to_the_login() {
    let app = TestApp::start().await;
    let mut browser = Browser::new();
    let page = signup_page(&app, &mut browser).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = text(&page);
    assert!(
        body.contains(
            "At least 8 characters, with lower case letters, upper case letters and digits. \
             It must not be one of the 10,000 most common passwords."
        ),
        "{body}"
    );
    for input in ["email", "password", "confirm"] {
        assert!(
            body.contains(&format!("<label for=\"{input}\">")),
            "{input}"
        );
    }
    assert!(!body.contains("name=\"username\""), "no username here");
    assert!(!body.contains("role=\"alert\""));
    // The form posts to Sigil and its answer redirects to the application.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' https://app.example.com"),
        "{csp}"
    );
    assert!(
        page.headers
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("sigil_csrf=")),
        "a CSRF cookie"
    );
    let back = browser
        .get(&link(&page, "Log in").expect("a Log in link"))
        .await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(back.body.contains("Log in to continue"), "{}", back.body);

    // A connection that requires usernames asks for one, and the policy follows the connection.
    set_connection(&app, |c| {
        c.options.requires_username = true;
        c.options.password_policy = PasswordPolicy::Low;
        c.options.password_dictionary = false;
    })
    .await;
    let page = signup_page(&app, &mut browser).await;
    let body = text(&page);
    assert!(body.contains("<label for=\"username\">"), "{body}");
    assert!(
        body.contains("<p id=\"policy\">At least 6 characters.</p>"),
        "{body}"
    );
}

#[tokio::test]
async fn refusals_show_the_form_again_with_the_message_and_the_email() {
    let app = TestApp::start().await;
    let mut browser = Browser::new();
    let mut page = signup_page(&app, &mut browser).await;
    let long = format!("Vq7-{}", "x".repeat(1021));
    // (what, email, password, confirm, message)
    let cases = [
        (
            "weak",
            "dee@example.com",
            "Sh0rt",
            "Sh0rt",
            "Password is too weak: use at least 8 characters",
        ),
        (
            "common, in any case",
            "dee@example.com",
            COMMON_PASSWORD,
            COMMON_PASSWORD,
            "Password is too common",
        ),
        (
            "common, other case",
            "dee@example.com",
            "pASSWORD1",
            "pASSWORD1",
            "Password is too common",
        ),
        (
            "mismatched",
            "dee@example.com",
            GOOD_PASSWORD,
            "Vq7-Lamp-Orbit!",
            "The two passwords do not match.",
        ),
        (
            "taken, in another case",
            "ANN@example.com",
            GOOD_PASSWORD,
            GOOD_PASSWORD,
            "The user already exists.",
        ),
        (
            "not an email",
            "dee.example.com",
            GOOD_PASSWORD,
            GOOD_PASSWORD,
            "not an email address",
        ),
        (
            "a lookalike address",
            "\u{212a}ate@example.com",
            GOOD_PASSWORD,
            GOOD_PASSWORD,
            "looks like another one",
        ),
        (
            "a password over 1024 bytes",
            "dee@example.com",
            &long,
            &long,
            "Password is too long: use at most 1024 bytes",
        ),
    ];
    for (what, email, password, confirm, message) in cases {
        let refused = submit(&app, &mut browser, &page, email, password, confirm).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            refused.body
        );
        let body = text(&refused);
        assert!(
            body.contains("role=\"alert\"") && body.contains(message),
            "{what}: {body}"
        );
        assert!(
            body.contains(&format!("value=\"{email}\"")),
            "{what}: {body}"
        );
        assert!(
            !body.contains(password) && !body.contains(confirm),
            "{what}: {body}"
        );
        // The form shown again works for the next try.
        page = refused;
    }
    assert!(!user_exists(&app, "dee@example.com").await);

    // With the dictionary off, the same common password is accepted.
    set_connection(&app, |c| c.options.password_dictionary = false).await;
    let page = signup_page(&app, &mut browser).await;
    assert!(!text(&page).contains("most common passwords"));
    let done = submit(
        &app,
        &mut browser,
        &page,
        "dee@example.com",
        COMMON_PASSWORD,
        COMMON_PASSWORD,
    )
    .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    assert!(user_exists(&app, "dee@example.com").await);
}

#[tokio::test]
async fn a_signup_lands_at_the_application_with_a_code_for_an_unverified_user() {
    let app = TestApp::start().await;
    let mut browser = Browser::new();
    let page = signup_page(&app, &mut browser).await;
    let done = submit(
        &app,
        &mut browser,
        &page,
        "  cy@example.com ",
        GOOD_PASSWORD,
        GOOD_PASSWORD,
    )
    .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let location = done.location();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, CALLBACK);
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    assert_eq!(param(&params, "state"), Some("xyz"));
    let code = param(&params, "code").expect("a code").to_owned();
    assert!(
        done.headers
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("sigil_session=")),
        "an SSO session"
    );

    // The code is the new user's.
    let tokens = redeem_code(&app, app.native.as_str(), code).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64_simd::URL_SAFE_NO_PAD.decode_to_vec(payload).unwrap())
            .unwrap();
    assert_eq!(claims["email"], "cy@example.com");
    assert_eq!(claims["email_verified"], false);

    let connection = app
        .store
        .connection_by_name(DEFAULT_DATABASE_CONNECTION)
        .await
        .unwrap()
        .unwrap();
    let user = app
        .store
        .user_by_email(&connection.id, "cy@example.com")
        .await
        .unwrap()
        .expect("the new user");
    assert!(!user.email_verified);
    assert_eq!(claims["sub"], user.user_id.to_string());
    let mails = app
        .store
        .outbox(Some("cy@example.com"), StorePage::first())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.email)
        .collect::<Vec<_>>();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0]
            .body
            .contains(&format!("{}u/email-verification?ticket=", app.base)),
        "{}",
        mails[0].body
    );

    // The session now skips the login page.
    let again = browser
        .get(&authorize_url(&app, &app.native.to_string(), ""))
        .await;
    assert!(
        again.location().starts_with(CALLBACK),
        "{}",
        again.location()
    );
}

#[tokio::test]
async fn signup_is_offered_and_taken_only_where_it_is_open() {
    // (what, connection's disable_signup, tenant's disable_signup, open)
    let cases = [
        ("open", false, false, true),
        ("connection off", true, false, false),
        ("tenant off", false, true, false),
    ];
    for (what, connection_off, tenant_off, open) in cases {
        let app = TestApp::start().await;
        set_connection(&app, |c| c.options.disable_signup = connection_off).await;
        let mut settings = app.store.tenant_settings().await.unwrap().unwrap();
        settings.flags.disable_signup = tenant_off;
        app.store
            .put_tenant_settings(&settings, UnixTime(NOW))
            .await
            .unwrap();

        let mut browser = Browser::new();
        let login = login_page(&app, &mut browser).await;
        let signup_url = link(&login, "Sign up");
        assert_eq!(signup_url.is_some(), open, "{what}: {}", login.body);

        // The page itself, reached without the link, says that signing up is off.
        let tx = login.field("tx");
        let page = browser
            .get(&format!(
                "{}?{}",
                app.url("u/signup"),
                serde_urlencoded::to_string([("tx", &tx)]).unwrap()
            ))
            .await;
        let body = text(&page);
        if open {
            assert_eq!(page.status, StatusCode::OK, "{what}: {body}");
        } else {
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{what}: {body}");
            assert!(body.contains("Signing up is turned off"), "{what}: {body}");
            assert!(!body.contains("<form"), "{what}: {body}");
            assert!(link(&page, "Log in").is_some(), "{what}: {body}");
        }

        // A form posted anyway (the login form's transaction and CSRF cookie) is refused.
        let login = login_page(&app, &mut browser).await;
        let posted = submit(
            &app,
            &mut browser,
            &login,
            "eve@example.com",
            GOOD_PASSWORD,
            GOOD_PASSWORD,
        )
        .await;
        let expected = if open {
            StatusCode::FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(posted.status, expected, "{what}: {}", posted.body);
        assert_eq!(user_exists(&app, "eve@example.com").await, open, "{what}");

        // The Authentication API refuses it too.
        let answer = dbconnections_signup(&app, "fay@example.com", GOOD_PASSWORD).await;
        if open {
            assert_eq!(answer.0, StatusCode::OK, "{what}: {}", answer.1);
        } else {
            assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{what}: {}", answer.1);
            assert_eq!(answer.1["error"], "invalid_signup", "{what}");
        }
    }
}

#[tokio::test]
async fn a_signup_without_the_form_csrf_cookie_is_refused() {
    let app = TestApp::start().await;
    let mut browser = Browser::new();
    let page = signup_page(&app, &mut browser).await;
    let tx = page.field("tx");
    let fields = [
        ("tx", tx.as_str()),
        ("email", "gus@example.com"),
        ("password", GOOD_PASSWORD),
        ("confirm", GOOD_PASSWORD),
    ];
    // Another browser (no cookie), and the bare transaction of a link (no CSRF value).
    let mut stranger = Browser::new();
    let refused = stranger.post_form(&app.url("u/signup"), &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(text(&refused).contains("was not sent from the page Sigil showed"));
    let login = login_page(&app, &mut browser).await;
    let bare = link(&login, "Sign up").unwrap();
    let bare_tx: Vec<(String, String)> =
        serde_urlencoded::from_str(bare.split_once('?').unwrap().1).unwrap();
    let bare_tx = param(&bare_tx, "tx").unwrap().to_owned();
    let refused = browser
        .post_form(
            &app.url("u/signup"),
            &[
                ("tx", &bare_tx),
                ("email", "gus@example.com"),
                ("password", GOOD_PASSWORD),
                ("confirm", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // A transaction this server did not seal.
    let forged = browser
        .post_form(
            &app.url("u/signup"),
            &[
                ("tx", "forged"),
                ("email", "gus@example.com"),
                ("password", GOOD_PASSWORD),
                ("confirm", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.body);
    assert!(!user_exists(&app, "gus@example.com").await);
}

async fn dbconnections_signup(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("dbconnections/signup"))
        .json(&json!({
            "client_id": app.native.to_string(), "connection": DEFAULT_DATABASE_CONNECTION,
            "email": email, "password": password,
        }))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn common_passwords_are_refused_in_auth0s_shapes() {
    let app = TestApp::start().await;
    // The Authentication API: `invalid_password`, named as Auth0 names it.
    // (password, name)
    let cases = [
        (COMMON_PASSWORD, "PasswordDictionaryError"),
        ("trustno1", "PasswordStrengthError"),
    ];
    for (password, name) in cases {
        let (status, body) = dbconnections_signup(&app, "hal@example.com", password).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_password", "{body}");
        assert_eq!(body["name"], name, "{body}");
    }
    let (status, body) = dbconnections_signup(&app, "hal@example.com", "Trustno1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Password is too common"),
        "{body}"
    );

    // The Management API: Auth0's PasswordDictionaryError message, on create and on update.
    let token = token_for(&app, &audience(&app), &["create:users", "update:users"]).await;
    let created = call(
        &app,
        "POST",
        "/users",
        Some(&token),
        Some(json!({"connection": DEFAULT_DATABASE_CONNECTION, "email": "ida@example.com", "password": COMMON_PASSWORD})),
    )
    .await;
    assert_error(&created, 400, "auth0_password_dictionary_error");
    assert_eq!(
        created.1["message"],
        "PasswordDictionaryError: Password is too common"
    );
    let ann = app.ann.to_string();
    let patched = call(
        &app,
        "PATCH",
        &format!("/users/{}", crate::browser::urlencode(&ann)),
        Some(&token),
        Some(json!({"password": "Welcome1"})),
    )
    .await;
    assert_error(&patched, 400, "auth0_password_dictionary_error");
}

#[tokio::test]
async fn pre_user_registration_refuses_on_the_page_with_its_message_or_adds_metadata() {
    let app = TestApp::start().await;
    let token = crate::actions::actions_token(&app).await;
    crate::actions::bind_only(
        &app,
        &token,
        "pre-user-registration",
        "gate",
        r#"exports.onExecutePreUserRegistration = async (event, api) => {
            if (event.user.email.endsWith("@blocked.example")) {
                api.access.deny("blocked_domain", "Signups from blocked.example are closed.");
                return;
            }
            api.user.setUserMetadata("signed_up_on", event.transaction ? "hosted page" : "api");
        };"#,
    )
    .await;
    let mut browser = Browser::new();
    let page = signup_page(&app, &mut browser).await;
    let refused = submit(
        &app,
        &mut browser,
        &page,
        "eve@blocked.example",
        GOOD_PASSWORD,
        GOOD_PASSWORD,
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let body = text(&refused);
    assert!(
        body.contains("role=\"alert\"")
            && body.contains("Signups from blocked.example are closed."),
        "{body}"
    );
    assert!(
        !body.contains("blocked_domain"),
        "the reason is the log's: {body}"
    );
    assert!(!user_exists(&app, "eve@blocked.example").await);
    let failed = crate::events::newest(&app, "fs").await;
    // The tenant's log says the Action's reason, which the user is not shown.
    assert_eq!(
        (
            failed.event.user_name.as_deref(),
            failed.event.description.as_deref()
        ),
        (Some("eve@blocked.example"), Some("blocked_domain")),
        "{failed:?}"
    );

    // Let through, the Action's metadata is the new user's.
    let done = submit(
        &app,
        &mut browser,
        &refused,
        "fay@example.com",
        GOOD_PASSWORD,
        GOOD_PASSWORD,
    )
    .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let user = user_of(&app, "fay@example.com").await.unwrap();
    assert_eq!(
        user.user_metadata["signed_up_on"], "hosted page",
        "{user:?}"
    );
}
