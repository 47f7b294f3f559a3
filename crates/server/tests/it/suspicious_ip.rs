//! Suspicious-IP throttling through real HTTP, as Auth0's: failed logins from one address
//! across accounts, then 429 `too_many_attempts` with Auth0's message for that address only
//! (the right password of another account included); successes cost nothing; the bucket
//! refills at its rate; the allowlist; signups per address; `limit_mu` and the mail to the
//! tenant's support address once an hour; the hosted login page; the settings
//! (`/attack-protection/suspicious-ip-throttling`) with their refusals; and bot detection and
//! CAPTCHA, which Sigil answers as off and refuses to turn on.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;

use crate::app::{PASSWORD, TestApp};
use crate::browser::{Browser, authorize_url};
use crate::brute_force::proxied;
use crate::management::{audience, call, token_for};
use crate::mfa::count;

const SCOPES: &[&str] = &["read:attack_protection", "update:attack_protection"];

const THROTTLED: &str = "We have detected suspicious login behavior and further attempts will \
    be blocked. Please contact the administrator.";

/// The backend's password grant for `username` with `password`, from `ip`: the status, and
/// `tokens` or `error: "description"`.
async fn login(app: &TestApp, username: &str, password: &str, ip: &str) -> (StatusCode, String) {
    let (status, body) = crate::brute_force::login(app, username, password, ip).await;
    let said = body["error"].as_str().map_or("tokens".to_owned(), |e| {
        format!("{e}: {}", body["error_description"])
    });
    (status, said)
}

/// A signup at `/dbconnections/signup` for `email`, from `ip`.
async fn signup(app: &TestApp, email: &str, ip: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("dbconnections/signup"))
        .header("x-forwarded-for", ip)
        .json(&json!({
            "client_id": app.native.to_string(),
            "connection": "Username-Password-Authentication",
            "email": email, "password": "Sup3r-Secret-9",
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn patch(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "PATCH",
        "/attack-protection/suspicious-ip-throttling",
        Some(token),
        Some(body),
    )
    .await
}

/// The tenant's support address, where administrator notices go.
async fn set_support_email(app: &TestApp, to: &str) {
    let mut settings = app
        .store
        .tenant_settings()
        .await
        .unwrap()
        .unwrap_or_default();
    settings.support_email = Some(to.to_owned());
    let now = sigil_core::UnixTime(app.clock_now());
    app.store.put_tenant_settings(&settings, now).await.unwrap();
}

async fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    app.store
        .outbox(Some(to), sigil_core::Page::first())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.email.kind == "suspicious_ip")
        .map(|m| m.email.subject)
        .collect()
}

#[tokio::test]
async fn failed_logins_across_accounts_throttle_one_address() {
    let app = proxied().await;
    set_support_email(&app, "admin@example.com").await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, settings) = call(
        &app,
        "GET",
        "/attack-protection/suspicious-ip-throttling",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        settings,
        json!({"enabled": true, "shields": ["admin_notification", "block"], "allowlist": [],
               "stage": {"pre-login": {"max_attempts": 100, "rate": 864000},
                         "pre-user-registration": {"max_attempts": 50, "rate": 1200},
                         "pre-custom-token-exchange": {"max_attempts": 10, "rate": 600000}}})
    );
    let (status, _) = patch(
        &app,
        &token,
        json!({"stage": {"pre-login": {"max_attempts": 5, "rate": 60000}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let attacker = "203.0.113.7";
    // Successes cost nothing: a user logging in often from a busy address is never throttled.
    for _ in 0..3 {
        let ok = login(&app, "ann@example.com", PASSWORD, attacker).await;
        assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
    }
    // Five accounts, one wrong password each (existing or not): five failures.
    let accounts = [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
        "dee@example.com",
        "eve@example.com",
    ];
    for who in accounts {
        let failed = login(&app, who, "wrong password", attacker).await;
        assert_eq!(failed.0, StatusCode::FORBIDDEN, "{who}: {}", failed.1);
    }
    // The address is spent: the sixth attempt, even Ann's right password, is refused unchecked.
    for who in ["ann@example.com", "bob@example.com"] {
        let throttled = login(&app, who, PASSWORD, attacker).await;
        assert_eq!(
            throttled,
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!("too_many_attempts: \"{THROTTLED}\"")
            ),
            "{who}"
        );
    }
    // Another address is not throttled.
    let elsewhere = login(&app, "ann@example.com", PASSWORD, "198.51.100.4").await;
    assert_eq!(elsewhere.0, StatusCode::OK, "{}", elsewhere.1);
    // Logged once, and the administrators told once, however often the address knocks.
    assert_eq!(count(&app, "limit_mu").await, 1);
    assert_eq!(
        mails_to(&app, "admin@example.com").await,
        vec![format!("Suspicious activity from {attacker} was throttled")]
    );

    // One interval later, one more attempt; a failure spends it again.
    app.clock.advance(60);
    let failed = login(&app, "eve@example.com", "wrong password", attacker).await;
    assert_eq!(failed.0, StatusCode::FORBIDDEN, "{}", failed.1);
    let again = login(&app, "ann@example.com", PASSWORD, attacker).await;
    assert_eq!(again.0, StatusCode::TOO_MANY_REQUESTS, "{}", again.1);

    // The allowlist lets the address through at once.
    let (status, body) = patch(&app, &token, json!({"allowlist": ["203.0.113.0/24"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let allowed = login(&app, "ann@example.com", PASSWORD, attacker).await;
    assert_eq!(allowed.0, StatusCode::OK, "{}", allowed.1);

    // Without the block shield an empty bucket is only reported.
    let (status, _) = patch(
        &app,
        &token,
        json!({"allowlist": [], "shields": ["admin_notification"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reported = login(&app, "ann@example.com", PASSWORD, attacker).await;
    assert_eq!(reported.0, StatusCode::OK, "{}", reported.1);
    // And off is off.
    let (status, _) = patch(
        &app,
        &token,
        json!({"enabled": false, "shields": ["block"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let off = login(&app, "ann@example.com", PASSWORD, attacker).await;
    assert_eq!(off.0, StatusCode::OK, "{}", off.1);
}

#[tokio::test]
async fn signups_are_throttled_per_address() {
    let app = proxied().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, _) = patch(
        &app,
        &token,
        json!({"stage": {"pre-user-registration": {"max_attempts": 3, "rate": 60000}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let bulk = "203.0.113.50";
    for i in 0..3 {
        let (status, body) = signup(&app, &format!("bulk{i}@example.com"), bulk).await;
        assert_eq!(status, StatusCode::OK, "signup {i}: {body}");
    }
    let (status, body) = signup(&app, "bulk3@example.com", bulk).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(
        (&body["error"], &body["error_description"]),
        (&json!("too_many_attempts"), &json!(THROTTLED))
    );
    assert!(
        app.store
            .user_by_email(
                &crate::management_jobs::database_connection(&app).await,
                "bulk3@example.com"
            )
            .await
            .unwrap()
            .is_none(),
        "nothing made"
    );
    // Malformed requests are refused before they count; another address signs up.
    let (status, _) = signup(&app, "not an address", bulk).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = signup(&app, "other@example.com", "198.51.100.9").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(count(&app, "limit_mu").await, 1);
    // The bucket refills at its rate.
    app.clock.advance(60);
    let (status, body) = signup(&app, "bulk3@example.com", bulk).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_hosted_login_page_says_the_address_is_throttled() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    let (status, _) = patch(
        &app,
        &token,
        json!({"stage": {"pre-login": {"max_attempts": 2, "rate": 600000}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut browser = Browser::new();
    let spa = app.spa.to_string();
    let start = browser.get(&authorize_url(&app, &spa, "")).await;
    let mut page = browser.get(start.location()).await;
    for who in ["ann@example.com", "bob@example.com"] {
        page = browser
            .submit_login(&app, &page.field("tx"), who, "wrong password")
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    }
    let throttled = browser
        .submit_login(&app, &page.field("tx"), "ann@example.com", PASSWORD)
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        throttled
            .body
            .contains("We have detected suspicious login behavior"),
        "{}",
        throttled.body
    );
}

#[tokio::test]
async fn the_settings_refuse_what_auth0_refuses_and_bot_detection_stays_off() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), SCOPES).await;
    // (what, body, the property the message names)
    let refusals = [
        ("unknown shield", json!({"shields": ["captcha"]}), "shields"),
        (
            "unknown stage",
            json!({"stage": {"pre-flight": {}}}),
            "stage",
        ),
        (
            "zero attempts",
            json!({"stage": {"pre-login": {"max_attempts": 0}}}),
            "stage.pre-login.max_attempts",
        ),
        (
            "a rate that is not a number",
            json!({"stage": {"pre-user-registration": {"rate": "fast"}}}),
            "stage.pre-user-registration.rate",
        ),
        (
            "an unknown stage property",
            json!({"stage": {"pre-login": {"burst": 3}}}),
            "stage.pre-login",
        ),
        (
            "a bad allowlist entry",
            json!({"allowlist": ["300.1.2.3"]}),
            "allowlist",
        ),
        ("an unknown property", json!({"mode": "strict"}), "mode"),
    ];
    for (what, body, property) in refusals {
        let (status, answer) = patch(&app, &token, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(property),
            "{what}: {answer}"
        );
    }
    let (_, unchanged) = call(
        &app,
        "GET",
        "/attack-protection/suspicious-ip-throttling",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(unchanged["stage"]["pre-login"]["max_attempts"], 100);

    // Bot detection and CAPTCHA: answered as off; keeping them off is accepted, turning them
    // on is refused by name.
    let (status, bots) = call(
        &app,
        "GET",
        "/attack-protection/bot-detection",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bots["challenge_password_policy"], "never");
    let (status, captcha) = call(
        &app,
        "GET",
        "/attack-protection/captcha",
        Some(&token),
        None,
    )
    .await;
    assert_eq!((status, captcha), (StatusCode::OK, json!({})));
    // (path, body, accepted)
    let patches = [
        (
            "/attack-protection/bot-detection",
            json!({"challenge_password_policy": "never", "allowlist": []}),
            true,
        ),
        (
            "/attack-protection/bot-detection",
            json!({"challenge_password_policy": "when_risky"}),
            false,
        ),
        (
            "/attack-protection/bot-detection",
            json!({"bot_detection_level": "high"}),
            false,
        ),
        ("/attack-protection/captcha", json!({}), true),
        (
            "/attack-protection/captcha",
            json!({"active_provider_id": "recaptcha_v2", "recaptcha_v2": {"site_key": "k"}}),
            false,
        ),
    ];
    for (path, body, accepted) in patches {
        let (status, answer) = call(&app, "PATCH", path, Some(&token), Some(body.clone())).await;
        if accepted {
            assert_eq!(status, StatusCode::OK, "{path} {body}: {answer}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
            assert!(
                answer["message"].as_str().unwrap().contains("Sigil has no"),
                "{answer}"
            );
        }
    }
}
