//! A post-login Action that sends the user to the tenant's page and resumes at `/continue`
//! (S4 of `notes/actions.md`, verbatim from Auth0's docs, MIT): the session token it signs, the
//! continuation in `state` (answered once), a tampered, expired or wrong-state token, a `state`
//! that is not Sigil's, another browser, the Actions before and after the redirect, the second
//! login that skips it, and `prompt=none`.

use aws_lc_rs::hmac;
use base64_simd::URL_SAFE_NO_PAD as B64;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::UnixTime;

use crate::actions::actions_token;
use crate::app::{PASSWORD, TestApp};
use crate::browser::{
    Browser, Page, authorize_url, callback_params, param, redeem_code, urlencode,
};
use crate::management::{audience, call, token_for};

/// S4 in `notes/actions.md`, verbatim from Auth0's docs (MIT).
const S4: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  // Skip the redirect if the user has already chosen a favorite color.
  if (event.user.user_metadata.favorite_color) {
    return;
  }

  const token = api.redirect.encodeToken({
    secret: event.secrets.MY_SHARED_SECRET,
    payload: {
      email: event.user.email,
    },
  });

  // Send the user to https://my-app.example.com along
  // with a `session_token` query string param.
  api.redirect.sendUserTo("https://my-app.example.com", { 
    query: { session_token: token }
  });
};

exports.onContinuePostLogin = async (event, api) => {
  // Once the /continue endpoint has been called, unpack the signed token
  // and store the favorite color as user metadata.

  const payload = api.redirect.validateToken({
    secret: event.secrets.MY_SHARED_SECRET,
  });

  api.user.setUserMetadata("favorite_color", payload.favorite_color);
};"#;

const SECRET: &str = "a-secret-shared-with-my-app";

/// Deploys `code` as the Action `name` with `secrets`.
async fn deploy(app: &TestApp, token: &str, name: &str, code: &str, secrets: Value) {
    let (status, created) = call(
        app,
        "POST",
        "/actions/actions",
        Some(token),
        Some(json!({
            "name": name,
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": code,
            "secrets": secrets,
            "deploy": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
}

/// HS256 over `claims` with `secret`, as the tenant's page signs its answer.
fn sign(secret: &str, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        B64.encode_to_string(r#"{"alg":"HS256","typ":"JWT"}"#),
        B64.encode_to_string(claims.to_string())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = B64.encode_to_string(hmac::sign(&key, input.as_bytes()));
    format!("{input}.{tag}")
}

/// The URL the "one more step" page (the answer to a form) sends the browser on to.
fn onward(page: &Page) -> String {
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{} {}",
        page.location(),
        page.body
    );
    let marker = "content=\"0;url=";
    let start = page.body.find(marker).expect("a meta refresh") + marker.len();
    page.body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#x3d;", "=")
}

/// The query of a URL on the tenant's page.
fn page_params(url: &str) -> Vec<(String, String)> {
    let (base, query) = url.split_once('?').expect("a query");
    assert_eq!(base, "https://my-app.example.com/", "{url}");
    serde_urlencoded::from_str(query).unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode_to_vec(payload.as_bytes()).unwrap()).unwrap()
}

#[tokio::test]
async fn a_post_login_redirect_pauses_the_login_until_the_user_is_back_at_continue() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let native = app.native.to_string();
    let now = app.clock_now();
    deploy(
        &app,
        &token,
        "before",
        "exports.onExecutePostLogin = async (event, api) => {
            api.idToken.setCustomClaim('https://e.example/before', event.transaction.protocol);
        };",
        json!([]),
    )
    .await;
    deploy(
        &app,
        &token,
        "S4",
        S4,
        json!([{"name": "MY_SHARED_SECRET", "value": SECRET}]),
    )
    .await;
    deploy(
        &app,
        &token,
        "after",
        "exports.onExecutePostLogin = async (event, api) => {
            api.idToken.setCustomClaim('https://e.example/after', (event.request.query.state || event.request.body.state) ? 'back' : 'first');
        };",
        json!([]),
    )
    .await;
    let bindings: Vec<Value> = ["before", "S4", "after"]
        .iter()
        .map(|n| json!({"ref": {"type": "action_name", "value": n}}))
        .collect();
    let (status, bound) = call(
        &app,
        "PATCH",
        "/actions/triggers/post-login/bindings",
        Some(&token),
        Some(json!({"bindings": bindings})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bound}");

    // The login form's answer is a page that moves on to the tenant's page (a redirect to
    // another site after a form would break the form's CSP), with Auth0's session token.
    let mut browser = Browser::new();
    let start = browser.get(&authorize_url(&app, &native, "")).await;
    let form = browser.get(start.location()).await;
    let done = browser
        .submit_login(&app, &form.field("tx"), "ann@example.com", PASSWORD)
        .await;
    let away = onward(&done);
    let params = page_params(&away);
    let state = param(&params, "state").unwrap().to_owned();
    let session_token = param(&params, "session_token").unwrap();
    let sent = claims_of(session_token);
    assert_eq!(
        (
            &sent["sub"],
            &sent["iss"],
            &sent["ip"],
            &sent["email"],
            sent["exp"].as_i64().unwrap() - sent["iat"].as_i64().unwrap(),
            sent["iat"].as_i64().unwrap(),
        ),
        (
            &json!(app.ann.0),
            &json!("127.0.0.1"),
            &json!("127.0.0.1"),
            &json!("ann@example.com"),
            900,
            now
        ),
        "{sent}"
    );
    // The continuation is sealed: nothing the Actions decided is readable on the way.
    assert!(!away.contains("oidc-basic-profile"), "{away}");

    // Back with tokens the Action refuses: the application gets access_denied, nothing else.
    let answer = |claims: Value| sign(SECRET, &claims);
    let good = json!({"sub": app.ann.0, "iss": "127.0.0.1", "state": state, "favorite_color": "green", "exp": now + 60});
    let cases = [
        ("tampered", {
            let mut t = answer(good.clone());
            t.pop();
            t.push('x');
            t
        }),
        ("another secret", sign("not-the-secret", &good)),
        (
            "wrong state",
            answer(with(&good, json!({"state": "forged"}))),
        ),
        ("expired", answer(with(&good, json!({"exp": now - 1})))),
        (
            "another user",
            answer(with(&good, json!({"sub": "auth0|someone"}))),
        ),
    ];
    for (what, session_token) in cases {
        let back = browser
            .get(&app.url(&format!(
                "continue?state={}&session_token={}",
                urlencode(&state),
                urlencode(&session_token)
            )))
            .await;
        let params = callback_params(back.location());
        assert_eq!(
            param(&params, "error"),
            Some("access_denied"),
            "{what}: {params:?}"
        );
        assert_eq!(param(&params, "state"), Some("xyz"), "{what}");
        assert!(param(&params, "code").is_none(), "{what}");
        let text = param(&params, "error_description").unwrap();
        assert!(
            !text.contains("session token"),
            "{what}: the Action's error leaked: {text}"
        );
    }

    // A state that is not Sigil's, or another browser: a page, never the application.
    let forged = browser
        .get(&app.url("continue?state=not-a-continuation&session_token=x"))
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
    let form = [("state", state.as_str()), ("session_token", "x")];
    let mut stranger = Browser::new();
    // A POST from the tenant's site comes without the Lax cookie: posted again from Sigil's own
    // page once, and refused when the cookie is still missing.
    let again = stranger.post_form(&app.url("continue"), &form).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.field("sigil_reposted"), "1");
    assert_eq!(again.field("state"), state);
    let refused = stranger
        .post_form(
            &app.url("continue"),
            &[form[0], form[1], ("sigil_reposted", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The right token, posted by the tenant's page: the login goes on and the code carries what
    // the Actions decided before the redirect and after it.
    let good_token = answer(good.clone());
    let back = browser
        .post_form(
            &app.url("continue"),
            &[("state", &state), ("session_token", &good_token)],
        )
        .await;
    let params = callback_params(back.location());
    assert_eq!(param(&params, "state"), Some("xyz"));
    let code = param(&params, "code").expect("a code").to_owned();
    let tokens = redeem_code(&app, &native, code).await;
    let id = app
        .verifier(&native)
        .await
        .verify::<Value>(
            tokens["id_token"].as_str().unwrap(),
            UnixTime(app.clock_now()),
        )
        .unwrap()
        .claims;
    assert_eq!(
        (
            &id["https://e.example/before"],
            &id["https://e.example/after"]
        ),
        (&json!("oidc-basic-profile"), &json!("back")),
        "{id}"
    );
    let user = sigil_core::Store::user(&app.store, &app.ann)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.user_metadata["favorite_color"], "green");

    // The same state again (a resent form, a second tab): no second code.
    let replay = browser
        .post_form(
            &app.url("continue"),
            &[("state", &state), ("session_token", &good_token)],
        )
        .await;
    let params = callback_params(replay.location());
    assert_eq!(param(&params, "error"), Some("access_denied"), "{params:?}");
    assert!(param(&params, "code").is_none());

    // The next login skips the redirect: a code at once.
    let sso = browser.get(&authorize_url(&app, &native, "")).await;
    assert!(param(&callback_params(sso.location()), "code").is_some());

    // Without a colour again, prompt=none cannot send the user anywhere.
    let mut forget = sigil_core::model::JsonObject::new();
    forget.insert("favorite_color".to_owned(), Value::Null);
    sigil_core::Store::merge_user_metadata(
        &app.store,
        &app.ann,
        &Default::default(),
        &forget,
        UnixTime(now),
    )
    .await
    .unwrap();
    let silent = browser
        .get(&authorize_url(&app, &native, "&prompt=none"))
        .await;
    let params = callback_params(silent.location());
    assert_eq!(
        param(&params, "error"),
        Some("interaction_required"),
        "{params:?}"
    );
    assert_eq!(param(&params, "state"), Some("xyz"));
    // The tenant's log says why: a failed silent authentication, not a success.
    let refused = crate::events::newest(&app, "fsa").await.event;
    assert_eq!(refused.user_id.as_ref(), Some(&app.ann));
    assert!(
        refused
            .description
            .as_deref()
            .is_some_and(|d| d.contains("prompt=none")),
        "{refused:?}"
    );

    // An SSO login (a navigation) is sent to the tenant's page with a redirect; its state
    // ends with the continuation's window.
    let sso = browser.get(&authorize_url(&app, &native, "")).await;
    assert_eq!(sso.status, StatusCode::FOUND);
    let params = page_params(sso.location());
    let state = param(&params, "state").unwrap().to_owned();
    app.clock.advance(3601);
    let late = browser
        .get(&app.url(&format!("continue?state={}", urlencode(&state))))
        .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);

    // The application deleted while its user was away: a page says so, the browser is not sent
    // to the address of an application that no longer exists.
    let sso = browser.get(&authorize_url(&app, &native, "")).await;
    let params = page_params(sso.location());
    let state = param(&params, "state").unwrap().to_owned();
    let admin = token_for(&app, &audience(&app), &["delete:clients"]).await;
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("/clients/{native}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let orphan = browser
        .get(&app.url(&format!(
            "continue?state={}&session_token={}",
            urlencode(&state),
            urlencode(&answer(with(
                &good,
                json!({"state": state, "exp": app.clock_now() + 60})
            )))
        )))
        .await;
    assert_eq!(orphan.status, StatusCode::BAD_REQUEST, "{}", orphan.body);
    assert_eq!(orphan.location(), "");
    assert!(orphan.body.contains("no longer exists"), "{}", orphan.body);
}

/// `base` with `overrides`' keys set.
fn with(base: &Value, overrides: Value) -> Value {
    let mut merged = base.clone();
    for (name, value) in overrides.as_object().unwrap() {
        merged[name] = value.clone();
    }
    merged
}

/// A password login of Ann's that an Action sends to the tenant's page and that comes straight
/// back to `/continue`: the tokens of its code.
async fn through_the_page(app: &TestApp, native: &str, browser: &mut Browser) -> Value {
    let start = browser.get(&authorize_url(app, native, "")).await;
    let form = browser.get(start.location()).await;
    let done = browser
        .submit_login(app, &form.field("tx"), "ann@example.com", PASSWORD)
        .await;
    let params = page_params(&onward(&done));
    let state = param(&params, "state").unwrap().to_owned();
    let back = browser
        .get(&app.url(&format!("continue?state={}", urlencode(&state))))
        .await;
    let code = param(&callback_params(back.location()), "code")
        .expect("a code")
        .to_owned();
    redeem_code(app, native, code).await
}

/// `api.authentication.recordMethod` in `onContinuePostLogin` (only there): the session
/// remembers the method, so its later logins see it in `event.authentication.methods` and are
/// not sent away again; a new session starts without it.
#[tokio::test]
async fn a_method_recorded_after_a_redirect_is_remembered_by_the_session() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let native = app.native.to_string();
    const MFA: &str = "https://mfa.example.com";
    let code = format!(
        "exports.onExecutePostLogin = async (event, api) => {{
            const names = event.authentication.methods.map((m) => m.name);
            api.idToken.setCustomClaim('https://e.example/methods', names);
            if (names.includes('{MFA}')) return;
            try {{ api.authentication.recordMethod('{MFA}'); }}
            catch (e) {{ api.idToken.setCustomClaim('https://e.example/early', e.message); }}
            api.redirect.sendUserTo('https://my-app.example.com');
        }};
        exports.onContinuePostLogin = async (event, api) => {{
            api.authentication.recordMethod('{MFA}');
        }};"
    );
    deploy(&app, &token, "custom method", &code, json!([])).await;
    let (status, bound) = call(
        &app,
        "PATCH",
        "/actions/triggers/post-login/bindings",
        Some(&token),
        Some(json!({"bindings": [{"ref": {"type": "action_name", "value": "custom method"}}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    let id_claims = |tokens: &Value| claims_of(tokens["id_token"].as_str().unwrap());

    let mut browser = Browser::new();
    let first = id_claims(&through_the_page(&app, &native, &mut browser).await);
    assert_eq!(
        (
            &first["https://e.example/methods"],
            &first["https://e.example/early"]
        ),
        (
            &json!(["pwd"]),
            &json!("api.authentication.recordMethod can only be called in onContinuePostLogin")
        ),
        "{first}"
    );

    // The session's next login: the method is there, with the password, and nobody is sent away.
    let sso = browser.get(&authorize_url(&app, &native, "")).await;
    let code = param(&callback_params(sso.location()), "code")
        .expect("a code at once")
        .to_owned();
    let again = id_claims(&redeem_code(&app, &native, code).await);
    assert_eq!(
        again["https://e.example/methods"],
        json!(["pwd", MFA]),
        "{again}"
    );

    // Another browser is another session: sent away again.
    let other = id_claims(&through_the_page(&app, &native, &mut Browser::new()).await);
    assert_eq!(
        other["https://e.example/methods"],
        json!(["pwd"]),
        "{other}"
    );
}
