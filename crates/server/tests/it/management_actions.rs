//! `/api/v2/actions/*`: an Action created and built at once (or failed, with its errors),
//! deployed as numbered versions and rolled back, bound to triggers by id or name, deleted only
//! with `force` while bound; secrets never returned, and the scopes Auth0 requires.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::management::{assert_error, audience, call, token_for};

const SCOPES: [&str; 4] = [
    "read:actions",
    "create:actions",
    "update:actions",
    "delete:actions",
];
const ROLES: &str = "exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/roles', event.authorization?.roles ?? []);
};";

fn new_action(name: &str, code: &str) -> Value {
    json!({
        "name": name,
        "supported_triggers": [{"id": "post-login", "version": "v3"}],
        "code": code,
        "runtime": "node22",
        "secrets": [{"name": "API_KEY", "value": "hush-hush-value"}],
    })
}

#[tokio::test]
async fn an_action_is_built_deployed_versioned_and_rolled_back() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());

    let (status, created) = call(
        &app,
        "POST",
        "/actions/actions",
        t,
        Some(new_action("Add roles", ROLES)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "built", "{created}");
    assert_eq!(created["all_changes_deployed"], false);
    assert_eq!(created["secrets"][0]["name"], "API_KEY");
    assert!(
        !created.to_string().contains("hush-hush-value"),
        "{created}"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let (status, v1) = call(
        &app,
        "POST",
        &format!("/actions/actions/{id}/deploy"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v1}");
    assert_eq!(
        (v1["number"].as_u64(), v1["deployed"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(v1["action"]["all_changes_deployed"], true, "{v1}");

    // A change to the draft: not deployed until it is.
    let changed = ROLES.replace("roles'", "groups'");
    let (status, patched) = call(
        &app,
        "PATCH",
        &format!("/actions/actions/{id}"),
        t,
        Some(json!({"code": changed, "secrets": [{"name": "API_KEY"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["all_changes_deployed"], false, "{patched}");
    assert_eq!(patched["deployed_version"]["number"], 1, "{patched}");
    let (_, v2) = call(
        &app,
        "POST",
        &format!("/actions/actions/{id}/deploy"),
        t,
        None,
    )
    .await;
    assert_eq!(v2["number"], 2, "{v2}");

    let (status, versions) = call(
        &app,
        "GET",
        &format!("/actions/actions/{id}/versions"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{versions}");
    assert_eq!(versions["total"], 2);
    let listed: Vec<(u64, bool)> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["number"].as_u64().unwrap(),
                v["deployed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [(2, true), (1, false)]);

    // Rolling back deploys version 1's code again, as version 3.
    let v1_id = v1["id"].as_str().unwrap();
    let (status, v3) = call(
        &app,
        "POST",
        &format!("/actions/actions/{id}/versions/{v1_id}/deploy"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v3}");
    assert_eq!(
        (v3["number"].as_u64(), v3["code"].as_str()),
        (Some(3), Some(ROLES))
    );
    let (_, one) = call(
        &app,
        "GET",
        &format!("/actions/actions/{id}/versions/{v1_id}"),
        t,
        None,
    )
    .await;
    assert_eq!(one["deployed"], false, "{one}");

    let (_, listed) = call(
        &app,
        "GET",
        "/actions/actions?triggerId=post-login&deployed=true",
        t,
        None,
    )
    .await;
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["actions"][0]["name"], "Add roles");
    let (_, none) = call(
        &app,
        "GET",
        "/actions/actions?triggerId=credentials-exchange",
        t,
        None,
    )
    .await;
    assert_eq!(none["total"], 0, "{none}");
}

#[tokio::test]
async fn code_that_does_not_build_is_failed_with_its_errors_and_cannot_be_deployed() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());
    let cases = [
        ("syntax", "exports.onExecutePostLogin = (", "syntax_error"),
        ("no handler", "exports.other = () => {};", "missing_handler"),
        ("top-level loop", "for (;;) {}", "load_error"),
    ];
    for (name, code, error) in cases {
        let (status, created) = call(
            &app,
            "POST",
            "/actions/actions",
            t,
            Some(new_action(name, code)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {created}");
        assert_eq!(created["status"], "failed", "{name}: {created}");
        assert_eq!(created["errors"][0]["id"], error, "{name}: {created}");
        let id = created["id"].as_str().unwrap();
        let refused = call(
            &app,
            "POST",
            &format!("/actions/actions/{id}/deploy"),
            t,
            None,
        )
        .await;
        assert_error(&refused, 400, "invalid_body");
        assert!(
            refused.1["message"]
                .as_str()
                .unwrap()
                .contains("must be in the 'built' state"),
            "{name}: {}",
            refused.1
        );
    }
    // A dependency Sigil does not offer fails the build too.
    let mut body = new_action("with lodash", ROLES);
    body["dependencies"] = json!([{"name": "lodash", "version": "4.17.21"}]);
    let (_, created) = call(&app, "POST", "/actions/actions", t, Some(body)).await;
    assert_eq!(
        created["errors"][0]["id"], "unsupported_dependency",
        "{created}"
    );
    // A built-in module declared as a dependency, as Auth0's Actions declare axios, builds.
    let mut body = new_action("with axios", ROLES);
    body["dependencies"] = json!([{"name": "axios", "version": "1.6.0"}]);
    let (_, created) = call(&app, "POST", "/actions/actions", t, Some(body)).await;
    assert_eq!(
        (&created["status"], &created["errors"]),
        (&json!("built"), &Value::Null),
        "{created}"
    );
}

#[tokio::test]
async fn bindings_name_deployed_actions_by_id_or_name_and_replace_the_list() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());
    let mut ids = Vec::new();
    for name in ["First", "Second", "Draft only"] {
        let (_, created) = call(
            &app,
            "POST",
            "/actions/actions",
            t,
            Some(new_action(name, ROLES)),
        )
        .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    for id in &ids[..2] {
        let (status, _) = call(
            &app,
            "POST",
            &format!("/actions/actions/{id}/deploy"),
            t,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, triggers) = call(&app, "GET", "/actions/triggers", t, None).await;
    assert_eq!(status, StatusCode::OK);
    let post_login = triggers["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "post-login")
        .unwrap();
    assert_eq!(post_login["status"], "CURRENT", "{post_login}");

    let bind = |bindings: Value| json!({ "bindings": bindings });
    let (status, bound) = call(
        &app,
        "PATCH",
        "/actions/triggers/post-login/bindings",
        t,
        Some(bind(json!([
            {"ref": {"type": "action_name", "value": "Second"}, "display_name": "second first"},
            {"ref": {"type": "action_id", "value": ids[0]}},
        ]))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    let names: Vec<&str> = bound["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["second first", "First"]);
    assert_eq!(
        bound["bindings"][0]["action"]["deployed_version"]["status"],
        "BUILT"
    );

    let refusals = [
        (
            "an undeployed action",
            json!([{"ref": {"type": "action_id", "value": ids[2]}}]),
        ),
        (
            "an unknown action",
            json!([{"ref": {"type": "action_name", "value": "Nobody"}}]),
        ),
        (
            "a bad reference type",
            json!([{"ref": {"type": "action_slug", "value": "x"}}]),
        ),
    ];
    for (what, bindings) in refusals {
        let refused = call(
            &app,
            "PATCH",
            "/actions/triggers/post-login/bindings",
            t,
            Some(bind(bindings)),
        )
        .await;
        assert_error(&refused, 400, "invalid_body");
        let _ = what;
    }
    // Refused replacements changed nothing.
    let (_, listed) = call(
        &app,
        "GET",
        "/actions/triggers/post-login/bindings",
        t,
        None,
    )
    .await;
    assert_eq!(listed["total"], 2, "{listed}");
    // An action bound to another trigger than it supports.
    let refused = call(
        &app,
        "PATCH",
        "/actions/triggers/credentials-exchange/bindings",
        t,
        Some(bind(
            json!([{"ref": {"type": "action_id", "value": ids[0]}}]),
        )),
    )
    .await;
    assert_error(&refused, 400, "invalid_body");
    let unknown = call(
        &app,
        "GET",
        "/actions/triggers/send-phone-message/bindings",
        t,
        None,
    )
    .await;
    assert_error(&unknown, 404, "inexistent_trigger");

    // A bound action is deleted only with force, which unbinds it.
    let first = &ids[0];
    let refused = call(
        &app,
        "DELETE",
        &format!("/actions/actions/{first}"),
        t,
        None,
    )
    .await;
    assert_error(&refused, 409, "conflict");
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("/actions/actions/{first}?force=true"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = call(
        &app,
        "GET",
        "/actions/triggers/post-login/bindings",
        t,
        None,
    )
    .await;
    assert_eq!(listed["total"], 1, "{listed}");
    let gone = call(&app, "GET", &format!("/actions/actions/{first}"), t, None).await;
    assert_error(&gone, 404, "inexistent_action");
    // Cleared.
    let (status, cleared) = call(
        &app,
        "PATCH",
        "/actions/triggers/post-login/bindings",
        t,
        Some(bind(json!([]))),
    )
    .await;
    assert_eq!(
        (status, cleared["bindings"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
}

#[tokio::test]
async fn each_operation_needs_its_scope_and_bodies_are_checked() {
    let app = TestApp::start().await;
    let reader = token_for(&app, &audience(&app), &["read:actions"]).await;
    let refused = call(
        &app,
        "POST",
        "/actions/actions",
        Some(&reader),
        Some(new_action("x", ROLES)),
    )
    .await;
    assert_error(&refused, 403, "insufficient_scope");
    let (status, _) = call(&app, "GET", "/actions/actions", Some(&reader), None).await;
    assert_eq!(status, StatusCode::OK);

    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());
    let mut unknown_field = new_action("x", ROLES);
    unknown_field["colour"] = json!("blue");
    let mut bad_trigger = new_action("y", ROLES);
    bad_trigger["supported_triggers"] = json!([{"id": "send-phone-message", "version": "v2"}]);
    for body in [unknown_field, bad_trigger, json!({"name": "z"})] {
        let refused = call(&app, "POST", "/actions/actions", t, Some(body)).await;
        assert_error(&refused, 400, "invalid_body");
    }
    let (status, _) = call(
        &app,
        "POST",
        "/actions/actions",
        t,
        Some(new_action("twice", ROLES)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let taken = call(
        &app,
        "POST",
        "/actions/actions",
        t,
        Some(new_action("twice", ROLES)),
    )
    .await;
    assert_error(&taken, 409, "conflict");
    let refused = call(&app, "GET", "/actions/actions?include_totals=true", t, None).await;
    assert_error(&refused, 400, "invalid_query_string");
}

#[tokio::test]
async fn the_test_endpoint_runs_the_draft_and_changes_nothing() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &SCOPES).await;
    let t = Some(token.as_str());
    let code = "exports.onExecutePostLogin = async (event, api) => {
        console.log('hello', event.user.email);
        api.user.setAppMetadata('touched', true);
        api.idToken.setCustomClaim('key', event.secrets.API_KEY);
    };";
    let (_, created) = call(
        &app,
        "POST",
        "/actions/actions",
        t,
        Some(new_action("tested", code)),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let event = json!({"payload": {"event": {"user": {"email": "ann@example.com"}}}});
    let (status, tested) = call(
        &app,
        "POST",
        &format!("/actions/actions/{id}/test"),
        t,
        Some(event),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    let payload = &tested["payload"];
    assert_eq!(payload["logs"], "hello ann@example.com\n", "{tested}");
    assert_eq!(
        payload["commands"][0],
        json!({"op": "user.setAppMetadata", "args": ["touched", true]})
    );
    assert_eq!(
        payload["commands"][1]["args"],
        json!(["key", "hush-hush-value"])
    );
    assert!(payload.get("error").is_none(), "{tested}");
    // Nothing was applied: no user has the metadata.
    let reader = token_for(&app, &audience(&app), &["read:users"]).await;
    let (_, users) = call(&app, "GET", "/users", Some(&reader), None).await;
    assert!(!users.to_string().contains("touched"), "{users}");

    // An error comes back as a name and a message.
    let (_, _) = call(
        &app,
        "PATCH",
        &format!("/actions/actions/{id}"),
        t,
        Some(json!({"code": "exports.onExecutePostLogin = async (event) => { event.user.missing.id; };"})),
    )
    .await;
    let (_, tested) = call(
        &app,
        "POST",
        &format!("/actions/actions/{id}/test"),
        t,
        Some(json!({"payload": {"event": {"user": {}}}})),
    )
    .await;
    assert_eq!(tested["payload"]["error"]["name"], "TypeError", "{tested}");
}
