//! Auth0's MFA API for embedded login, through real HTTP: the password grant answers
//! `mfa_required` with an `mfa_token` and `mfa_requirements`; `/mfa/associate` enrols an
//! authenticator app (its `barcode_uri` parsed here, its codes computed with the test's own
//! RFC 6238); the `mfa-otp` and `mfa-recovery-code` grants issue the tokens (with `amr`);
//! `/mfa/challenge`, `/mfa/authenticators` and its `DELETE` with an access token for the MFA
//! API; the email factor (`oob` by `email`: a verified address without enrolment, another
//! enrolled with `/mfa/associate`), its codes read from the outbox and sent to the `mfa-oob`
//! grant; and the notes' table of refusals, each a case.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::model::GrantType;

use crate::app::{Body, PASSWORD, TestApp, post};
use crate::mfa::{count, management, other_than, totp, turn_on, turn_on_email};
use crate::passwordless::code_sent_to;

const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
const MFA_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
const MFA_RECOVERY: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/// The backend client (confidential, password grants) allowed the MFA grants too.
async fn backend(app: &TestApp) -> (String, String) {
    let (id, secret) = &app.backend;
    let mut client = app.store.client(id).await.unwrap().unwrap();
    client.settings.grant_types.extend([
        GrantType::MfaOtp,
        GrantType::MfaOob,
        GrantType::MfaRecoveryCode,
    ]);
    app.store.update_client(&client).await.unwrap();
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    (id.to_string(), secret.expose().to_owned())
}

/// `body` with the members of `extra` added or replaced.
fn merged(mut body: Value, extra: &Value) -> Value {
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    body
}

/// The password grant as the backend, with `extra` members.
async fn password_grant(
    app: &TestApp,
    client: &(String, String),
    extra: Value,
) -> (StatusCode, Value) {
    let body = json!({
        "grant_type": "password",
        "client_id": client.0,
        "client_secret": client.1,
        "username": "ann@example.com",
        "password": PASSWORD,
        "scope": "openid profile email",
    });
    let body = merged(body, &extra);
    let (status, _, answer) = post(app, Body::Json(body), None).await;
    (status, answer)
}

/// An MFA grant as `client`.
async fn mfa_grant(
    app: &TestApp,
    client: &(String, String),
    grant: &str,
    fields: Value,
) -> (StatusCode, Value) {
    let body = json!({"grant_type": grant, "client_id": client.0, "client_secret": client.1});
    let body = merged(body, &fields);
    let (status, _, answer) = post(app, Body::Json(body), None).await;
    (status, answer)
}

/// `method /mfa/path` with `bearer` and a JSON body.
async fn mfa_call(
    app: &TestApp,
    method: &str,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app
        .http
        .request(method, app.url(&format!("mfa/{path}")))
        .bearer_auth(bearer);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The `mfa_token` of a password grant that must answer `mfa_required`.
async fn mfa_token(app: &TestApp, client: &(String, String), extra: Value) -> (String, Value) {
    let (status, answer) = password_grant(app, client, extra).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"], "mfa_required", "{answer}");
    assert_eq!(
        answer["error_description"],
        "Multifactor authentication required"
    );
    (
        answer["mfa_token"].as_str().unwrap().to_owned(),
        answer["mfa_requirements"].clone(),
    )
}

/// The claims of the ID token in `tokens`: the backend's ID tokens are HS256 (its secret), so
/// their payload is read here.
fn id_claims(tokens: &Value) -> Value {
    let id_token = tokens["id_token"].as_str().unwrap();
    serde_json::from_slice(
        &base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// The query parameter `name` of an `otpauth://` URI.
fn uri_param(uri: &str, name: &str) -> String {
    let query = uri.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(n, _)| n == name).unwrap().1
}

#[tokio::test]
async fn the_password_grant_asks_for_a_second_factor_and_the_mfa_grants_answer_it() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!(["all-applications"])).await;
    let client = backend(&app).await;

    // Not enrolled: the requirements say enrol; the token lists nothing yet.
    let (mfa, requirements) = mfa_token(&app, &client, json!({})).await;
    assert_eq!(requirements, json!({"enroll": [{"type": "otp"}]}));
    assert_eq!(count(&app, "mfar").await, 1);
    let (status, listed) = mfa_call(&app, "GET", "authenticators", &mfa, None).await;
    assert_eq!((status, listed), (StatusCode::OK, json!([])));

    // Enrol: a secret, Auth0's barcode_uri, and the recovery code.
    let (status, enrolled) = mfa_call(
        &app,
        "POST",
        "associate",
        &mfa,
        Some(json!({"authenticator_types": ["otp"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{enrolled}");
    assert_eq!(enrolled["authenticator_type"], "otp");
    let secret = enrolled["secret"].as_str().unwrap().to_owned();
    let uri = enrolled["barcode_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Sigil:ann@example.com?"),
        "{uri}"
    );
    assert_eq!(uri_param(uri, "secret"), secret);
    for (name, value) in [
        ("issuer", "Sigil"),
        ("algorithm", "SHA1"),
        ("digits", "6"),
        ("period", "30"),
    ] {
        assert_eq!(uri_param(uri, name), value, "{uri}");
    }
    let recovery_code = enrolled["recovery_codes"][0].as_str().unwrap().to_owned();
    assert_eq!(recovery_code.len(), 24);
    let (_, listed) = mfa_call(&app, "GET", "authenticators", &mfa, None).await;
    let active: Vec<(&str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["authenticator_type"].as_str().unwrap(),
                a["active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        active.contains(&("otp", false)) && active.contains(&("recovery-code", true)),
        "{listed}"
    );

    // The first code confirms it and gives the tokens, amr included.
    let code = totp(&secret, app.clock_now());
    let (status, wrong) = mfa_grant(
        &app,
        &client,
        MFA_OTP,
        json!({"mfa_token": mfa, "otp": other_than(&code)}),
    )
    .await;
    assert_eq!(
        (status, &wrong["error"], &wrong["error_description"]),
        (
            StatusCode::FORBIDDEN,
            &json!("invalid_grant"),
            &json!("Invalid otp_code.")
        )
    );
    let (status, tokens) = mfa_grant(
        &app,
        &client,
        MFA_OTP,
        json!({"mfa_token": mfa, "otp": code}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let payload = id_claims(&tokens);
    assert_eq!(payload["amr"], json!(["mfa"]), "{payload}");
    assert_eq!(payload["sub"], app.ann.as_str());
    assert!(tokens.get("recovery_code").is_none());
    assert_eq!(count(&app, "seotpft").await, 1);
    assert_eq!(count(&app, "feotpft").await, 1);

    // Enrolled: the next login is challenged; the same code again is refused (its step is
    // spent), the token cannot enrol again, and the recovery code works once.
    let (mfa, requirements) = mfa_token(&app, &client, json!({})).await;
    assert_eq!(
        requirements,
        json!({"challenge": [{"type": "otp"}, {"type": "recovery-code"}]})
    );
    let (status, challenged) = post_challenge(&app, &client, &mfa, json!({})).await;
    assert_eq!(
        (status, challenged),
        (StatusCode::OK, json!({"challenge_type": "otp"}))
    );
    let (status, _) = post_challenge(&app, &client, &mfa, json!({"challenge_type": "oob"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, replayed) = mfa_grant(
        &app,
        &client,
        MFA_OTP,
        json!({"mfa_token": mfa, "otp": totp(&secret, app.clock_now())}),
    )
    .await;
    assert_eq!(
        (status, &replayed["error_description"]),
        (StatusCode::FORBIDDEN, &json!("Invalid otp_code."))
    );
    let (status, again) = mfa_call(
        &app,
        "POST",
        "associate",
        &mfa,
        Some(json!({"authenticator_types": ["otp"]})),
    )
    .await;
    assert_eq!(
        (status, &again["error_description"]),
        (StatusCode::FORBIDDEN, &json!("User is already enrolled."))
    );
    let (status, tokens) = mfa_grant(
        &app,
        &client,
        MFA_RECOVERY,
        json!({"mfa_token": mfa, "recovery_code": recovery_code}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let next = tokens["recovery_code"].as_str().unwrap();
    assert!(next.len() == 24 && next != recovery_code, "{tokens}");
    let (status, used) = mfa_grant(
        &app,
        &client,
        MFA_RECOVERY,
        json!({"mfa_token": mfa, "recovery_code": recovery_code}),
    )
    .await;
    assert_eq!(
        (status, &used["error"]),
        (StatusCode::FORBIDDEN, &json!("invalid_grant"))
    );
    assert_eq!(count(&app, "sercft").await, 1);

    // The MFA API's own audience: its token needs a second factor too, then removes.
    let (mfa, _) = mfa_token(
        &app,
        &client,
        json!({"audience": app.url("mfa/"), "scope": "read:authenticators remove:authenticators"}),
    )
    .await;
    let (status, refused) =
        mfa_call(&app, "DELETE", "authenticators/totp%7Cdev_x", &mfa, None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an mfa_token cannot remove: {refused}"
    );
    app.clock.advance(30);
    let (status, tokens) = mfa_grant(
        &app,
        &client,
        MFA_OTP,
        json!({"mfa_token": mfa, "otp": totp(&secret, app.clock_now())}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let (status, listed) = mfa_call(&app, "GET", "authenticators", access, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let otp = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["authenticator_type"] == "otp")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("authenticators/{}", otp.replace('|', "%7C"));
    let (status, _) = mfa_call(&app, "DELETE", &path, access, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = mfa_call(&app, "DELETE", &path, access, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// `POST /mfa/challenge` as `client` for `mfa`, with `extra` members.
async fn post_challenge(
    app: &TestApp,
    client: &(String, String),
    mfa: &str,
    extra: Value,
) -> (StatusCode, Value) {
    let body = json!({"client_id": client.0, "client_secret": client.1, "mfa_token": mfa});
    let body = merged(body, &extra);
    let response = app
        .http
        .post(app.url("mfa/challenge"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A refused MFA grant: what, by which client, its fields, and Auth0's status, error and text.
type Refusal<'a> = (
    &'a str,
    &'a (String, String),
    Value,
    StatusCode,
    &'a str,
    &'a str,
);

#[tokio::test]
async fn mfa_tokens_are_refused_as_auth0_refuses_them() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!(["all-applications"])).await;
    let client = backend(&app).await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let methods = format!(
        "/users/{}/authentication-methods",
        crate::browser::urlencode(app.ann.as_str())
    );
    let created = crate::management::call(
        &app,
        "POST",
        &methods,
        Some(&token),
        Some(json!({"type": "totp", "totp_secret": secret})),
    )
    .await;
    assert_eq!(created.0, StatusCode::CREATED);
    let (mfa, _) = mfa_token(&app, &client, json!({})).await;
    let mut tampered = mfa.clone().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    // Another confidential client with the MFA grants.
    let (other_id, other_secret) = crate::app::client(
        &app.store,
        sigil_core::model::AppType::RegularWeb,
        vec![GrantType::MfaOtp],
    )
    .await;
    let other = (other_id.to_string(), other_secret.expose().to_owned());
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    let code = || totp(secret, app.clock_now());
    let cases: Vec<Refusal<'_>> = vec![
        (
            "a tampered token",
            &client,
            json!({"mfa_token": tampered, "otp": code()}),
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Malformed mfa_token",
        ),
        (
            "not a token at all",
            &client,
            json!({"mfa_token": "abc", "otp": code()}),
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Malformed mfa_token",
        ),
        (
            "another client's token",
            &other,
            json!({"mfa_token": mfa, "otp": code()}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "mfa_token not issued to this client",
        ),
        (
            "no token",
            &client,
            json!({"otp": code()}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: mfa_token",
        ),
        (
            "no code",
            &client,
            json!({"mfa_token": mfa}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: otp",
        ),
    ];
    for (what, who, fields, status, error, description) in cases {
        let (got, answer) = mfa_grant(&app, who, MFA_OTP, fields).await;
        assert_eq!(
            (
                got,
                answer["error"].as_str(),
                answer["error_description"].as_str()
            ),
            (status, Some(error), Some(description)),
            "{what}: {answer}"
        );
    }
    // A client without the grant.
    let (status, answer) = mfa_grant(
        &app,
        &(app.web.0.to_string(), app.web.1.expose().to_owned()),
        MFA_OTP,
        json!({"mfa_token": mfa, "otp": code()}),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("unauthorized_client")),
        "{answer}"
    );
    // Ten wrong codes empty the bucket: then even the right one waits.
    for _ in 0..10 {
        let (status, _) = mfa_grant(
            &app,
            &client,
            MFA_OTP,
            json!({"mfa_token": mfa, "otp": other_than(&code())}),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, answer) = mfa_grant(
        &app,
        &client,
        MFA_OTP,
        json!({"mfa_token": mfa, "otp": code()}),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")),
        "{answer}"
    );
    // Ten minutes later the token has expired (and the bucket has refilled one).
    app.clock.advance(601);
    let (status, answer) = mfa_grant(
        &app,
        &client,
        MFA_OTP,
        json!({"mfa_token": mfa, "otp": code()}),
    )
    .await;
    assert_eq!(
        (
            status,
            answer["error"].as_str(),
            answer["error_description"].as_str()
        ),
        (
            StatusCode::FORBIDDEN,
            Some("expired_token"),
            Some("mfa_token is expired")
        ),
        "{answer}"
    );
    let (status, _) = mfa_call(&app, "GET", "authenticators", &mfa, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The policy never: the password grant issues tokens at once.
    turn_on(&app, &token, json!([])).await;
    let (status, answer) = password_grant(&app, &client, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// A password grant's refusal or an MFA grant's: its status, `error` and description.
fn refusal(answer: &(StatusCode, Value)) -> (StatusCode, &str, &str) {
    let (status, body) = answer;
    (
        *status,
        body["error"].as_str().unwrap_or_default(),
        body["error_description"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn an_email_factor_is_challenged_and_enrolled_with_codes_mailed_to_it() {
    let app = TestApp::start().await;
    let token = management(&app).await;
    turn_on(&app, &token, json!(["all-applications"])).await;
    turn_on_email(&app, &token).await;
    let client = backend(&app).await;

    // Ann's address is verified: a factor she is challenged at without enrolling.
    let (mfa, requirements) = mfa_token(&app, &client, json!({})).await;
    assert_eq!(requirements, json!({"challenge": [{"type": "email"}]}));
    let (_, listed) = mfa_call(&app, "GET", "authenticators", &mfa, None).await;
    let factor = &listed[0];
    assert_eq!(
        (
            &factor["authenticator_type"],
            &factor["oob_channel"],
            &factor["name"],
            &factor["active"]
        ),
        (
            &json!("oob"),
            &json!("email"),
            &json!("ann@example.com"),
            &json!(true)
        ),
        "{listed}"
    );
    let (status, challenged) =
        post_challenge(&app, &client, &mfa, json!({"challenge_type": "oob"})).await;
    assert_eq!(status, StatusCode::OK, "{challenged}");
    assert_eq!(
        (&challenged["challenge_type"], &challenged["binding_method"]),
        (&json!("oob"), &json!("prompt"))
    );
    let oob_code = challenged["oob_code"].as_str().unwrap().to_owned();
    let code = code_sent_to(&app, "ann@example.com").await;
    let grant = |fields: Value| mfa_grant(&app, &client, MFA_OOB, fields);
    let cases = [
        (
            "no binding code",
            json!({"mfa_token": mfa, "oob_code": oob_code}),
            (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: binding_code",
            ),
        ),
        (
            "a wrong binding code",
            json!({"mfa_token": mfa, "oob_code": oob_code, "binding_code": other_than(&code)}),
            (
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Invalid binding_code.",
            ),
        ),
        (
            "an unknown oob_code",
            json!({"mfa_token": mfa, "oob_code": "nope", "binding_code": code}),
            (
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "The oob_code has expired or is not valid: ask for a new challenge",
            ),
        ),
    ];
    for (what, fields, want) in cases {
        assert_eq!(refusal(&grant(fields).await), want, "{what}");
    }
    let (status, tokens) =
        grant(json!({"mfa_token": mfa, "oob_code": oob_code, "binding_code": code})).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let payload = id_claims(&tokens);
    assert_eq!(payload["amr"], json!(["mfa"]), "{payload}");
    // Used once.
    let again = grant(json!({"mfa_token": mfa, "oob_code": oob_code, "binding_code": code})).await;
    assert_eq!(refusal(&again).1, "invalid_grant");
    // A code mailed more than five minutes ago no longer works.
    let (_, challenged) = post_challenge(&app, &client, &mfa, json!({})).await;
    let late = challenged["oob_code"].as_str().unwrap().to_owned();
    let code = code_sent_to(&app, "ann@example.com").await;
    app.clock.advance(301);
    let expired = grant(json!({"mfa_token": mfa, "oob_code": late, "binding_code": code})).await;
    assert_eq!(refusal(&expired).1, "invalid_grant", "{expired:?}");
    assert_eq!(count(&app, "gd_send_email").await, 2);
    assert_eq!(count(&app, "seoobft").await, 1);

    // Cy's address is not verified: Cy enrols one with /mfa/associate.
    let (status, cy) = crate::management::call(
        &app,
        "POST",
        "/users",
        Some(&token),
        Some(json!({
            "connection": "Username-Password-Authentication",
            "email": "cy@example.com",
            "password": "Cy's own Passw0rd, long enough",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{cy}");
    let cy_login =
        json!({"username": "cy@example.com", "password": "Cy's own Passw0rd, long enough"});
    let (cy_mfa, requirements) = mfa_token(&app, &client, cy_login.clone()).await;
    assert_eq!(requirements, json!({"enroll": [{"type": "otp"}]}));
    let associate = |body: Value| mfa_call(&app, "POST", "associate", &cy_mfa, Some(body));
    let refused = associate(json!({"authenticator_types": ["oob"], "oob_channels": ["sms"], "phone_number": "+14155550123"})).await;
    assert_eq!(refusal(&refused).1, "invalid_request", "{refused:?}");
    let refused = associate(json!({"authenticator_types": ["oob"], "oob_channels": ["email"], "email": "not an address"})).await;
    assert_eq!(refusal(&refused).1, "invalid_request", "{refused:?}");
    let (status, enrolled) = associate(json!({
        "authenticator_types": ["oob"], "oob_channels": ["email"], "email": "Cy.Backup@example.com"
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{enrolled}");
    assert_eq!(
        (
            &enrolled["authenticator_type"],
            &enrolled["oob_channel"],
            &enrolled["binding_method"]
        ),
        (&json!("oob"), &json!("email"), &json!("prompt"))
    );
    assert_eq!(enrolled["recovery_codes"][0].as_str().unwrap().len(), 24);
    let cy_oob = enrolled["oob_code"].as_str().unwrap().to_owned();
    let (_, listed) = mfa_call(&app, "GET", "authenticators", &cy_mfa, None).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "cy.backup@example.com" && a["active"] == false),
        "{listed}"
    );
    let code = code_sent_to(&app, "cy.backup@example.com").await;
    // Ann's token cannot use Cy's code.
    let (ann_mfa, _) = mfa_token(&app, &client, json!({})).await;
    let crossed =
        grant(json!({"mfa_token": ann_mfa, "oob_code": cy_oob, "binding_code": code})).await;
    assert_eq!(
        refusal(&crossed),
        (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The oob_code doesn't match the mfa_token"
        )
    );
    let (status, tokens) =
        grant(json!({"mfa_token": cy_mfa, "oob_code": cy_oob, "binding_code": code})).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (_, listed) = mfa_call(&app, "GET", "authenticators", &cy_mfa, None).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "cy.backup@example.com" && a["active"] == true),
        "{listed}"
    );
    assert_eq!(count(&app, "gd_enrollment_complete").await, 1);
    // Enrolled now: the next login is challenged at that address.
    let (cy_mfa, requirements) = mfa_token(&app, &client, cy_login).await;
    assert_eq!(
        requirements,
        json!({"challenge": [{"type": "email"}, {"type": "recovery-code"}]})
    );
    // A code mailed before the factor is turned off no longer works.
    let (_, challenged) = post_challenge(&app, &client, &cy_mfa, json!({})).await;
    let oob = challenged["oob_code"].as_str().unwrap().to_owned();
    let code = code_sent_to(&app, "cy.backup@example.com").await;
    let off = Some(json!({"enabled": false}));
    let path = "/guardian/factors/email";
    let (status, _) = crate::management::call(&app, "PUT", path, Some(&token), off).await;
    assert_eq!(status, StatusCode::OK);
    let late = grant(json!({"mfa_token": cy_mfa, "oob_code": oob, "binding_code": code})).await;
    assert_eq!(refusal(&late).1, "association_required", "{late:?}");
}
