//! Multi-factor authentication in Universal Login, through real HTTP: the tenant's factors and
//! policy set with the Management API, enrolment of an authenticator app (the secret read from
//! the page, the codes computed here with an RFC 6238 implementation of the test's own), the
//! recovery code shown once and replaced when used, the challenge, a replayed code, the bucket
//! of attempts, "remember this device", `acr_values`, `prompt=none`, and the ID token's `amr`
//! and `acr`; then the Management API's view of a user's factors.

use aws_lc_rs::hmac;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::model::LogQuery;
use sigil_core::{Page as StorePage, Store};

use crate::app::{PASSWORD, TestApp};
use crate::browser::{
    Browser, Page, authorize_url, callback_params, param, redeem_code, urlencode,
};
use crate::events::newest;
use crate::management::{audience, call, token_for};
use crate::passwordless::code_sent_to;

pub(crate) const PAPE: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

const SCOPES: &[&str] = &[
    "read:guardian_factors",
    "update:guardian_factors",
    "read:mfa_policies",
    "update:mfa_policies",
    "read:authentication_methods",
    "create:authentication_methods",
    "delete:authentication_methods",
    "delete:guardian_enrollments",
    "read:users",
    "update:users",
    "create:users",
    "create:guardian_enrollment_tickets",
    "read:guardian_enrollments",
];

/// RFC 4648 base32 (no padding), as authenticator apps read the secret.
pub(crate) fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut buffer, mut out) = (0u32, 0u64, Vec::new());
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c).expect("base32") as u64;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s) of `secret` at Unix time `at`.
pub(crate) fn totp(secret: &str, at: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &base32_decode(secret));
    let tag = hmac::sign(&key, &((at / 30) as u64).to_be_bytes());
    let bytes = tag.as_ref();
    let offset = usize::from(bytes[19] & 0xf);
    let word = u32::from_be_bytes([
        bytes[offset] & 0x7f,
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ]);
    format!("{:06}", word % 1_000_000)
}

/// A six-digit code that is not `code`.
pub(crate) fn other_than(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

/// The text of the element with id `id` in `page`.
fn text_of(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id}: {}", page.body));
    let rest = &page.body[start..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..].split('<').next().unwrap().trim().to_owned()
}

pub(crate) async fn management(app: &TestApp) -> String {
    token_for(app, &audience(app), SCOPES).await
}

/// Turns the `otp` and `recovery-code` factors on, and the policy to `policies`.
pub(crate) async fn turn_on(app: &TestApp, token: &str, policies: Value) {
    for factor in ["otp", "recovery-code"] {
        let path = format!("/guardian/factors/{factor}");
        let (status, body) = call(
            app,
            "PUT",
            &path,
            Some(token),
            Some(json!({"enabled": true})),
        )
        .await;
        assert_eq!((status, body), (StatusCode::OK, json!({"enabled": true})));
    }
    let (status, body) = call(
        app,
        "PUT",
        "/guardian/policies",
        Some(token),
        Some(policies.clone()),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, policies));
}

/// Turns the `email` factor on too.
pub(crate) async fn turn_on_email(app: &TestApp, token: &str) {
    let body = Some(json!({"enabled": true}));
    let (status, answer) = call(app, "PUT", "/guardian/factors/email", Some(token), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// Ann logs in at the hosted page for the SPA with `extra` parameters; the page the login
/// leads to.
async fn password_login(app: &TestApp, browser: &mut Browser, extra: &str) -> Page {
    login_as(app, browser, "ann@example.com", PASSWORD, extra).await
}

/// As [`password_login`], for the user with `email` and `password`.
async fn login_as(
    app: &TestApp,
    browser: &mut Browser,
    email: &str,
    password: &str,
    extra: &str,
) -> Page {
    let spa = app.spa.to_string();
    let start = browser.get(&authorize_url(app, &spa, extra)).await;
    assert!(
        start.location().contains("/u/login?tx="),
        "{}",
        start.location()
    );
    let form = browser.get(start.location()).await;
    browser
        .submit_login(app, &form.field("tx"), email, password)
        .await
}

/// Follows the redirect to the MFA page.
pub(crate) async fn mfa_page(app: &TestApp, browser: &mut Browser, redirect: &Page) -> Page {
    assert_eq!(redirect.status, StatusCode::FOUND, "{}", redirect.body);
    let location = redirect.location().to_owned();
    assert!(location.starts_with(&app.url("u/mfa?state=")), "{location}");
    let page = browser.get(&location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// Posts `fields` (and the page's state) to the MFA form of `page`.
pub(crate) async fn submit(
    app: &TestApp,
    browser: &mut Browser,
    page: &Page,
    fields: &[(&str, &str)],
) -> Page {
    let state = page.field("state");
    let mut form = vec![("state", state.as_str())];
    form.extend_from_slice(fields);
    browser.post_form(&app.url("u/mfa"), &form).await
}

/// Answers the challenge `page` with the current code of `secret`: the login ends at the
/// application with `amr: ["mfa"]` in the ID token.
async fn pass_with_code(app: &TestApp, browser: &mut Browser, page: &Page, secret: &str) {
    let code = totp(secret, app.clock_now());
    let done = submit(app, browser, page, &[("factor", "otp"), ("code", &code)]).await;
    assert_eq!(id_token(app, &done).await["amr"], json!(["mfa"]));
}

/// The ID token's claims from the code in `done`'s redirect to the callback.
async fn id_token(app: &TestApp, done: &Page) -> Value {
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let params = callback_params(done.location());
    let code = param(&params, "code")
        .unwrap_or_else(|| panic!("{params:?}"))
        .to_owned();
    let tokens = redeem_code(app, app.spa.as_str(), code).await;
    let verifier = app.verifier(app.spa.as_str()).await;
    let token = tokens["id_token"].as_str().unwrap();
    serde_json::to_value(
        verifier
            .verify::<Value>(token, sigil_core::UnixTime(app.clock_now()))
            .unwrap()
            .claims,
    )
    .unwrap()
}

pub(crate) async fn count(app: &TestApp, log_type: &str) -> usize {
    app.server.flush_events().await;
    let query = LogQuery {
        log_type: Some(log_type.into()),
        ..LogQuery::default()
    };
    app.store
        .list_logs(&query, StorePage::first())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn enrolment_challenge_recovery_code_and_remembered_browser_as_auth0() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!(["all-applications"])).await;
    let (_, factors) = call(&app, "GET", "/guardian/factors", Some(&token), None).await;
    let enabled: Vec<&str> = factors
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["enabled"] == json!(true))
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(enabled, ["otp", "recovery-code"]);

    // The first login enrols: the QR code is inline SVG, the secret is on the page as text.
    let mut browser = Browser::new();
    let after_password = password_login(&app, &mut browser, "").await;
    let enrol = mfa_page(&app, &mut browser, &after_password).await;
    assert!(enrol.body.contains("Secure Your Account"), "{}", enrol.body);
    assert!(enrol.body.contains("<svg role=\"img\""), "{}", enrol.body);
    let secret = text_of(&enrol, "secret");
    assert_eq!(secret.len(), 32, "{secret}");
    let now = app.clock_now();
    let code = totp(&secret, now);
    let mut page = enrol;
    for (typed, status, message) in [
        (
            other_than(&code),
            StatusCode::BAD_REQUEST,
            "The code you entered is invalid",
        ),
        (
            "12ab".to_owned(),
            StatusCode::BAD_REQUEST,
            "OTP Code must have 6 numeric characters",
        ),
    ] {
        let refused = submit(
            &app,
            &mut browser,
            &page,
            &[("factor", "otp"), ("code", &typed)],
        )
        .await;
        assert_eq!(refused.status, status, "{typed}: {}", refused.body);
        assert!(refused.body.contains(message), "{typed}: {}", refused.body);
        // The same secret is offered again.
        assert_eq!(text_of(&refused, "secret"), secret);
        page = refused;
    }
    let enrolled = submit(
        &app,
        &mut browser,
        &page,
        &[("factor", "otp"), ("code", &code)],
    )
    .await;
    assert_eq!(enrolled.status, StatusCode::OK, "{}", enrolled.body);
    assert!(enrolled.body.contains("Almost There!"), "{}", enrolled.body);
    let recovery_code = text_of(&enrolled, "recovery-code");
    assert_eq!(recovery_code.len(), 24, "{recovery_code}");
    assert!(
        recovery_code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    let unconfirmed = submit(&app, &mut browser, &enrolled, &[]).await;
    assert!(
        unconfirmed
            .body
            .contains("Please confirm you have recorded the code")
    );
    assert_eq!(text_of(&unconfirmed, "recovery-code"), recovery_code);
    let done = submit(&app, &mut browser, &unconfirmed, &[("recorded", "1")]).await;
    let claims = id_token(&app, &done).await;
    assert_eq!(claims["amr"], json!(["mfa"]), "{claims}");
    assert!(claims.get("acr").is_none(), "{claims}");
    assert_eq!(count(&app, "mfar").await, 1);
    assert_eq!(count(&app, "gd_enrollment_complete").await, 1);
    let success = newest(&app, "s").await;
    assert_eq!(success.event.details["performed_amr"], json!(["mfa"]));

    // The session passed MFA: the next login rides it, silent authentication without `amr`.
    let sso = browser
        .get(&authorize_url(&app, app.spa.as_str(), ""))
        .await;
    assert_eq!(id_token(&app, &sso).await["amr"], json!(["mfa"]));
    let silent = browser
        .get(&authorize_url(&app, app.spa.as_str(), "&prompt=none"))
        .await;
    assert!(id_token(&app, &silent).await.get("amr").is_none());

    // Another browser is challenged; the code just used is refused in its time step, the next
    // step's is accepted, and the browser is remembered.
    let mut other = Browser::new();
    let after_password = password_login(&app, &mut other, "").await;
    let challenge = mfa_page(&app, &mut other, &after_password).await;
    assert!(
        challenge.body.contains("Verify Your Identity"),
        "{}",
        challenge.body
    );
    assert!(challenge.body.contains("Remember this device for 30 days"));
    let replayed = submit(
        &app,
        &mut other,
        &challenge,
        &[("factor", "otp"), ("code", &code)],
    )
    .await;
    assert!(
        replayed.body.contains("The code you entered is invalid"),
        "{}",
        replayed.body
    );
    app.clock.advance(30);
    let next = totp(&secret, app.clock_now());
    let done = submit(
        &app,
        &mut other,
        &replayed,
        &[("factor", "otp"), ("code", &next), ("remember", "1")],
    )
    .await;
    assert_eq!(id_token(&app, &done).await["amr"], json!(["mfa"]));
    assert!(other.cookie("sigil_mfa_rb").is_some());
    assert_eq!(count(&app, "gd_auth_failed").await, 2);

    // A new login in the remembered browser skips the second factor (and says nothing of it).
    let skipped = password_login(&app, &mut other, "&prompt=login").await;
    let claims = id_token(&app, &skipped).await;
    assert!(claims.get("amr").is_none(), "{claims}");

    // acr_values asks anyway; the recovery code logs in once and a new one is shown.
    let asked = password_login(
        &app,
        &mut other,
        &format!("&prompt=login&acr_values={}", urlencode(PAPE)),
    )
    .await;
    let challenge = mfa_page(&app, &mut other, &asked).await;
    assert!(
        !challenge.body.contains("Remember this device"),
        "{}",
        challenge.body
    );
    let options = other
        .get(&challenge_link(&challenge, "Try another method"))
        .await;
    assert!(options.body.contains("Recovery code"), "{}", options.body);
    let recovery_page = other.get(&challenge_link(&options, "Recovery code")).await;
    assert!(
        recovery_page.body.contains("Enter the recovery code"),
        "{}",
        recovery_page.body
    );
    let shaped = submit(
        &app,
        &mut other,
        &recovery_page,
        &[("factor", "recovery-code"), ("code", "ABC")],
    )
    .await;
    assert!(
        shaped
            .body
            .contains("Recovery code must have 24 alphanumeric characters")
    );
    let typed = recovery_code.to_lowercase();
    let used = submit(
        &app,
        &mut other,
        &shaped,
        &[("factor", "recovery-code"), ("code", &typed)],
    )
    .await;
    assert!(used.body.contains("Almost There!"), "{}", used.body);
    let new_code = text_of(&used, "recovery-code");
    assert_ne!(new_code, recovery_code);
    let done = submit(&app, &mut other, &used, &[("recorded", "1")]).await;
    let claims = id_token(&app, &done).await;
    assert_eq!(
        (&claims["amr"], &claims["acr"]),
        (&json!(["mfa"]), &json!(PAPE)),
        "{claims}"
    );
    assert_eq!(count(&app, "gd_recovery_succeed").await, 1);

    // The used recovery code works no more.
    let mut third = Browser::new();
    let after_password = password_login(&app, &mut third, "").await;
    let challenge = mfa_page(&app, &mut third, &after_password).await;
    let refused = submit(
        &app,
        &mut third,
        &challenge,
        &[("factor", "recovery-code"), ("code", &recovery_code)],
    )
    .await;
    assert!(
        refused
            .body
            .contains("The recovery code you entered is invalid"),
        "{}",
        refused.body
    );

    // An administrator forgets the remembered browsers: MFA is asked there again.
    let path = format!(
        "/users/{}/multifactor/actions/invalidate-remember-browser",
        urlencode(app.ann.as_str())
    );
    let (status, _) = call(&app, "POST", &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.clock.advance(1);
    let asked = password_login(&app, &mut other, "&prompt=login").await;
    mfa_page(&app, &mut other, &asked).await;
}

/// The link of `page` whose text is `text`.
fn challenge_link(page: &Page, text: &str) -> String {
    let end = page
        .body
        .find(&format!(">{text}</a>"))
        .unwrap_or_else(|| panic!("no {text}: {}", page.body));
    let start = page.body[..end].rfind("href=\"").unwrap() + 6;
    page.body[start..end]
        .trim_end_matches('"')
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
}

#[tokio::test]
async fn ten_wrong_codes_empty_the_bucket_until_it_refills() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!(["all-applications"])).await;
    // Ann's authenticator app, given by an administrator (as a migration would).
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let path = format!(
        "/users/{}/authentication-methods",
        urlencode(app.ann.as_str())
    );
    let (status, created) = call(
        &app,
        "POST",
        &path,
        Some(&token),
        Some(json!({"type": "totp", "totp_secret": secret})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (&created["type"], &created["confirmed"]),
        (&json!("totp"), &json!(true))
    );
    assert!(created.get("totp_secret").is_none());

    let mut browser = Browser::new();
    let after_password = password_login(&app, &mut browser, "").await;
    let mut page = mfa_page(&app, &mut browser, &after_password).await;
    assert!(
        page.body.contains("Verify Your Identity"),
        "no enrolment: {}",
        page.body
    );
    let code = totp(secret, app.clock_now());
    for _ in 0..10 {
        page = submit(
            &app,
            &mut browser,
            &page,
            &[("factor", "otp"), ("code", &other_than(&code))],
        )
        .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
    }
    let refused = submit(
        &app,
        &mut browser,
        &page,
        &[("factor", "otp"), ("code", &code)],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("Too many failed codes. Wait for some minutes before retrying.")
    );
    assert_eq!(count(&app, "gd_otp_rate_limit_exceed").await, 1);
    let metrics = crate::metrics::scrape(&app).await;
    for line in [
        "sigil_mfa_total{result=\"required\"} 1",
        "sigil_mfa_total{result=\"wrong\"} 10",
        "sigil_mfa_total{result=\"throttled\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
    // Six minutes give one more try.
    app.clock.advance(6 * 60);
    pass_with_code(&app, &mut browser, &refused, secret).await;
}

#[tokio::test]
async fn the_policy_acr_values_and_prompt_none_decide_when_a_second_factor_is_asked() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!([])).await;
    // Policy never: no prompt.
    let mut browser = Browser::new();
    let done = password_login(&app, &mut browser, "").await;
    assert!(id_token(&app, &done).await.get("amr").is_none());
    // prompt=none with acr_values cannot show the page.
    let silent = browser
        .get(&authorize_url(
            &app,
            app.spa.as_str(),
            &format!("&prompt=none&acr_values={}", urlencode(PAPE)),
        ))
        .await;
    let params = callback_params(silent.location());
    assert_eq!(param(&params, "error"), Some("login_required"));
    assert_eq!(
        param(&params, "error_description"),
        Some("Multifactor authentication required")
    );
    // acr_values on the session: a step-up asks only for the second factor (enrolment here).
    let step_up = browser
        .get(&authorize_url(
            &app,
            app.spa.as_str(),
            &format!("&acr_values={}", urlencode(PAPE)),
        ))
        .await;
    let enrol = mfa_page(&app, &mut browser, &step_up).await;
    assert!(enrol.body.contains("Secure Your Account"));
}

#[tokio::test]
async fn the_management_api_shows_and_resets_a_users_factors() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!(["all-applications"])).await;
    let user = urlencode(app.ann.as_str());
    let methods = format!("/users/{user}/authentication-methods");
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let create = |body: Value| {
        let (app, token, methods) = (&app, &token, &methods);
        async move { call(app, "POST", methods, Some(token), Some(body)).await }
    };
    let (status, _) = create(json!({"type": "totp", "totp_secret": secret})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, code) = call(
        &app,
        "POST",
        &format!("/users/{user}/recovery-code-regeneration"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let recovery_code = code["recovery_code"].as_str().unwrap().to_owned();
    assert_eq!(recovery_code.len(), 24);

    let refusals = [
        (
            json!({"type": "totp", "totp_secret": secret}),
            StatusCode::CONFLICT,
            "delete it first",
        ),
        (
            json!({"type": "totp", "totp_secret": "not base32!"}),
            StatusCode::BAD_REQUEST,
            "totp_secret",
        ),
        (
            json!({"type": "totp"}),
            StatusCode::BAD_REQUEST,
            "totp_secret",
        ),
        (
            json!({"type": "phone", "phone_number": "+15551234567"}),
            StatusCode::BAD_REQUEST,
            "creates totp",
        ),
        (
            json!({"type": "totp", "totp_secret": secret, "pin": 1}),
            StatusCode::BAD_REQUEST,
            "pin",
        ),
    ];
    for (body, status, part) in refusals {
        let (got, answer) = create(body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(part),
            "{body}: {answer}"
        );
    }
    let settings_refusals = [
        (
            "PUT",
            "/guardian/policies",
            json!(["confidence-score"]),
            "Adaptive MFA",
        ),
        (
            "PUT",
            "/guardian/policies",
            json!(["sometimes"]),
            "No enum match",
        ),
        (
            "PUT",
            "/guardian/factors/sms",
            json!({"enabled": true}),
            "does not offer the sms factor",
        ),
        (
            "PUT",
            "/guardian/factors/fax",
            json!({"enabled": true}),
            "factor names",
        ),
        (
            "PUT",
            "/guardian/factors/otp",
            json!({"enabled": "yes"}),
            "enabled",
        ),
    ];
    for (method, path, body, part) in settings_refusals {
        let (status, answer) = call(&app, method, path, Some(&token), Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(part),
            "{path} {body}: {answer}"
        );
    }

    let (status, listed) = call(&app, "GET", &methods, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    let mut kinds: Vec<(&str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap(),
                m["confirmed"].as_bool().unwrap(),
            )
        })
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, [("recovery-code", true), ("totp", true)]);
    assert!(
        listed[0]["created_at"].as_str().unwrap().ends_with(".000Z"),
        "{listed}"
    );
    assert!(!listed.to_string().contains(secret));
    let (_, enrollments) = call(
        &app,
        "GET",
        &format!("/users/{user}/enrollments"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(enrollments.as_array().unwrap().len(), 1, "{enrollments}");
    assert_eq!(
        (&enrollments[0]["status"], &enrollments[0]["auth_method"]),
        (&json!("confirmed"), &json!("authenticator"))
    );

    // The regenerated code logs in (and the one before it no longer would).
    let mut browser = Browser::new();
    let after_password = password_login(&app, &mut browser, "").await;
    let challenge = mfa_page(&app, &mut browser, &after_password).await;
    let used = submit(
        &app,
        &mut browser,
        &challenge,
        &[("factor", "recovery-code"), ("code", &recovery_code)],
    )
    .await;
    assert!(used.body.contains("Almost There!"), "{}", used.body);

    // Reset: every factor gone, the next login enrols again.
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("/users/{user}/authenticators"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = call(&app, "GET", &methods, Some(&token), None).await;
    assert_eq!(listed, json!([]));
    assert_eq!(count(&app, "gd_unenroll").await, 1);
    let mut browser = Browser::new();
    let after_password = password_login(&app, &mut browser, "").await;
    let enrol = mfa_page(&app, &mut browser, &after_password).await;
    assert!(enrol.body.contains("Secure Your Account"));
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("{methods}/totp%7Cdev_missing"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_post_login_action_asks_for_a_second_factor_or_turns_it_off() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!([])).await;
    let path = format!(
        "/users/{}/authentication-methods",
        urlencode(app.ann.as_str())
    );
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let body = json!({"type": "totp", "totp_secret": secret});
    assert_eq!(
        call(&app, "POST", &path, Some(&token), Some(body)).await.0,
        StatusCode::CREATED
    );
    let actions = crate::actions::actions_token(&app).await;
    let ask = "exports.onExecutePostLogin = async (event, api) => { \
               api.multifactor.enable('any', { allowRememberBrowser: false }); };";
    crate::actions::bind_only(&app, &actions, "post-login", "Ask", ask).await;
    let mut browser = Browser::new();
    let after_password = password_login(&app, &mut browser, "").await;
    let challenge = mfa_page(&app, &mut browser, &after_password).await;
    assert!(
        challenge.body.contains("Verify Your Identity"),
        "{}",
        challenge.body
    );
    assert!(
        !challenge.body.contains("Remember this device"),
        "{}",
        challenge.body
    );
    let code = totp(secret, app.clock_now());
    let done = submit(
        &app,
        &mut browser,
        &challenge,
        &[("factor", "otp"), ("code", &code), ("remember", "1")],
    )
    .await;
    assert_eq!(id_token(&app, &done).await["amr"], json!(["mfa"]));
    assert!(
        browser.cookie("sigil_mfa_rb").is_none(),
        "remembered though the Action forbade it"
    );

    // 'none' turns it off, whatever the policy says.
    turn_on(&app, &token, json!(["all-applications"])).await;
    let off =
        "exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable('none'); };";
    crate::actions::bind_only(&app, &actions, "post-login", "Off", off).await;
    let mut other = Browser::new();
    let done = password_login(&app, &mut other, "").await;
    assert!(id_token(&app, &done).await.get("amr").is_none());
}

#[tokio::test]
async fn an_imported_authenticator_app_logs_in_without_enrolment() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!(["all-applications"])).await;
    let import = token_for(&app, &audience(&app), &["create:users", "read:users"]).await;
    let connection = crate::management_jobs::database_connection(&app).await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let hash = bcrypt::hash("imported with mfa", 4).unwrap();
    let entry = |email: &str, factors: Value| json!({"email": email, "password_hash": hash, "mfa_factors": factors});
    let users = json!([
        entry(
            "otp@example.com",
            json!([{"totp": {"secret": secret}}, {"email": {"value": "otp@example.com"}}])
        ),
        entry(
            "phone@example.com",
            json!([{"phone": {"value": "+15551234567"}}])
        ),
        entry(
            "lower@example.com",
            json!([{"totp": {"secret": "jbswy3dpehpk3pxp"}}])
        ),
        entry(
            "twice@example.com",
            json!([{"totp": {"secret": secret}}, {"totp": {"secret": secret}}])
        ),
        entry("none@example.com", json!([])),
    ]);
    let (status, job) = crate::management_jobs::upload(
        &app,
        Some(&import),
        Some(&users),
        &[("connection_id", connection.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["summary"]["inserted"], 1, "{job}");
    let (_, errors) = call(
        &app,
        "GET",
        &format!("/jobs/{}/errors", job["id"].as_str().unwrap()),
        Some(&import),
        None,
    )
    .await;
    let said = errors.to_string();
    for part in [
        "Sigil has no SMS factor",
        "unpadded base32",
        "at most one totp factor",
        "1 to 10 factors",
    ] {
        assert!(said.contains(part), "{part}: {said}");
    }
    let user = app
        .store
        .user_by_email(&connection, "otp@example.com")
        .await
        .unwrap()
        .unwrap();
    let (_, shown) = call(
        &app,
        "GET",
        &format!("/users/{}", urlencode(user.user_id.as_str())),
        Some(&import),
        None,
    )
    .await;
    assert_eq!(shown["multifactor"], json!(["guardian"]), "{shown}");
    assert!(
        shown["multifactor_last_modified"].as_str().is_some(),
        "{shown}"
    );

    let mut browser = Browser::new();
    let after_password = login_as(
        &app,
        &mut browser,
        "otp@example.com",
        "imported with mfa",
        "",
    )
    .await;
    let challenge = mfa_page(&app, &mut browser, &after_password).await;
    assert!(
        challenge.body.contains("Verify Your Identity"),
        "{}",
        challenge.body
    );
    pass_with_code(&app, &mut browser, &challenge, secret).await;
}

#[tokio::test]
async fn a_verified_address_is_challenged_by_mail_and_a_remembered_browser_unused_for_a_week_is_forgotten()
 {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!(["all-applications"])).await;
    turn_on_email(&app, &token).await;

    // Ann's address is verified: she is sent a code, without enrolling anything.
    let mut browser = Browser::new();
    let after_password = password_login(&app, &mut browser, "").await;
    let challenge = mfa_page(&app, &mut browser, &after_password).await;
    assert!(
        challenge
            .body
            .contains("We've sent an email with your code to <strong>ann@example.com</strong>"),
        "{}",
        challenge.body
    );
    assert!(!challenge.body.contains("Try another method"));
    let first = code_sent_to(&app, "ann@example.com").await;
    let wrong = submit(
        &app,
        &mut browser,
        &challenge,
        &[("factor", "email"), ("code", &other_than(&first))],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("The code you entered is invalid"));
    // Resent: a new code, and only it works in this login.
    let resent = browser.get(&challenge_link(&wrong, "Resend")).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let second = code_sent_to(&app, "ann@example.com").await;
    assert_eq!(count(&app, "gd_send_email").await, 2);
    let page = if first == second {
        resent
    } else {
        let stale = submit(
            &app,
            &mut browser,
            &resent,
            &[("factor", "email"), ("code", &first)],
        )
        .await;
        assert!(stale.body.contains("The code you entered is invalid"));
        stale
    };
    let done = submit(
        &app,
        &mut browser,
        &page,
        &[("factor", "email"), ("code", &second), ("remember", "1")],
    )
    .await;
    assert_eq!(id_token(&app, &done).await["amr"], json!(["mfa"]));
    assert_eq!(count(&app, "gd_auth_succeed").await, 1);

    // Remembered: each use within a week keeps it; a week unused forgets it.
    let day = 24 * 3600;
    for _ in 0..2 {
        app.clock.advance(6 * day);
        let skipped = password_login(&app, &mut browser, "&prompt=login").await;
        assert!(id_token(&app, &skipped).await.get("amr").is_none());
    }
    app.clock.advance(7 * day);
    let asked = password_login(&app, &mut browser, "&prompt=login").await;
    let challenge = mfa_page(&app, &mut browser, &asked).await;
    assert!(
        challenge.body.contains("We've sent an email"),
        "{}",
        challenge.body
    );
}

/// The newest mail of `kind` to `to` in the outbox.
async fn newest_mail(app: &TestApp, to: &str, kind: &str) -> Option<String> {
    let sent = app
        .store
        .outbox(Some(to), StorePage::first())
        .await
        .unwrap();
    sent.into_iter()
        .find(|m| m.email.kind == kind)
        .map(|m| m.email.body)
}

/// Posts `code` to the enrolment `page`'s form (its CSRF field replaced by `csrf` if given).
async fn enrol_with(
    app: &TestApp,
    browser: &mut Browser,
    page: &Page,
    code: &str,
    csrf: Option<&str>,
) -> Page {
    let (state, field) = (page.field("state"), page.field("csrf"));
    let form = [
        ("state", state.as_str()),
        ("csrf", csrf.unwrap_or(&field)),
        ("code", code),
    ];
    browser.post_form(&app.url("u/mfa-enrollment"), &form).await
}

#[tokio::test]
async fn an_enrolment_ticket_enrols_an_authenticator_app_without_a_login_once() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!([])).await;
    let ann = app.ann.as_str();

    // Bodies Sigil cannot serve are refused, each by name.
    let cases = [
        ("no user", json!({}), StatusCode::BAD_REQUEST),
        (
            "unknown user",
            json!({"user_id": "auth0|nobody"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "sms",
            json!({"user_id": ann, "factor": "sms"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "several",
            json!({"user_id": ann, "allow_multiple_enrollments": true}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown property",
            json!({"user_id": ann, "x": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, body, status) in cases {
        let (got, answer) = call(
            &app,
            "POST",
            "/guardian/enrollments/ticket",
            Some(&token),
            Some(body),
        )
        .await;
        assert_eq!(got, status, "{what}: {answer}");
    }
    assert_eq!(
        newest_mail(&app, "ann@example.com", "enrollment_email").await,
        None
    );

    // A ticket is mailed to the user's address by default.
    let (status, ticket) = call(
        &app,
        "POST",
        "/guardian/enrollments/ticket",
        Some(&token),
        Some(json!({"user_id": ann})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    let url = ticket["ticket_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&app.url("u/mfa-enrollment?ticket=")),
        "{url}"
    );
    assert!(url.ends_with(ticket["ticket_id"].as_str().unwrap()));
    let mail = newest_mail(&app, "ann@example.com", "enrollment_email")
        .await
        .unwrap();
    assert!(mail.contains(&url), "{mail}");

    // The link shows the enrolment; the first code enrols, and the recovery code is shown.
    let mut browser = Browser::new();
    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Secure Your Account"), "{}", page.body);
    let secret = text_of(&page, "secret");
    let code = totp(&secret, app.clock_now());
    let refused = enrol_with(&app, &mut browser, &page, &code, Some("forged")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let wrong = enrol_with(&app, &mut browser, &page, &other_than(&code), None).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("The code you entered is invalid"));
    assert_eq!(text_of(&wrong, "secret"), secret);
    let done = enrol_with(&app, &mut browser, &wrong, &code, None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("You're All Set!"), "{}", done.body);
    assert_eq!(text_of(&done, "recovery-code").len(), 24);
    assert_eq!(count(&app, "gd_enrollment_complete").await, 1);
    // Used once.
    let again = browser.get(&url).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        again.body.contains("This link was used already."),
        "{}",
        again.body
    );

    // The enrolment, by id; a new ticket for an enrolled user shows no enrolment.
    let (_, listed) = call(
        &app,
        "GET",
        &format!("/users/{}/enrollments", urlencode(ann)),
        Some(&token),
        None,
    )
    .await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/guardian/enrollments/{}", urlencode(&id));
    let (status, enrollment) = call(&app, "GET", &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{enrollment}");
    assert_eq!(
        (&enrollment["status"], &enrollment["auth_method"]),
        (&json!("confirmed"), &json!("authenticator"))
    );
    let (_, second) = call(
        &app,
        "POST",
        "/guardian/enrollments/ticket",
        Some(&token),
        Some(json!({"user_id": ann, "send_mail": false})),
    )
    .await;
    let enrolled = browser.get(second["ticket_url"].as_str().unwrap()).await;
    assert!(
        enrolled
            .body
            .contains("You have an authenticator app already"),
        "{}",
        enrolled.body
    );
    let (status, _) = call(&app, "DELETE", &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, "GET", &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Unenrolled: the second ticket now shows an enrolment.
    let page = browser.get(second["ticket_url"].as_str().unwrap()).await;
    assert!(page.body.contains("Secure Your Account"), "{}", page.body);
}
