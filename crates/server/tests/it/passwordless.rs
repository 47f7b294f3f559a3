//! Passwordless login through the Authentication API, as Auth0's: `POST /passwordless/start`
//! sends a code (by mail, or SMS kept in the outbox), the `passwordless/otp` grant trades it
//! for tokens once, for the application that asked; a wrong, reused, replaced, expired or
//! out-of-tries code is "Wrong email or verification code."; the first login makes
//! `email|…` / `sms|…` users; Auth0's `bad.*` refusals; 50 starts an hour per address.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::ids::ClientId;
use sigil_core::model::{AppType, GrantType};
use sigil_core::{Page, Store as _};

use crate::app::{Body, TestApp, client, post};
use crate::events::newest;
use crate::management::{audience, call, token_for};

const OTP: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";

/// A native app allowed the passwordless grant, and `email` and `sms` connections (the SMS
/// kept in the outbox) enabled for it and for the test's native app.
async fn setup(app: &TestApp, email_options: Value) -> ClientId {
    let (id, _) = client(
        &app.store,
        AppType::Native,
        vec![
            GrantType::PasswordlessOtp,
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
        ],
    )
    .await;
    let token = token_for(app, &audience(app), &["create:connections"]).await;
    for (name, options) in [("email", email_options), ("sms", json!({}))] {
        let (status, body) = call(
            app,
            "POST",
            "/connections",
            Some(&token),
            Some(json!({"name": name, "strategy": name, "options": options,
                        "enabled_clients": [id.to_string(), app.native.to_string()]})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    id
}

async fn start(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("passwordless/start"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The code in the newest message to `to` (a mail's text, or an SMS).
pub(crate) async fn code_sent_to(app: &TestApp, to: &str) -> String {
    let sent = app.store.outbox(Some(to), Page::first()).await.unwrap();
    let body = &sent.first().expect("a message").email.body;
    body.split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap_or_else(|| panic!("no code in {body}"))
        .to_owned()
}

async fn redeem(
    app: &TestApp,
    client: &ClientId,
    realm: &str,
    username: &str,
    otp: &str,
) -> (StatusCode, Value) {
    let (status, _, body) = post(
        app,
        Body::Json(json!({
            "grant_type": OTP,
            "client_id": client.to_string(),
            "realm": realm,
            "username": username,
            "otp": otp,
            "scope": "openid profile email phone offline_access",
        })),
        None,
    )
    .await;
    (status, body)
}

fn claims(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64_simd::URL_SAFE_NO_PAD.decode_to_vec(payload).unwrap()).unwrap()
}

const WRONG: &str = "Wrong email or verification code.";

#[tokio::test]
async fn an_emailed_code_logs_in_once_and_makes_the_user() {
    let app = TestApp::start().await;
    let id = setup(&app, json!({})).await;
    let (status, started) = start(
        &app,
        json!({"client_id": id.to_string(), "connection": "email", "email": "Pat@Example.com", "send": "code"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["email"], "pat@example.com");
    assert_eq!(started["_id"].as_str().unwrap().len(), 24);
    let sent = app
        .store
        .outbox(Some("pat@example.com"), Page::first())
        .await
        .unwrap();
    assert_eq!(sent[0].email.kind, "passwordless_code");
    assert!(
        sent[0].email.subject.contains("Your code is"),
        "{}",
        sent[0].email.subject
    );
    let code = code_sent_to(&app, "pat@example.com").await;
    assert_eq!(
        newest(&app, "cs").await.event.connection.as_deref(),
        Some("email")
    );

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = redeem(&app, &id, "email", "pat@example.com", wrong).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": WRONG})
    );
    assert_eq!(
        newest(&app, "fepotpft").await.event.description.as_deref(),
        Some(WRONG)
    );
    // Another application cannot use the code.
    let (status, _) = redeem(&app, &app.native, "email", "pat@example.com", &code).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, tokens) = redeem(&app, &id, "email", "PAT@example.com", &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let said = claims(tokens["id_token"].as_str().unwrap());
    let sub = said["sub"].as_str().unwrap();
    let hex = sub.strip_prefix("email|").expect("an email| user");
    assert!(
        hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sub}"
    );
    assert_eq!(said["email"], "pat@example.com");
    assert_eq!(said["email_verified"], true);
    let login = newest(&app, "s").await.event;
    assert_eq!(
        login.user_id.as_ref().map(|u| u.to_string()).as_deref(),
        Some(sub)
    );
    assert_eq!(login.strategy.as_deref(), Some("email"));
    assert_eq!(login.strategy_type.as_deref(), Some("passwordless"));

    // Used once.
    let (status, body) = redeem(&app, &id, "email", "pat@example.com", &code).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (StatusCode::FORBIDDEN, Some(WRONG))
    );

    // The next login is the same user.
    start(&app, json!({"client_id": id.to_string(), "connection": "email", "email": "pat@example.com", "send": "code"})).await;
    let code = code_sent_to(&app, "pat@example.com").await;
    let (status, again) = redeem(&app, &id, "email", "pat@example.com", &code).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(claims(again["id_token"].as_str().unwrap())["sub"], sub);
}

#[tokio::test]
async fn codes_die_after_three_wrong_tries_when_replaced_and_when_expired() {
    let app = TestApp::start().await;
    let id = setup(&app, json!({"totp": {"time_step": 300, "length": 6}})).await;
    let send = || json!({"client_id": id.to_string(), "connection": "email", "email": "kim@example.com", "send": "code"});
    // (case, what happens between the start and the right code)
    for case in ["three wrong tries", "a newer code", "expired"] {
        start(&app, send()).await;
        let code = code_sent_to(&app, "kim@example.com").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        match case {
            "three wrong tries" => {
                for _ in 0..3 {
                    let (status, _) = redeem(&app, &id, "email", "kim@example.com", wrong).await;
                    assert_eq!(status, StatusCode::FORBIDDEN);
                }
            }
            "a newer code" => {
                start(&app, send()).await;
                let newer = code_sent_to(&app, "kim@example.com").await;
                if newer == code {
                    continue; // one chance in a million: nothing to tell apart
                }
            }
            _ => app.clock.advance(301),
        }
        let (status, body) = redeem(&app, &id, "email", "kim@example.com", &code).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{case}: {body}");
        assert_eq!(body["error_description"], WRONG, "{case}");
    }
    // Two wrong tries leave the third for the right code.
    start(&app, send()).await;
    let code = code_sent_to(&app, "kim@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        redeem(&app, &id, "email", "kim@example.com", wrong).await;
    }
    let (status, body) = redeem(&app, &id, "email", "kim@example.com", &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn brute_force_protection_counts_wrong_codes_as_wrong_passwords() {
    let app = TestApp::start().await;
    let id = setup(&app, json!({"totp": {"time_step": 300, "length": 6}})).await;
    let token = token_for(
        &app,
        &audience(&app),
        &["update:attack_protection", "read:users", "update:users"],
    )
    .await;
    let (status, _) = call(
        &app,
        "PATCH",
        "/attack-protection/brute-force-protection",
        Some(&token),
        Some(json!({"max_attempts": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let send = json!({"client_id": id.to_string(), "connection": "email", "email": "lee@example.com", "send": "code"});
    // Three wrong codes (each code lives for three tries: a new one each time).
    for _ in 0..3 {
        start(&app, send.clone()).await;
        let code = code_sent_to(&app, "lee@example.com").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, _) = redeem(&app, &id, "email", "lee@example.com", wrong).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // The right code is refused unchecked, as a right password would be.
    start(&app, send.clone()).await;
    let code = code_sent_to(&app, "lee@example.com").await;
    let (status, body) = redeem(&app, &id, "email", "lee@example.com", &code).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "too_many_attempts", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Your account has been blocked"),
        "{body}"
    );
    // Listed and lifted as any block; the same (unused) code then logs in.
    let (status, blocks) = call(
        &app,
        "GET",
        "/user-blocks?identifier=lee%40example.com",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(blocks["blocked_for"][0]["connection"], "email", "{blocks}");
    let (status, _) = call(
        &app,
        "DELETE",
        "/user-blocks?identifier=lee%40example.com",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = redeem(&app, &id, "email", "lee@example.com", &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_sms_code_kept_in_the_outbox_logs_in_an_sms_user() {
    let app = TestApp::start().await;
    let id = setup(&app, json!({})).await;
    let (status, started) = start(
        &app,
        json!({"client_id": id.to_string(), "connection": "sms", "phone_number": "+14155550123"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["phone_number"], "+14155550123");
    let sent = app
        .store
        .outbox(Some("+14155550123"), Page::first())
        .await
        .unwrap();
    assert_eq!(sent[0].email.kind, "sms");
    assert!(
        sent[0]
            .email
            .body
            .starts_with("Your verification code is: "),
        "{}",
        sent[0].email.body
    );
    let code = code_sent_to(&app, "+14155550123").await;
    let (status, body) = redeem(&app, &id, "sms", "+14155550123", "999999x").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error_description"],
        "Wrong phone number or verification code."
    );
    let (status, tokens) = redeem(&app, &id, "sms", "+14155550123", &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let said = claims(tokens["id_token"].as_str().unwrap());
    let sub = said["sub"].as_str().unwrap().to_owned();
    assert!(sub.starts_with("sms|"), "{sub}");
    // The `phone` scope's claims (OIDC Core §5.4); no email for a number.
    assert_eq!(
        (
            said["phone_number"].as_str(),
            said["phone_number_verified"].as_bool()
        ),
        (Some("+14155550123"), Some(true)),
        "{said}"
    );
    assert!(said.get("email").is_none(), "{said}");
    let user = app
        .store
        .user(&sigil_core::ids::UserId(sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.phone_number.as_deref(), Some("+14155550123"));
    assert!(user.phone_verified);
    assert_eq!(user.identities[0].provider, "sms");
    let token = token_for(&app, &audience(&app), &["read:users"]).await;
    let path = format!("/users/{}", crate::browser::urlencode(&user.user_id.0));
    let (status, shown) = call(&app, "GET", &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        (
            shown["phone_number"].as_str(),
            shown["phone_verified"].as_bool()
        ),
        (Some("+14155550123"), Some(true)),
        "{shown}"
    );
    assert_eq!(shown["identities"][0]["connection"], "sms");
}

#[tokio::test]
async fn bad_starts_get_auth0s_refusals() {
    let app = TestApp::start().await;
    let id = setup(&app, json!({})).await.to_string();
    let database = "Username-Password-Authentication";
    // (body, status, error, description contains)
    let cases = [
        (
            json!({"client_id": id, "connection": "nope", "email": "a@example.com"}),
            400,
            "bad.connection",
            "Connection does not exist",
        ),
        (
            json!({"client_id": app.spa.to_string(), "connection": "email", "email": "a@example.com"}),
            400,
            "bad.connection",
            "Connection is disabled",
        ),
        (
            json!({"client_id": id, "connection": database, "email": "a@example.com"}),
            400,
            "bad.connection",
            "passwordless connection",
        ),
        (
            json!({"client_id": id, "connection": "email", "email": "not-an-address"}),
            400,
            "bad.email",
            "email",
        ),
        (
            json!({"client_id": id, "connection": "email"}),
            400,
            "bad.email",
            "email",
        ),
        (
            json!({"client_id": id, "connection": "sms", "phone_number": "4155550123"}),
            400,
            "bad.phone_number",
            "E.164",
        ),
        (
            json!({"client_id": id, "connection": "sms", "phone_number": "+14155550123", "send": "link"}),
            400,
            "bad.request",
            "code",
        ),
        (
            json!({"client_id": id, "connection": "email", "email": "a@example.com", "send": "fax"}),
            400,
            "bad.request",
            "fax",
        ),
        (
            json!({"client_id": id, "connection": "email", "email": "a@example.com", "colour": "red"}),
            400,
            "bad.request",
            "not allowed: colour",
        ),
        (
            json!({"client_id": id, "connection": "email", "email": "a@example.com", "authParams": "x"}),
            400,
            "bad.authParams",
            "object",
        ),
        (
            json!({"client_id": "unknown", "connection": "email", "email": "a@example.com"}),
            401,
            "invalid_client",
            "unknown client",
        ),
        (
            json!({"client_id": app.web.0.to_string(), "connection": "email", "email": "a@example.com"}),
            401,
            "invalid_client",
            "",
        ),
    ];
    for (body, status, error, words) in cases {
        let (got, answer) = start(&app, body.clone()).await;
        assert_eq!(got.as_u16(), status, "{body}: {answer}");
        assert_eq!(answer["error"], error, "{body}: {answer}");
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap()
                .contains(words),
            "{body}: {answer}"
        );
    }
    // A client without the grant may send codes but not use them.
    let (status, body) = redeem(&app, &app.native, "email", "a@example.com", "123456").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "unauthorized_client", "{body}");
}

#[tokio::test]
async fn starts_are_limited_to_fifty_an_hour_from_one_address() {
    let app = TestApp::start().await;
    let id = setup(&app, json!({})).await;
    for n in 1..=50 {
        let (status, body) = start(
            &app,
            json!({"client_id": id.to_string(), "connection": "email", "email": format!("u{n}@example.com"), "send": "code"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "start {n}: {body}");
    }
    let (status, body) = start(
        &app,
        json!({"client_id": id.to_string(), "connection": "email", "email": "u51@example.com", "send": "code"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "too_many_requests");
    app.clock.advance(72);
    let (status, _) = start(
        &app,
        json!({"client_id": id.to_string(), "connection": "email", "email": "u52@example.com", "send": "code"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "one start comes back every 72 seconds"
    );
}

#[tokio::test]
async fn passwordless_connections_keep_their_secrets_and_check_their_options() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &[
            "create:connections",
            "read:connections",
            "update:connections",
        ],
    )
    .await;
    let t = Some(token.as_str());
    let (status, created) = call(
        &app,
        "POST",
        "/connections",
        t,
        Some(json!({"name": "sms", "strategy": "sms", "options": {
            "twilio_sid": "AC123", "twilio_token": "TWILIO-SECRET", "from": "+15550001111",
            "totp": {"length": 4, "time_step": 120}, "disable_signup": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(!created.to_string().contains("TWILIO-SECRET"), "{created}");
    assert_eq!(created["strategy"], "sms");
    assert_eq!(created["options"]["totp"]["length"], 4);
    let path = format!("/connections/{}", created["id"].as_str().unwrap());
    // Written back as read (without the token): the token is kept.
    let (status, patched) = call(
        &app,
        "PATCH",
        &path,
        t,
        Some(json!({"options": created["options"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let stored = app.store.connection_by_name("sms").await.unwrap().unwrap();
    assert_eq!(
        stored.upstream.unwrap().secrets.get("twilio_token"),
        Some("TWILIO-SECRET")
    );
    // A second sms connection would claim the same users' ids.
    let (status, body) = call(
        &app,
        "POST",
        "/connections",
        t,
        Some(json!({"name": "sms-2", "strategy": "sms"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for (options, property) in [
        (json!({"totp": {"length": 2}}), "options.totp.length"),
        (json!({"provider": "sms_gateway"}), "options.gateway_url"),
        (
            json!({"provider": "sms_gateway", "gateway_url": "http://example.com/sms"}),
            "options.gateway_url",
        ),
        (json!({"provider": "twilio"}), "options.twilio_sid"),
        (json!({"twilio_sid": "AC1"}), "options.from"),
        (
            json!({"template": "{% if %}", "syntax": "liquid"}),
            "options.template",
        ),
    ] {
        let (status, body) = call(&app, "PATCH", &path, t, Some(json!({"options": options}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{options}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(property),
            "{options}: {body}"
        );
    }
}

/// The link in the newest passwordless mail to `to`.
async fn link_sent_to(app: &TestApp, to: &str) -> String {
    let sent = app.store.outbox(Some(to), Page::first()).await.unwrap();
    let mail = &sent.first().expect("a message").email;
    assert_eq!(mail.kind, "passwordless_link");
    mail.body
        .split_whitespace()
        .find(|w| w.contains("/passwordless/verify_redirect?"))
        .unwrap_or_else(|| panic!("no link in {}", mail.body))
        .to_owned()
}

#[tokio::test]
async fn a_magic_link_logs_the_browser_in_as_authorize_would_once() {
    use crate::app::CALLBACK;
    use crate::browser::{Browser, CHALLENGE, callback_params, param, redeem_code};

    let app = TestApp::start().await;
    let id = setup(&app, json!({"authParams": {"scope": "openid email"}})).await;
    let send_link = |state: &str| {
        json!({"client_id": id.to_string(), "connection": "email", "email": "lou@example.com",
               "send": "link", "authParams": {"redirect_uri": CALLBACK, "response_type": "code",
               "state": state, "nonce": "n-1", "code_challenge": CHALLENGE,
               "code_challenge_method": "S256"}})
    };
    let (status, body) = start(&app, send_link("s-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let link = link_sent_to(&app, "lou@example.com").await;
    assert!(
        link.starts_with(&app.url("passwordless/verify_redirect?")),
        "{link}"
    );
    assert!(
        link.contains("scope=openid+email"),
        "the connection's authParams: {link}"
    );
    assert_eq!(
        newest(&app, "cls").await.event.connection.as_deref(),
        Some("email")
    );

    let mut browser = Browser::new();
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    let params = callback_params(page.location());
    assert_eq!(param(&params, "state"), Some("s-1"));
    assert!(
        browser.cookie("sigil_session").is_some(),
        "an SSO session started"
    );
    let tokens = redeem_code(
        &app,
        id.as_str(),
        param(&params, "code").unwrap().to_owned(),
    )
    .await;
    let said = claims(tokens["id_token"].as_str().unwrap());
    assert!(
        said["sub"].as_str().unwrap().starts_with("email|"),
        "{said}"
    );
    assert_eq!(said["nonce"], "n-1");
    assert_eq!(said["email"], "lou@example.com");

    // Used once: the application hears access_denied.
    let again = Browser::new().get(&link).await;
    let params = callback_params(again.location());
    assert_eq!(param(&params, "error"), Some("access_denied"), "{params:?}");
    assert_eq!(param(&params, "error_description"), Some(WRONG));
    assert_eq!(param(&params, "state"), Some("s-1"));

    // A link to an unregistered redirect URI is a page, never a redirect.
    start(&app, send_link("s-2")).await;
    let link = link_sent_to(&app, "lou@example.com").await;
    let evil = link.replace(
        &crate::browser::urlencode(CALLBACK),
        &crate::browser::urlencode("https://evil.example.com/cb"),
    );
    assert_ne!(evil, link);
    let page = Browser::new().get(&evil).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    // The code was not spent by that: the real link still works.
    let page = Browser::new().get(&link).await;
    assert!(
        param(&callback_params(page.location()), "code").is_some(),
        "{}",
        page.location()
    );
}

#[tokio::test]
async fn the_hosted_pages_send_a_code_and_log_in_with_it() {
    use crate::browser::{Browser, authorize_url, callback_params, param, redeem_code};

    let app = TestApp::start().await;
    let id = setup(&app, json!({})).await;
    let mut browser = Browser::new();

    // The login page offers a code by mail and by SMS beside the password form.
    let login = browser.get(&authorize_url(&app, id.as_str(), "")).await;
    let page = browser.get(login.location()).await;
    assert!(
        page.body.contains("Email me a code") && page.body.contains("Text me a code"),
        "{}",
        page.body
    );

    // /authorize?connection=email goes to the page asking for the address.
    let start = browser
        .get(&authorize_url(&app, id.as_str(), "&connection=email"))
        .await;
    assert!(
        start
            .location()
            .starts_with(&app.url("u/login/passwordless?")),
        "{}",
        start.location()
    );
    let page = browser.get(start.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Email me a code"));
    let form = |page: &crate::browser::Page, identifier: &str, code: Option<&str>| {
        let mut fields = vec![
            ("tx", page.field("tx")),
            ("connection", "email".to_owned()),
            ("identifier", identifier.to_owned()),
        ];
        if let Some(code) = code {
            fields.push(("code", code.to_owned()));
        }
        fields
    };
    let (send_url, code_url) = (
        app.url("u/login/passwordless"),
        app.url("u/login/passwordless/code"),
    );
    let bad = post_page(&mut browser, &send_url, form(&page, "not-an-address", None)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("Enter a valid email address."),
        "{}",
        bad.body
    );
    let code_page = post_page(&mut browser, &send_url, form(&bad, "Sam@Example.com", None)).await;
    assert_eq!(code_page.status, StatusCode::OK, "{}", code_page.body);
    assert!(
        code_page
            .body
            .contains("sent an email with your code to <strong>sam@example.com</strong>"),
        "{}",
        code_page.body
    );
    let code = code_sent_to(&app, "sam@example.com").await;

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = post_page(
        &mut browser,
        &code_url,
        form(&code_page, "sam@example.com", Some(wrong)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("The code is wrong or has expired"),
        "{}",
        refused.body
    );
    assert_eq!(
        newest(&app, "f").await.event.connection.as_deref(),
        Some("email")
    );
    // A form without the page's CSRF cookie is refused.
    let mut stranger = Browser::new();
    let forged = post_page(
        &mut stranger,
        &code_url,
        form(&refused, "sam@example.com", Some(&code)),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let done = post_page(
        &mut browser,
        &code_url,
        form(&refused, "sam@example.com", Some(&code)),
    )
    .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let params = callback_params(done.location());
    assert!(browser.cookie("sigil_session").is_some());
    let tokens = redeem_code(
        &app,
        id.as_str(),
        param(&params, "code").unwrap().to_owned(),
    )
    .await;
    let said = claims(tokens["id_token"].as_str().unwrap());
    assert!(
        said["sub"].as_str().unwrap().starts_with("email|"),
        "{said}"
    );
    let session = newest(&app, "s").await.event;
    assert_eq!(session.connection.as_deref(), Some("email"));
}

async fn post_page(
    browser: &mut crate::browser::Browser,
    url: &str,
    fields: Vec<(&'static str, String)>,
) -> crate::browser::Page {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post_form(url, &pairs).await
}

#[tokio::test]
async fn post_login_actions_run_for_a_passwordless_login() {
    let app = TestApp::start().await;
    let token = crate::actions::actions_token(&app).await;
    let id = setup(&app, json!({})).await;
    crate::actions::bind_only(
        &app,
        &token,
        "post-login",
        "passwordless-claims",
        r#"exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("https://example.com/how",
    `${event.connection.strategy}:${event.authentication.methods.map((m) => m.name).join(",")}`);
};"#,
    )
    .await;
    start(
        &app,
        json!({"client_id": id.to_string(), "connection": "sms", "phone_number": "+14155550999"}),
    )
    .await;
    let code = code_sent_to(&app, "+14155550999").await;
    let (status, tokens) = redeem(&app, &id, "sms", "+14155550999", &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let said = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(said["https://example.com/how"], "sms:sms", "{said}");
}
