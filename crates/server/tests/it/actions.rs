//! Actions in the flows, deployed and bound through the Management API and run on real
//! requests: `credentials-exchange` in `client_credentials` (custom claims verified with the
//! JWKS, Auth0's claim rules, a deny, a failure that tells the client nothing of the tenant's
//! error, and nothing once unbound).

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::UnixTime;

use crate::app::{API, Body, TestApp, post};
use crate::management::{audience, call, token_for};

/// S6 in `notes/actions.md`, verbatim from Auth0's docs (MIT).
const S6: &str = r#"exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim("https://my-api.exampleco.com/request-ip", event.request.ip);
};"#;

/// A Management API token for deploying and binding Actions, got before any is bound (a
/// credentials-exchange Action runs for the Management API's tokens too).
pub(crate) async fn actions_token(app: &TestApp) -> String {
    token_for(
        app,
        &audience(app),
        &["create:actions", "update:actions", "read:actions"],
    )
    .await
}

/// Deploys `code` as an Action for `trigger` and makes it the trigger's only binding.
pub(crate) async fn bind_only(app: &TestApp, token: &str, trigger: &str, name: &str, code: &str) {
    let secrets = json!([{"name": "TIER", "value": "gold"}]);
    bind_only_with(app, token, trigger, name, code, secrets).await;
}

/// As [`bind_only`], with the Action's `secrets` (Auth0's `[{name, value}]`).
async fn bind_only_with(
    app: &TestApp,
    token: &str,
    trigger: &str,
    name: &str,
    code: &str,
    secrets: Value,
) {
    let t = Some(token);
    let (status, created) = call(
        app,
        "POST",
        "/actions/actions",
        t,
        Some(json!({
            "name": name,
            "supported_triggers": [{"id": trigger, "version": "v2"}],
            "code": code,
            "secrets": secrets,
            "deploy": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, bound) = call(
        app,
        "PATCH",
        &format!("/actions/triggers/{trigger}/bindings"),
        t,
        Some(json!({"bindings": [{"ref": {"type": "action_name", "value": name}}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
}

async fn machine_token(app: &TestApp) -> (StatusCode, Value) {
    crate::app::machine_token(app, API).await
}

/// The claims of the ID token in `body` (a token response), verified with the JWKS.
async fn id_claims(app: &TestApp, body: &Value) -> Value {
    app.verifier(app.native.as_str())
        .await
        .verify::<Value>(
            body["id_token"].as_str().unwrap(),
            UnixTime(app.clock_now()),
        )
        .unwrap()
        .claims
}

async fn claims(app: &TestApp, body: &Value) -> Value {
    app.verifier(API)
        .await
        .verify::<Value>(
            body["access_token"].as_str().unwrap(),
            UnixTime(app.clock_now()),
        )
        .unwrap()
        .claims
}

#[tokio::test]
async fn credentials_exchange_actions_shape_machine_tokens() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        claims(&app, &body)
            .await
            .get("https://my-api.exampleco.com/request-ip")
            .is_none(),
        "nothing bound, nothing added"
    );

    bind_only(&app, &token, "credentials-exchange", "S6", S6).await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = claims(&app, &body).await;
    assert_eq!(
        got["https://my-api.exampleco.com/request-ip"], "127.0.0.1",
        "{got}"
    );

    // Auth0's rules: a plain claim and a secret are fine; registered and restricted names and
    // Auth0's namespaces are dropped without failing.
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "rules",
        r#"exports.onExecuteCredentialsExchange = async (event, api) => {
            api.accessToken.setCustomClaim("tier", event.secrets.TIER);
            api.accessToken.setCustomClaim("sub", "someone-else");
            api.accessToken.setCustomClaim("permissions", ["everything"]);
            api.accessToken.setCustomClaim("https://tenant.auth0.com/x", 1);
        };"#,
    )
    .await;
    let (_, body) = machine_token(&app).await;
    let got = claims(&app, &body).await;
    assert_eq!(got["tier"], "gold", "{got}");
    assert_eq!(got["sub"], format!("{}@clients", app.machine.0), "{got}");
    assert!(got.get("permissions").is_none(), "{got}");
    assert!(got.get("https://tenant.auth0.com/x").is_none(), "{got}");

    // A deny answers with its code and reason.
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "deny",
        r#"exports.onExecuteCredentialsExchange = async (event, api) => {
            api.access.deny("invalid_request", "Machines rest on Sundays.");
        };"#,
    )
    .await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "Machines rest on Sundays.");

    // A failure tells the client nothing of the tenant's error.
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "throws",
        r#"exports.onExecuteCredentialsExchange = async (event) => {
            throw new Error("secret detail " + event.secrets.TIER);
        };"#,
    )
    .await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert!(!body.to_string().contains("secret detail"), "{body}");
    // The tenant's log has it, with Auth0's details.
    let failed = crate::events::newest(&app, "actions_execution_failed").await;
    let details = &failed.event.details;
    assert_eq!(details["trigger_id"], "credentials-exchange", "{details:?}");
    assert_eq!(details["action_name"], "throws");
    assert_eq!(details["error_class"], "action_error");
    // The Action's secret, thrown in its error, is never logged.
    assert_eq!(
        details["action_error"]["message"],
        "Error: secret detail [secret]"
    );
    let metrics = app
        .http
        .get(app.url("metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "sigil_actions_executions_total{trigger=\"credentials-exchange\",result=\"failed\"} 1",
        "sigil_actions_executions_total{trigger=\"credentials-exchange\",result=\"denied\"} 1",
        "sigil_actions_executions_total{trigger=\"credentials-exchange\",result=\"ok\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }

    // Unbound: tokens as before.
    call(
        &app,
        "PATCH",
        "/actions/triggers/credentials-exchange/bindings",
        Some(&token),
        Some(json!({"bindings": []})),
    )
    .await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(claims(&app, &body).await.get("tier").is_none());
}

/// S1 in `notes/actions.md`, verbatim from Auth0's docs (MIT).
const S1: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
    api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
  }
};"#;

/// S2 in `notes/actions.md`, verbatim from Auth0's docs (MIT), for the test app's name.
const S2: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  if (event.user.email && event.user.email.endsWith("@example.com") && event.client.name === "My SPA") {
    api.access.deny(`Access to ${event.client.name} is not allowed.`);
  }
};"#;

async fn password_login(app: &TestApp) -> (StatusCode, Value) {
    let (status, _, body) = post(
        app,
        crate::password::login(
            app,
            json!({"audience": API, "scope": "openid profile read:a"}),
        ),
        None,
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn post_login_actions_shape_the_password_grants_tokens_or_refuse_it() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let roles: Vec<String> = sigil_core::Store::user_roles(&app.store, &app.ann)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(!roles.is_empty(), "the test user has roles");

    bind_only(&app, &token, "post-login", "S1", S1).await;
    let (status, body) = password_login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = claims(&app, &body).await;
    assert_eq!(
        access["https://my-app.example.com/roles"],
        json!(roles),
        "{access}"
    );
    let id = id_claims(&app, &body).await;
    assert_eq!(id["https://my-app.example.com/roles"], json!(roles), "{id}");
    // /userinfo answers the custom claims too: with an API's JWT, those it carries; with an
    // opaque token (no API named), the ID token's, which it carries sealed.
    let jwt = body["access_token"].as_str().unwrap();
    let (status, _, profile) = crate::password::userinfo(&app, jwt).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(
        profile["https://my-app.example.com/roles"],
        json!(roles),
        "{profile}"
    );
    assert!(
        profile.get("scope").is_none() && profile.get("aud").is_none(),
        "{profile}"
    );
    let (status, _, body) = post(
        &app,
        crate::password::login(&app, json!({"scope": "openid profile"})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let opaque = body["access_token"].as_str().unwrap();
    assert_eq!(opaque.split('.').count(), 5, "an opaque token: {opaque}");
    let (status, _, profile) = crate::password::userinfo(&app, opaque).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(
        profile["https://my-app.example.com/roles"],
        json!(roles),
        "{profile}"
    );

    // event.request: the caller's address, user agent and first language.
    bind_only(
        &app,
        &token,
        "post-login",
        "request",
        "exports.onExecutePostLogin = async (event, api) => {
            api.idToken.setCustomClaim('request', {
                ip: event.request.ip,
                user_agent: event.request.user_agent,
                language: event.request.language,
                hostname: event.request.hostname,
            });
            api.idToken.setCustomClaim('logins_count', event.stats.logins_count);
            api.idToken.setCustomClaim('tenant', event.tenant.id);
        };",
    )
    .await;
    let crate::app::Body::Json(login) = crate::password::login(&app, json!({"scope": "openid"}))
    else {
        unreachable!()
    };
    let response = app
        .http
        .post(app.url("oauth/token"))
        .header("user-agent", "Sigil-tests/1.0 (actions)")
        .header("accept-language", "fr-CH, fr;q=0.9, en;q=0.8")
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let request = &id_claims(&app, &body).await["request"];
    assert_eq!(request["ip"], "127.0.0.1", "{request}");
    assert_eq!(
        request["user_agent"], "Sigil-tests/1.0 (actions)",
        "{request}"
    );
    assert_eq!(request["language"], "fr", "{request}");
    assert!(request["hostname"].is_string(), "{request}");
    // Ann's logins so far, this one included (it is recorded before post-login runs, as at
    // Auth0), and the tenant.
    let id = id_claims(&app, &body).await;
    let logged_in = sigil_core::Store::user(&app.store, &app.ann)
        .await
        .unwrap()
        .unwrap()
        .logins_count;
    assert_eq!(id["logins_count"], json!(logged_in), "{id}");
    assert!(logged_in >= 3, "{logged_in}");
    assert!(id["tenant"].is_string(), "{id}");

    // S2 denies this application's users at example.com (the app is renamed to match).
    let rename = token_for(&app, &audience(&app), &["update:clients"]).await;
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/clients/{}", app.native.as_str()),
        Some(&rename),
        Some(json!({"name": "My SPA"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    bind_only(&app, &token, "post-login", "S2", S2).await;
    let (status, body) = password_login(&app).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert_eq!(
        body["error_description"],
        "Access to My SPA is not allowed."
    );

    // An Action that sets a scope and drops another changes the access token's scope only.
    bind_only(
        &app,
        &token,
        "post-login",
        "scopes",
        "exports.onExecutePostLogin = async (event, api) => {
            api.accessToken.addScope('extra:scope');
            api.accessToken.removeScope('read:a');
        };",
    )
    .await;
    let (status, body) = password_login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = claims(&app, &body).await;
    let scope = access["scope"].as_str().unwrap();
    assert!(
        scope.contains("extra:scope") && !scope.contains("read:a"),
        "{scope}"
    );
}

#[tokio::test]
async fn post_login_runs_before_the_code_is_issued_and_again_at_refresh() {
    use crate::browser::{Browser, authorize_url, callback_params, param, redeem_code};
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let native = app.native.to_string();
    bind_only(&app, &token, "post-login", "S1", S1).await;
    let roles: Vec<String> = sigil_core::Store::user_roles(&app.store, &app.ann)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();

    // The code flow with an audience: what post-login decided comes back with the code.
    let mut browser = Browser::new();
    let audience = format!("&audience={}", crate::browser::urlencode(API));
    let start = browser.get(&authorize_url(&app, &native, &audience)).await;
    let form = browser.get(start.location()).await;
    let done = browser
        .submit_login(
            &app,
            &form.field("tx"),
            "ann@example.com",
            crate::app::PASSWORD,
        )
        .await;
    let code = param(&callback_params(done.location()), "code")
        .unwrap()
        .to_owned();
    let tokens = redeem_code(&app, &native, code).await;
    assert_eq!(
        claims(&app, &tokens).await["https://my-app.example.com/roles"],
        json!(roles)
    );
    // The execution at /authorize travelled with the code to the exchange's event.
    let exchanged = crate::events::newest(&app, "seacft").await;
    let executions = &exchanged.event.details["actions"]["executions"];
    assert_eq!(executions.as_array().map(Vec::len), Some(1), "{executions}");
    // The login's own event, written when /authorize answered, names the same execution.
    let login = crate::events::newest(&app, "s").await;
    assert_eq!(
        &login.event.details["actions"]["executions"], executions,
        "{login:?}"
    );
    let id = app
        .verifier(&native)
        .await
        .verify::<Value>(
            tokens["id_token"].as_str().unwrap(),
            UnixTime(app.clock_now()),
        )
        .unwrap()
        .claims;
    assert_eq!(id["https://my-app.example.com/roles"], json!(roles), "{id}");

    // SSO reuse runs it too, with the request's address and the code flow's protocol.
    bind_only(
        &app,
        &token,
        "post-login",
        "request",
        "exports.onExecutePostLogin = async (event, api) => {
            api.idToken.setCustomClaim('ip', event.request.ip);
            api.idToken.setCustomClaim('protocol', event.transaction.protocol);
        };",
    )
    .await;
    let again = browser.get(&authorize_url(&app, &native, "")).await;
    let code = param(&callback_params(again.location()), "code")
        .unwrap()
        .to_owned();
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
        (id["ip"].as_str(), id["protocol"].as_str()),
        (Some("127.0.0.1"), Some("oidc-basic-profile")),
        "{id}"
    );

    // A refresh runs post-login again (here: a new claim, from the Action now bound).
    let (status, _, login) = post(
        &app,
        crate::password::login(
            &app,
            json!({"audience": crate::app::RBAC_API, "scope": "openid offline_access"}),
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let mut refresh_token = login["refresh_token"].as_str().unwrap().to_owned();
    bind_only(
        &app,
        &token,
        "post-login",
        "at refresh",
        "exports.onExecutePostLogin = async (event, api) => {
            api.idToken.setCustomClaim('protocol', event.transaction.protocol);
            api.idToken.setCustomClaim('ip', event.request.ip);
            api.idToken.setCustomClaim('methods', event.authentication.methods.map((m) => m.name));
        };",
    )
    .await;
    let id = refresh(&app, &mut refresh_token).await;
    assert_eq!(
        (&id["protocol"], &id["ip"], &id["methods"]),
        (
            &json!("oauth2-refresh-token"),
            &json!("127.0.0.1"),
            &json!(["pwd"])
        ),
        "{id}"
    );

    // S1 at refresh: the roles again.
    bind_only(&app, &token, "post-login", "S1 at refresh", S1).await;
    let id = refresh(&app, &mut refresh_token).await;
    assert_eq!(id["https://my-app.example.com/roles"], json!(roles), "{id}");

    // S2 through the code flow: this application, renamed "My SPA", is refused to example.com.
    let rename = token_for(
        &app,
        &crate::management::audience(&app),
        &["update:clients"],
    )
    .await;
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/clients/{native}"),
        Some(&rename),
        Some(json!({"name": "My SPA"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    bind_only(&app, &token, "post-login", "S2", S2).await;
    let start = browser.get(&authorize_url(&app, &native, "")).await;
    let params = callback_params(start.location());
    assert_eq!(param(&params, "error"), Some("access_denied"), "{params:?}");
    assert_eq!(
        param(&params, "error_description"),
        Some("Access to My SPA is not allowed.")
    );

    // A deny at /authorize sends the application access_denied, and no code.
    bind_only(
        &app,
        &token,
        "post-login",
        "deny all",
        "exports.onExecutePostLogin = async (event, api) => { api.access.deny('Not today.'); };",
    )
    .await;
    let start = browser.get(&authorize_url(&app, &native, "")).await;
    let params = callback_params(start.location());
    assert_eq!(param(&params, "error"), Some("access_denied"), "{params:?}");
    assert_eq!(param(&params, "error_description"), Some("Not today."));
    assert_eq!(param(&params, "code"), None);
    // The tenant's log: a failed login with the Action's reason, as at Auth0.
    let failed = crate::events::newest(&app, "f").await.event;
    assert_eq!(
        (failed.user_id.as_ref(), failed.description.as_deref()),
        (Some(&app.ann), Some("Not today.")),
        "{failed:?}"
    );
    // And at refresh: refused, the token still usable once the Action is gone.
    let (status, _, refused) = post(
        &app,
        Body::Form(vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", native.clone()),
            ("refresh_token", refresh_token),
        ]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error_description"], "Not today.");
}

/// Refreshes the native application's `refresh_token` (moving it on to the token it rotated
/// to) and answers the new ID token's claims.
async fn refresh(app: &TestApp, refresh_token: &mut String) -> Value {
    let (status, _, refreshed) = post(
        app,
        Body::Form(vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", app.native.to_string()),
            ("refresh_token", refresh_token.clone()),
        ]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    if let Some(rotated) = refreshed["refresh_token"].as_str() {
        *refresh_token = rotated.to_owned();
    }
    id_claims(app, &refreshed).await
}

/// S3 in `notes/actions.md`, verbatim from Auth0's docs (MIT).
const S3: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  api.user.setUserMetadata("favorite_color", "blue");
};"#;

#[tokio::test]
async fn post_login_metadata_is_written_once_even_before_a_deny() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    bind_only(&app, &token, "post-login", "S3", S3).await;
    let (status, body) = password_login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reader = token_for(&app, &audience(&app), &["read:users"]).await;
    let user_path = format!("/users/{}", app.ann.as_str().replace('|', "%7C"));
    let (_, user) = call(&app, "GET", &user_path, Some(&reader), None).await;
    assert_eq!(user["user_metadata"]["favorite_color"], "blue", "{user}");

    bind_only(
        &app,
        &token,
        "post-login",
        "write then deny",
        r#"exports.onExecutePostLogin = async (event, api) => {
            api.user.setAppMetadata("denied_once", true);
            api.user.setUserMetadata("favorite_color", null);
            api.access.deny("No.");
        };"#,
    )
    .await;
    let (status, _) = password_login(&app).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, user) = call(&app, "GET", &user_path, Some(&reader), None).await;
    assert_eq!(user["app_metadata"]["denied_once"], true, "{user}");
    assert!(
        user["user_metadata"].get("favorite_color").is_none(),
        "{user}"
    );

    // An Action that would grow the metadata past its limit (a little more each login) fails
    // the login that would overflow it, writing nothing of that run.
    bind_only(
        &app,
        &token,
        "post-login",
        "hoarder",
        r#"exports.onExecutePostLogin = async (event, api) => {
            const n = Object.keys(event.user.user_metadata).length;
            api.user.setUserMetadata("k" + n, "x".repeat(12000));
        };"#,
    )
    .await;
    for expected in [StatusCode::OK, StatusCode::OK, StatusCode::FORBIDDEN] {
        let (status, body) = password_login(&app).await;
        assert_eq!(status, expected, "{body}");
        if status == StatusCode::FORBIDDEN {
            assert_eq!(body["error"], "access_denied", "{body}");
            assert!(
                body["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("at most 32768 bytes"),
                "{body}"
            );
        }
    }
    let (_, user) = call(&app, "GET", &user_path, Some(&reader), None).await;
    assert_eq!(
        user["user_metadata"].as_object().unwrap().len(),
        2,
        "{user}"
    );
}

/// S7 in `notes/actions.md`, verbatim from Auth0's docs (MIT): without a GeoIP database
/// `event.request.geoip` is `{}`, so it lets everyone through, without a TypeError.
const S7: &str = r#"exports.onExecutePreUserRegistration = async (event, api) => {
  if (event.request.geoip.continentCode === "NA") {

    // localize the error message 
    const LOCALIZED_MESSAGES = {
      en: 'You are not allowed to register.',
      es: 'No tienes permitido registrarte.'
    };

    const userMessage = LOCALIZED_MESSAGES[event.request.language] || LOCALIZED_MESSAGES['en'];
    api.access.deny('no_signups_from_north_america', userMessage);
  }
};"#;

async fn api_signup(app: &TestApp, email: &str, language: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url("dbconnections/signup"))
        .header("accept-language", language)
        .json(&json!({
            "client_id": app.native.as_str(),
            "connection": "Username-Password-Authentication",
            "email": email,
            "password": "Sup3r-Secret-Passw0rd",
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn pre_user_registration_actions_refuse_signups_or_add_metadata() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    bind_only(&app, &token, "pre-user-registration", "S7", S7).await;
    let (status, body) = api_signup(&app, "first@example.com", "es").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    bind_only(
        &app,
        &token,
        "pre-user-registration",
        "by language",
        r#"exports.onExecutePreUserRegistration = async (event, api) => {
            if (event.request.language === "es") {
                api.access.deny("no_es", "No tienes permitido registrarte.");
            }
            api.user.setAppMetadata("signed_up_from", event.request.ip);
        };"#,
    )
    .await;
    let (status, body) = api_signup(&app, "second@example.com", "es-ES;q=0.9, fr;q=0.5").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_signup", "{body}");
    assert_eq!(
        body["error_description"],
        "No tienes permitido registrarte."
    );
    let (status, body) = api_signup(&app, "third@example.com", "en").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = sigil_core::ids::UserId(format!("auth0|{}", body["_id"].as_str().unwrap()));
    let user = sigil_core::Store::user(&app.store, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.app_metadata["signed_up_from"], "127.0.0.1");
}

/// With the operator's GeoIP database (`sigil serve --geoip-db`; the test one places loopback
/// in Mountain View), `event.request.geoip` is Auth0's: S7 refuses a signup from North America
/// in the caller's language, the log keeps the deny's reason, and post-login sees the place.
#[tokio::test]
async fn with_a_geoip_database_actions_see_where_the_caller_is() {
    let app = TestApp::start().await;
    let database =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip-test.mmdb");
    app.server
        .set_geoip(sigil_server::GeoIp::open(&database).unwrap());
    let token = actions_token(&app).await;
    bind_only(&app, &token, "pre-user-registration", "S7", S7).await;
    let (status, body) = api_signup(&app, "nat@example.com", "es").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        (&body["error"], &body["error_description"]),
        (
            &json!("invalid_signup"),
            &json!("No tienes permitido registrarte.")
        ),
        "{body}"
    );
    let failed = crate::events::newest(&app, "fs").await.event;
    assert_eq!(
        failed.description.as_deref(),
        Some("no_signups_from_north_america"),
        "{failed:?}"
    );
    let (status, body) = api_signup(&app, "nat@example.com", "de").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error_description"],
        "You are not allowed to register."
    );

    bind_only(
        &app,
        &token,
        "post-login",
        "where",
        "exports.onExecutePostLogin = async (event, api) => {
            api.idToken.setCustomClaim('geoip', event.request.geoip);
        };",
    )
    .await;
    let (status, body) = password_login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        id_claims(&app, &body).await["geoip"],
        json!({
            "cityName": "Mountain View",
            "continentCode": "NA",
            "countryCode": "US",
            "countryCode3": "USA",
            "countryName": "United States",
            "latitude": 37.386,
            "longitude": -122.0838,
            "subdivisionCode": "CA",
            "subdivisionName": "California",
            "timeZone": "America/Los_Angeles",
        })
    );

    // A file that is not a MaxMind DB is refused in one line.
    let refused = sigil_server::GeoIp::open(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.toml")
            .as_path(),
    )
    .unwrap_err();
    assert!(
        refused.starts_with("cannot read the GeoIP database"),
        "{refused}"
    );
}

/// A hostile post-login Action (an endless loop) holds one engine thread for its slice: the
/// login it runs for fails with the fixed text, while the token endpoint keeps answering other
/// clients meanwhile.
#[tokio::test]
async fn a_hostile_action_fails_its_login_and_stalls_nobody_else() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    bind_only(
        &app,
        &token,
        "post-login",
        "spins",
        "exports.onExecutePostLogin = async () => { for (;;) {} };",
    )
    .await;
    let hostile = {
        let http = app.http.clone();
        let url = app.url("oauth/token");
        let body = match crate::password::login(&app, json!({"audience": API})) {
            Body::Json(body) => body,
            _ => unreachable!("login() builds a JSON body"),
        };
        tokio::spawn(async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        })
    };
    for i in 0..10 {
        let (status, body) = machine_token(&app).await;
        assert_eq!(status, StatusCode::OK, "machine {i}: {body}");
        assert!(
            !hostile.is_finished(),
            "the hostile login ended before machine {i}"
        );
    }
    let (status, body) = hostile.await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert_eq!(body["error_description"], sigil_core::actions::FAILED);
    let failed = crate::events::newest(&app, "actions_execution_failed").await;
    assert_eq!(failed.event.details["error_class"], "action_timeout");
}

/// Admission control over HTTP: with every engine thread busy and the queue full, an exchange
/// that needs an Action is answered 503 `temporarily_unavailable` at once, not queued without
/// end; a login whose trigger has nothing bound goes on meanwhile.
#[tokio::test]
async fn a_full_actions_queue_answers_503_at_once_and_other_flows_go_on() {
    let app = TestApp::start_with_actions(sigil_server::ActionLimits {
        workers: 1,
        queue: 1,
        slice: std::time::Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let token = actions_token(&app).await;
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "spins",
        "exports.onExecuteCredentialsExchange = async () => { for (;;) {} };",
    )
    .await;
    let exchanges: Vec<_> = (0..4)
        .map(|_| {
            let http = app.http.clone();
            let url = app.url("oauth/token");
            let body = json!({
                "grant_type": "client_credentials",
                "client_id": app.machine.0.as_str(),
                "client_secret": app.machine.1.expose(),
                "audience": API,
            });
            tokio::spawn(async move {
                let response = http.post(url).json(&body).send().await.unwrap();
                let status = response.status();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    // No post-login is bound: the password grant does not wait for the engine.
    let (status, body) = password_login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut answers = Vec::new();
    for exchange in exchanges {
        answers.push(exchange.await.unwrap());
    }
    let busy = answers
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::SERVICE_UNAVAILABLE && body["error"] == "temporarily_unavailable"
        })
        .count();
    let failed = answers
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::FORBIDDEN && body["error"] == "access_denied"
        })
        .count();
    assert!(busy >= 1 && busy + failed == 4, "{answers:?}");
    let counted = crate::metrics::samples(&crate::metrics::scrape(&app).await);
    let series = "sigil_actions_executions_total{trigger=\"credentials-exchange\",result=\"busy\"}";
    assert_eq!(counted.get(series), Some(&(busy as f64)), "{series}");
}

/// An Action's `fetch` in a flow: refused until the tenant lists the host (the operator's
/// flag opened it and loopback for this test), then the answer goes into the token; the
/// setting is checked when set.
#[tokio::test]
async fn fetch_in_an_action_reaches_what_the_operator_and_the_tenant_allow() {
    let roles = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = roles.local_addr().unwrap().port();
    let router = axum::Router::new().route(
        "/roles",
        axum::routing::get(|| async { axum::Json(json!({"roles": ["auditor"]})) }),
    );
    tokio::spawn(async move { axum::serve(roles, router).await });
    let app = TestApp::start_with_actions(sigil_server::ActionLimits {
        egress: std::sync::Arc::new("http://127.0.0.1,127.0.0.0/8".parse().unwrap()),
        ..Default::default()
    })
    .await;
    let token = actions_token(&app).await;
    let settings = token_for(&app, &audience(&app), &["update:tenant_settings"]).await;
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "roles",
        &format!(
            r#"exports.onExecuteCredentialsExchange = async (event, api) => {{
  let roles;
  try {{
    const response = await fetch('http://127.0.0.1:{port}/roles', {{ signal: AbortSignal.timeout(2000) }});
    roles = (await response.json()).roles;
  }} catch (e) {{
    roles = e.message;
  }}
  api.accessToken.setCustomClaim('https://example.com/roles', roles);
}};"#
        ),
    )
    .await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(&app, &body).await["https://example.com/roles"],
        "fetch failed: http://127.0.0.1 is not in the tenant's egress allow-list (tenant setting actions_egress)"
    );
    for (list, status) in [
        (json!(["http://127.0.0.1/x"]), StatusCode::BAD_REQUEST),
        (json!(["http://127.0.0.1"]), StatusCode::OK),
    ] {
        let (got, answer) = call(
            &app,
            "PATCH",
            "/tenants/settings",
            Some(&settings),
            Some(json!({"actions_egress": list})),
        )
        .await;
        assert_eq!(got, status, "{answer}");
    }
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(&app, &body).await["https://example.com/roles"],
        json!(["auditor"])
    );
    // The operator counts them: one refused, one answered.
    let counted = crate::metrics::samples(&crate::metrics::scrape(&app).await);
    for result in ["refused", "answered"] {
        let series = format!(
            "sigil_actions_fetches_total{{trigger=\"credentials-exchange\",result=\"{result}\"}}"
        );
        assert_eq!(counted.get(&series), Some(&1.0), "{series}");
    }
}

/// Each execution is kept and shown at `/actions/executions/{id}`: the success events link to
/// theirs (`details.actions.executions`), a failure's event names its own, and an unknown id
/// is Auth0's 404.
#[tokio::test]
async fn executions_are_recorded_and_linked_from_the_events() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let read = Some(token.as_str());
    bind_only(&app, &token, "credentials-exchange", "s6", S6).await;
    bind_only(
        &app,
        &token,
        "post-login",
        "tags",
        "exports.onExecutePostLogin = async (event, api) => { api.accessToken.setCustomClaim('https://example.com/t', 1); };",
    )
    .await;
    let (status, body) = machine_token(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = password_login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (log_type, trigger, action) in [
        ("seccft", "credentials-exchange", "s6"),
        ("sepft", "post-login", "tags"),
    ] {
        let event = crate::events::newest(&app, log_type).await;
        let ids = &event.event.details["actions"]["executions"];
        assert_eq!(ids.as_array().map(Vec::len), Some(1), "{log_type}: {ids}");
        let (status, execution) = call(
            &app,
            "GET",
            &format!("/actions/executions/{}", ids[0].as_str().unwrap()),
            read,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{execution}");
        assert_eq!(execution["id"], ids[0]);
        assert_eq!(execution["trigger_id"], trigger);
        assert_eq!(execution["status"], "final");
        assert_eq!(execution["results"][0]["action_name"], action);
        assert_eq!(execution["results"][0]["error"], Value::Null);
        for field in ["created_at", "updated_at"] {
            assert!(
                execution[field].as_str().unwrap().ends_with('Z'),
                "{execution}"
            );
        }
    }
    // A failure: its event names the execution, which shows the error without the secret.
    bind_only(
        &app,
        &token,
        "credentials-exchange",
        "leaks",
        "exports.onExecuteCredentialsExchange = async (event) => { throw new Error('no ' + event.secrets.TIER); };",
    )
    .await;
    let (status, _) = machine_token(&app).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let failed = crate::events::newest(&app, "actions_execution_failed").await;
    let id = failed.event.details["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, execution) = call(
        &app,
        "GET",
        &format!("/actions/executions/{id}"),
        read,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{execution}");
    assert_eq!(
        execution["results"][0]["error"],
        json!({"id": "action_error", "msg": "Error: no [secret]", "url": ""})
    );
    let (status, missing) = call(&app, "GET", "/actions/executions/nope", read, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["message"], "That execution does not exist.");
}

/// The count of `sigil_actions_executions_total` for `trigger` and `result`, once it reaches
/// `at_least` (the queue runs after the flow has answered), or what it is after 10 s.
async fn executions(app: &TestApp, trigger: &str, result: &str, at_least: u64) -> u64 {
    let line =
        format!("sigil_actions_executions_total{{trigger=\"{trigger}\",result=\"{result}\"}} ");
    let mut seen = 0;
    for _ in 0..200 {
        let metrics = app
            .http
            .get(app.url("metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        seen = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .map_or(0, |n| n.trim().parse().unwrap());
        if seen >= at_least {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    seen
}

/// `post-user-registration` and `post-change-password` run from the store's queue after the
/// flow has answered: a failing Action never holds the user up, is in the tenant log, and is
/// tried again later (on the app's clock).
#[tokio::test]
async fn asynchronous_triggers_run_from_the_queue_after_the_flow_and_retry_failures() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let users = token_for(&app, &audience(&app), &["update:users"]).await;
    bind_only(
        &app,
        &token,
        "post-user-registration",
        "crm",
        r#"exports.onExecutePostUserRegistration = async (event, api) => {
            if (event.user.email.startsWith("fail")) throw new Error("the CRM is down");
            console.log("welcome", event.user.user_id, event.connection.name);
        };"#,
    )
    .await;
    let (status, body) = api_signup(&app, "ok@example.com", "en").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(executions(&app, "post-user-registration", "ok", 1).await, 1);

    // A failure: the signup stands; the tenant log has it; it is tried again once due.
    let (status, body) = api_signup(&app, "fail@example.com", "en").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        executions(&app, "post-user-registration", "failed", 1).await,
        1
    );
    let failed = crate::events::newest(&app, "actions_execution_failed").await;
    assert_eq!(failed.event.details["trigger_id"], "post-user-registration");
    app.clock.advance(31);
    assert_eq!(
        executions(&app, "post-user-registration", "failed", 2).await,
        2
    );
    assert_eq!(executions(&app, "post-user-registration", "ok", 1).await, 1);

    // A password changed through a reset link runs post-change-password.
    bind_only(
        &app,
        &token,
        "post-change-password",
        "notify",
        r#"exports.onExecutePostChangePassword = async (event, api) => {
            if (event.user.email !== "ann@example.com" || !event.request.ip) throw new Error("wrong event");
        };"#,
    )
    .await;
    let mut browser = crate::browser::Browser::new();
    let link = crate::reset::reset_link(&app).await;
    let page = browser.get(&link).await;
    let done = crate::reset::set_password(
        &mut browser,
        &app,
        &page,
        "N3w-Passw0rd-Here",
        "N3w-Passw0rd-Here",
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(executions(&app, "post-change-password", "ok", 1).await, 1);

    // So does one set through the Management API.
    let (status, changed) = call(
        &app,
        "PATCH",
        &format!("/users/{}", app.ann),
        Some(&users),
        Some(json!({"password": "An0ther-Passw0rd-Here", "connection": "Username-Password-Authentication"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(executions(&app, "post-change-password", "ok", 2).await, 2);
}

/// S5 in `notes/actions.md`, verbatim from Auth0's docs (MIT).
const S5: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  if (event?.resource_server?.identifier === 'https://example.com/api') {
    api.accessToken.addScope("read:xyz");
  }
};"#;

/// S8 in `notes/actions.md`, verbatim from Auth0's docs (MIT).
const S8: &str = r#"// an Auth0 action 
exports.onExecutePostLogin = async (event, api) => {
 // this will be ignored
 api.accessToken.setCustomClaim('roles', 'this is a role, but Auth0 will ignore it');
 // this will succeed, and appear in the token
 api.idToken.setCustomClaim('https://myDomain.com/roles', 'this is a role');
};"#;

/// S9 in `notes/actions.md`, verbatim from Auth0's marketplace template
/// `ip-address-allowlist-CREDENTIALS_EXCHANGE` (MIT).
const S9: &str = r#"exports.onExecuteCredentialsExchange = async (event, api) => {
    // obtain the list of allowed IPs
    const ips = event.secrets.ALLOW_LIST?.split(',');
    if (!ips) {
        return api.access.deny('server_error', 'Invalid configuration');
    }

    // ensure the request IP is from an allowed IP address
    if (!ips.includes(event.request.ip)) {
        return api.access.deny(
            'invalid_request',
            'Access denied for this IP address'
        );
    }
};"#;

/// S5, S8 and S9 unchanged through real token requests: a scope added for one API only,
/// restricted claims dropped and namespaced ones kept, an allow-list of addresses from a
/// secret.
#[tokio::test]
async fn auth0s_examples_s5_s8_and_s9_run_unchanged() {
    let app = TestApp::start().await;
    let token = actions_token(&app).await;
    let apis = token_for(&app, &audience(&app), &["create:resource_servers"]).await;
    let (status, created) = call(
        &app,
        "POST",
        "/resource-servers",
        Some(&apis),
        Some(json!({"identifier": "https://example.com/api", "scopes": [{"value": "read:xyz"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let login_for = |audience: &str| {
        crate::password::login(&app, json!({"audience": audience, "scope": "openid"}))
    };

    // S5: read:xyz for https://example.com/api, not for another API.
    bind_only(&app, &token, "post-login", "S5", S5).await;
    for (audience, has) in [("https://example.com/api", true), (API, false)] {
        let (status, _, body) = post(&app, login_for(audience), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let access = app
            .verifier(audience)
            .await
            .verify::<Value>(
                body["access_token"].as_str().unwrap(),
                UnixTime(app.clock_now()),
            )
            .unwrap()
            .claims;
        let scope = access["scope"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            scope.split(' ').any(|s| s == "read:xyz"),
            has,
            "{audience}: {scope}"
        );
    }

    // S8: `roles` is restricted in the access token; the namespaced claim is in the ID token.
    bind_only(&app, &token, "post-login", "S8", S8).await;
    let (status, _, body) = post(&app, login_for(API), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = claims(&app, &body).await;
    assert_eq!(access.get("roles"), None, "{access}");
    let id = id_claims(&app, &body).await;
    assert_eq!(id["https://myDomain.com/roles"], "this is a role", "{id}");

    // S9: the request's address against ALLOW_LIST.
    for (i, (secrets, status, error)) in [
        (
            json!([{"name": "ALLOW_LIST", "value": "10.0.0.1"}]),
            StatusCode::BAD_REQUEST,
            Some(("invalid_request", "Access denied for this IP address")),
        ),
        (
            json!([{"name": "ALLOW_LIST", "value": "10.0.0.1,127.0.0.1"}]),
            StatusCode::OK,
            None,
        ),
        (
            json!([]),
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(("server_error", "Invalid configuration")),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("S9 {i}");
        bind_only_with(
            &app,
            &token,
            "credentials-exchange",
            &name,
            S9,
            secrets.clone(),
        )
        .await;
        let (got, body) = machine_token(&app).await;
        assert_eq!(got, status, "{secrets}: {body}");
        if let Some((code, description)) = error {
            assert_eq!(body["error"], code, "{body}");
            assert_eq!(body["error_description"], description, "{body}");
        }
    }
}
