//! Legacy Rules through the Management API and at login: `/rules` CRUD in Auth0's shapes (a
//! script that is not one function refused at once), `/rules-configs` with write-only values,
//! and enabled Rules running in `order` before the post-login Actions: claims by assignment to
//! `context.idToken` / `accessToken`, `configuration`, a deny through `callback(error)`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::UnixTime;

use crate::app::{API, TestApp, post};
use crate::management::{audience, call, token_for};

const SCOPES: [&str; 7] = [
    "create:rules",
    "read:rules",
    "update:rules",
    "delete:rules",
    "read:rules_configs",
    "update:rules_configs",
    "delete:rules_configs",
];

async fn login(app: &TestApp) -> (StatusCode, Value) {
    let body = crate::password::login(app, json!({"audience": API, "scope": "openid"}));
    let (status, _, answer) = post(app, body, None).await;
    (status, answer)
}

async fn verified(app: &TestApp, audience: &str, token: &Value) -> Value {
    app.verifier(audience)
        .await
        .verify::<Value>(token.as_str().unwrap(), UnixTime(app.clock_now()))
        .unwrap()
        .claims
}

#[tokio::test]
async fn rules_are_managed_and_run_in_order_before_the_actions() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());

    // Refusals: no script, a script that is not one function, an unknown property.
    for (body, status) in [
        (json!({"name": "x"}), StatusCode::BAD_REQUEST),
        (
            json!({"name": "x", "script": "function (user, context, callback) {"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "script": "'not a function'"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"name": "x", "script": "function () {}", "when": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (got, answer) = call(&app, "POST", "/rules", t, Some(body.clone())).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["errorCode"], "invalid_body", "{answer}");
    }

    // A configuration value, write-only.
    let (status, set) = call(
        &app,
        "PUT",
        "/rules-configs/NS",
        t,
        Some(json!({"value": "https://example.com/"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set, json!({"key": "NS", "value": "https://example.com/"}));
    let (_, keys) = call(&app, "GET", "/rules-configs", t, None).await;
    assert_eq!(keys, json!([{"key": "NS"}]));

    // A Rule that puts claims in both tokens, and a disabled one that denies, ordered first.
    let (status, claims) = call(
        &app,
        "POST",
        "/rules",
        t,
        Some(json!({
            "name": "claims",
            "script": "function (user, context, callback) {\n  context.idToken[configuration.NS + 'roles'] = context.authorization.roles;\n  context.accessToken[configuration.NS + 'client'] = context.clientName;\n  callback(null, user, context);\n}",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{claims}");
    assert_eq!(claims["enabled"], true);
    assert_eq!(claims["stage"], "login_success");
    assert!(claims["id"].as_str().unwrap().starts_with("rul_"));
    let (status, deny) = call(
        &app,
        "POST",
        "/rules",
        t,
        Some(json!({
            "name": "staff only",
            "order": 0,
            "enabled": false,
            "script": "function (user, context, callback) {\n  return callback(new UnauthorizedError('No access for ' + user.email));\n}",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{deny}");
    let (status, taken) = call(
        &app,
        "POST",
        "/rules",
        t,
        Some(json!({"name": "claims", "script": "function (u, c, cb) { cb(null, u, c); }"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    let (_, listed) = call(&app, "GET", "/rules", t, None).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["staff only", "claims"]);
    let (_, enabled) = call(&app, "GET", "/rules?enabled=true&fields=name", t, None).await;
    assert_eq!(enabled, json!([{"name": "claims"}]));

    // A login: the Rule's claims, and a post-login Action's after it.
    let actions = crate::actions::actions_token(&app).await;
    crate::actions::bind_only(
        &app,
        &actions,
        "post-login",
        "after",
        "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://example.com/after', true); };",
    )
    .await;
    let (status, body) = login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = verified(&app, API, &body["access_token"]).await;
    assert_eq!(access["https://example.com/client"], "Native", "{access}");
    let id = verified(&app, app.native.as_str(), &body["id_token"]).await;
    assert!(id["https://example.com/roles"].is_array(), "{id}");
    assert_eq!(id["https://example.com/after"], true, "{id}");

    // Enabled, the deny runs first and refuses the login with its message.
    let id_of = |rule: &Value| rule["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/rules/{}", id_of(&deny)),
        t,
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = login(&app).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");
    assert_eq!(body["error_description"], "No access for ann@example.com");

    // Deleted, they are gone.
    for rule in [&deny, &claims] {
        let path = format!("/rules/{}", id_of(rule));
        let (status, _) = call(&app, "DELETE", &path, t, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, gone) = call(&app, "GET", &path, t, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(gone["message"], "The rule does not exist.");
    }
    let (status, body) = login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for status in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let (got, _) = call(&app, "DELETE", "/rules-configs/NS", t, None).await;
        assert_eq!(got, status);
    }
}

/// Rules keep metadata as Auth0's templates do, through `auth0.users.updateAppMetadata` and
/// `updateUserMetadata` (a promise, or a callback): merged into the user logging in once the
/// login's Rules and Actions have run; another user's id is refused.
#[tokio::test]
async fn rules_keep_metadata_through_the_auth0_object() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());
    let scripts = [
        (
            "plan",
            "function (user, context, callback) {\n  user.app_metadata = user.app_metadata || {};\n  user.app_metadata.plan = 'gold';\n  auth0.users.updateAppMetadata(user.user_id, user.app_metadata)\n    .then(function () {\n      context.idToken['https://example.com/plan'] = user.app_metadata.plan;\n      callback(null, user, context);\n    })\n    .catch(function (err) { callback(err); });\n}",
        ),
        (
            "colour",
            "function (user, context, callback) {\n  auth0.users.updateUserMetadata(user.user_id, { colour: 'green' }, function (err) {\n    if (err) return callback(err);\n    auth0.users.updateAppMetadata('auth0|someone-else', { plan: 'free' })\n      .then(function () { callback(new Error('another user was written')); })\n      .catch(function (e) { context.idToken['https://example.com/other'] = e.message; callback(null, user, context); });\n  });\n}",
        ),
    ];
    for (name, script) in scripts {
        let (status, rule) = call(
            &app,
            "POST",
            "/rules",
            t,
            Some(json!({"name": name, "script": script})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{rule}");
    }
    let (status, body) = login(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = verified(&app, app.native.as_str(), &body["id_token"]).await;
    assert_eq!(
        (
            &id["https://example.com/plan"],
            &id["https://example.com/other"]
        ),
        (
            &json!("gold"),
            &json!("Sigil's auth0 object updates the metadata of the user logging in only")
        ),
        "{id}"
    );
    let reader = token_for(&app, &audience(&app), &["read:users"]).await;
    let path = format!("/users/{}", app.ann.as_str().replace('|', "%7C"));
    let (_, user) = call(&app, "GET", &path, Some(&reader), None).await;
    assert_eq!(
        (
            &user["app_metadata"]["plan"],
            &user["user_metadata"]["colour"]
        ),
        (&json!("gold"), &json!("green")),
        "{user}"
    );
}
