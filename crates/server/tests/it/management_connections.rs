//! `/api/v2/connections`: database connections listed, read, made and re-optioned, and the new
//! options applied to signups.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{Body, CALLBACK, PASSWORD, TestApp, post};
use crate::browser::{Browser, authorize_url, callback_params, param};
use crate::management::{assert_error, audience, call, token_for};

#[tokio::test]
async fn database_connections_are_made_and_their_options_take_effect() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &[
            "read:connections",
            "create:connections",
            "update:connections",
            "create:users",
        ],
    )
    .await;
    let t = Some(token.as_str());

    let (status, all) = call(&app, "GET", "/connections?strategy=auth0", t, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all[0]["name"], "Username-Password-Authentication");
    assert_eq!(all[0]["options"]["passwordPolicy"], "fair");

    let (status, staff) = call(
        &app,
        "POST",
        "/connections",
        t,
        Some(json!({"name": "Staff", "strategy": "auth0", "options": {"passwordPolicy": "excellent", "password_complexity_options": {"min_length": 14}}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{staff}");
    let id = staff["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("con_"));
    assert_eq!(
        staff["options"]["password_complexity_options"]["min_length"],
        14
    );
    assert_eq!(
        call(&app, "GET", &format!("/connections/{id}"), t, None)
            .await
            .1,
        staff
    );
    let (_, named) = call(
        &app,
        "GET",
        "/connections?name=Staff&include_totals=true",
        t,
        None,
    )
    .await;
    assert_eq!(named["total"], 1, "{named}");

    // The connection's policy applies to users made in it.
    let user = |password: &str| json!({"connection": "Staff", "email": "sam@example.com", "password": password});
    assert_error(
        &call(&app, "POST", "/users", t, Some(user("Short-pass1!"))).await,
        400,
        "auth0_password_strength_error",
    );
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/connections/{id}"),
        t,
        Some(json!({"options": {"passwordPolicy": "low"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, sam) = call(&app, "POST", "/users", t, Some(user("Short-pass1!"))).await;
    assert_eq!(status, StatusCode::CREATED, "{sam}");
    assert_eq!(sam["identities"][0]["connection"], "Staff");

    for (method, path, body, status, code) in [
        (
            "POST",
            "/connections",
            json!({"name": "Staff", "strategy": "auth0"}),
            409,
            "conflict",
        ),
        (
            "POST",
            "/connections",
            json!({"name": "Google", "strategy": "google-oauth2"}),
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/connections",
            json!({"name": "x", "strategy": "auth0", "realms": ["y"]}),
            400,
            "invalid_body",
        ),
        (
            "PATCH",
            "/connections/con_nope",
            json!({"options": {}}),
            404,
            "inexistent_connection",
        ),
        (
            "PATCH",
            &format!("/connections/{id}"),
            json!({"name": "Renamed"}),
            400,
            "invalid_body",
        ),
    ] {
        assert_error(&call(&app, method, path, t, Some(body)).await, status, code);
    }
    let reader = token_for(&app, &audience(&app), &["read:connections"]).await;
    assert_error(
        &call(
            &app,
            "POST",
            "/connections",
            Some(&reader),
            Some(json!({"name": "y", "strategy": "auth0"})),
        )
        .await,
        403,
        "insufficient_scope",
    );
}

/// Where `/authorize` sends the native client asking for `connection`: the login page, or the
/// callback with an error.
async fn authorize_with(app: &TestApp, client: &str, connection: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let query = serde_urlencoded::to_string([
        ("client_id", client),
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
        ("state", "st"),
        ("connection", connection),
    ])
    .unwrap();
    let response = http
        .get(format!("{}?{query}", app.url("authorize")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "{connection}");
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The native client's password-realm answer in `realm`.
async fn password_realm(app: &TestApp, realm: &str, email: &str) -> (StatusCode, Value) {
    let (status, _, body) = post(
        app,
        Body::Form(vec![
            (
                "grant_type",
                "http://auth0.com/oauth/grant-type/password-realm".into(),
            ),
            ("client_id", app.native.to_string()),
            ("realm", realm.into()),
            ("username", email.into()),
            ("password", "Staff-pass-1!".into()),
        ]),
        None,
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn a_connection_serves_only_the_clients_it_is_enabled_for_and_goes_with_its_users() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &[
            "read:connections",
            "create:connections",
            "update:connections",
            "delete:connections",
            "create:users",
            "read:users",
            "read:clients",
        ],
    )
    .await;
    let t = Some(token.as_str());
    let (native, web) = (app.native.to_string(), app.web.0.to_string());

    // The default directory serves every client, as before connections had clients.
    let (_, all) = call(
        &app,
        "GET",
        "/connections?name=Username-Password-Authentication",
        t,
        None,
    )
    .await;
    let default = all[0]["enabled_clients"].as_array().unwrap();
    assert!(
        default.contains(&json!(native)) && default.contains(&json!(web)),
        "{all}"
    );

    // A new connection serves only the clients it lists.
    let (status, staff) = call(
        &app,
        "POST",
        "/connections",
        t,
        Some(
            json!({"name": "Staff", "strategy": "auth0", "display_name": "Staff directory",
            "metadata": {"team": "ops"}, "enabled_clients": [web]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{staff}");
    assert_eq!(staff["enabled_clients"], json!([web]));
    assert_eq!(staff["display_name"], "Staff directory");
    assert_eq!(staff["metadata"], json!({"team": "ops"}));
    let id = staff["id"].as_str().unwrap().to_owned();
    let (status, sam) = call(
        &app,
        "POST",
        "/users",
        t,
        Some(
            json!({"connection": "Staff", "email": "sam@example.com", "password": "Staff-pass-1!"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sam}");
    let sam_id = sam["user_id"].as_str().unwrap().to_owned();

    let disabled = "error=invalid_request&error_description=the+connection+was+disabled";
    for (case, client, connection, expected) in [
        (
            "an enabled client goes on to the login page",
            &web,
            "Staff",
            "/u/login?tx=",
        ),
        (
            "another client is refused at its callback",
            &native,
            "Staff",
            disabled,
        ),
        (
            "an unknown connection is refused",
            &native,
            "Nowhere",
            "error_description=the+connection+was+not+found",
        ),
    ] {
        let location = authorize_with(&app, client, connection).await;
        assert!(location.contains(expected), "{case}: {location}");
        if expected != "/u/login?tx=" {
            assert!(
                location.starts_with(CALLBACK) && location.contains("state=st"),
                "{case}: {location}"
            );
        }
    }
    let (status, refused) = password_realm(&app, "Staff", "sam@example.com").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error_description"], "the connection was disabled");

    // Enabled through /connections/{id}/clients, the native client logs Sam in.
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/connections/{id}/clients"),
        t,
        Some(json!([{"client_id": native, "status": true}])),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, tokens) = password_realm(&app, "Staff", "sam@example.com").await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // Paged by checkpoint; and from the client's side.
    let mut both = [native.clone(), web.clone()];
    both.sort();
    let (_, first) = call(
        &app,
        "GET",
        &format!("/connections/{id}/clients?take=1"),
        t,
        None,
    )
    .await;
    assert_eq!(
        first,
        json!({"clients": [{"client_id": both[0]}], "next": both[0]})
    );
    let (_, second) = call(
        &app,
        "GET",
        &format!("/connections/{id}/clients?take=1&from={}", both[0]),
        t,
        None,
    )
    .await;
    assert_eq!(second, json!({"clients": [{"client_id": both[1]}]}));
    let (_, of_native) = call(
        &app,
        "GET",
        &format!("/clients/{native}/connections"),
        t,
        None,
    )
    .await;
    let names: Vec<&str> = of_native["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Staff", "Username-Password-Authentication"],
        "{of_native}"
    );
    let (_, filtered) = call(
        &app,
        "GET",
        &format!("/clients/{native}/connections?strategy=oidc&strategy=samlp"),
        t,
        None,
    )
    .await;
    assert_eq!(filtered, json!({"connections": []}));
    let (_, paged) = call(
        &app,
        "GET",
        &format!("/clients/{native}/connections?strategy=auth0&take=1"),
        t,
        None,
    )
    .await;
    assert_eq!(paged["connections"][0]["name"], "Staff", "{paged}");
    assert_eq!(paged["next"], paged["connections"][0]["id"], "{paged}");

    // A patch's enabled_clients replaces the list.
    let (status, patched) = call(
        &app,
        "PATCH",
        &format!("/connections/{id}"),
        t,
        Some(json!({"enabled_clients": [native], "show_as_button": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["enabled_clients"], json!([native]));
    assert_eq!(patched["show_as_button"], true);
    assert!(authorize_with(&app, &web, "Staff").await.contains(disabled));

    for (case, method, path, body, status, code) in [
        (
            "an unknown client to enable",
            "PATCH",
            format!("/connections/{id}/clients"),
            json!([{"client_id": "nobody", "status": true}]),
            400,
            "invalid_body",
        ),
        (
            "an empty list of changes",
            "PATCH",
            format!("/connections/{id}/clients"),
            json!([]),
            400,
            "invalid_body",
        ),
        (
            "an unknown connection's clients",
            "PATCH",
            "/connections/con_nope/clients".to_owned(),
            json!([{"client_id": native, "status": true}]),
            404,
            "inexistent_connection",
        ),
        (
            "an unknown client in a patch that also renames",
            "PATCH",
            format!("/connections/{id}"),
            json!({"display_name": "Changed", "enabled_clients": ["nobody"]}),
            400,
            "invalid_body",
        ),
        (
            "an unknown client among the enabled ones at creation",
            "POST",
            "/connections".to_owned(),
            json!({"name": "Other", "strategy": "auth0", "enabled_clients": ["nobody"]}),
            400,
            "invalid_body",
        ),
    ] {
        let answer = call(&app, method, &path, t, Some(body)).await;
        assert_eq!(answer.0.as_u16(), status, "{case}: {}", answer.1);
        assert_error(&answer, status, code);
    }
    assert_error(
        &call(
            &app,
            "GET",
            &format!("/connections/{id}/clients?take=0"),
            t,
            None,
        )
        .await,
        400,
        "invalid_query_string",
    );
    let (_, kept) = call(&app, "GET", &format!("/connections/{id}"), t, None).await;
    assert_eq!(
        kept["display_name"], "Staff directory",
        "a refused patch changed nothing"
    );
    assert_eq!(kept["enabled_clients"], json!([native]));
    let (status, none) = call(&app, "GET", "/connections?name=Other", t, None).await;
    assert_eq!(
        (status, none),
        (StatusCode::OK, json!([])),
        "a refused creation left nothing"
    );

    // Deleting it takes its users with it; it is gone for good.
    let reader = token_for(&app, &audience(&app), &["read:connections"]).await;
    assert_error(
        &call(
            &app,
            "DELETE",
            &format!("/connections/{id}"),
            Some(&reader),
            None,
        )
        .await,
        403,
        "insufficient_scope",
    );
    let (status, _) = call(&app, "DELETE", &format!("/connections/{id}"), t, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let user_path = format!("/users/{}", urlencoding(&sam_id));
    assert_error(
        &call(&app, "GET", &user_path, t, None).await,
        404,
        "inexistent_user",
    );
    for (method, path) in [
        ("GET", format!("/connections/{id}")),
        ("DELETE", format!("/connections/{id}")),
        ("GET", format!("/connections/{id}/clients")),
    ] {
        assert_error(
            &call(&app, method, &path, t, None).await,
            404,
            "inexistent_connection",
        );
    }
    let (status, refused) = password_realm(&app, "Staff", "sam@example.com").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
}

fn urlencoding(s: &str) -> String {
    s.replace('|', "%7C")
}

#[tokio::test]
async fn the_login_page_uses_the_database_enabled_for_the_application() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &[
            "read:connections",
            "create:connections",
            "update:connections",
            "create:users",
        ],
    )
    .await;
    let t = Some(token.as_str());
    let web = app.web.0.to_string();
    let (_, default) = call(
        &app,
        "GET",
        "/connections?name=Username-Password-Authentication",
        t,
        None,
    )
    .await;
    let default_id = default[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/connections/{default_id}/clients"),
        t,
        Some(json!([{"client_id": web, "status": false}])),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // No database is enabled for the application: the page says so, and offers no form.
    let mut browser = Browser::new();
    let login = browser.get(&authorize_url(&app, &web, "")).await;
    let page = browser.get(login.location()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.body.contains("No way to log in is enabled"),
        "{}",
        page.body
    );

    // With Staff enabled for it, the page's form logs Staff's users in, without naming it.
    let (status, _) = call(
        &app,
        "POST",
        "/connections",
        t,
        Some(json!({"name": "Staff", "strategy": "auth0", "enabled_clients": [web]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        &app,
        "POST",
        "/users",
        t,
        Some(
            json!({"connection": "Staff", "email": "sam@example.com", "password": "Staff-pass-1!"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let login = browser.get(&authorize_url(&app, &web, "")).await;
    let page = browser.get(login.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let tx = page.field("tx");
    let refused = browser
        .submit_login(&app, &tx, "ann@example.com", PASSWORD)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "Ann's directory is not this app's"
    );
    let tx = refused.field("tx");
    let done = browser
        .submit_login(&app, &tx, "sam@example.com", "Staff-pass-1!")
        .await;
    let params = callback_params(done.location());
    assert!(param(&params, "code").is_some(), "{}", done.location());
}
