//! `/api/v2/resource-servers`: APIs created, listed, read by id or identifier, changed and
//! deleted over HTTP; the Management API's own resource server protected; an ES256 API making
//! the P-256 key family and getting ES256 tokens; the list filtered by `identifiers`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;

use crate::app::{API, Body, RBAC_API, TestApp, post};
use crate::management::{assert_error, audience, call, sapi_count, token_for};

const ALL: &[&str] = &[
    "read:resource_servers",
    "create:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
];

/// `text` percent-encoded as one path segment or query value.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The path of the API `id` (an id or an identifier), percent-encoded as one segment.
fn path_of(id: &str) -> String {
    format!("/resource-servers/{}", encoded(id))
}

#[tokio::test]
async fn resource_servers_are_created_listed_read_changed_and_deleted() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), ALL).await;
    let t = Some(token.as_str());
    let logged_before = sapi_count(&app).await;

    let (status, created) = call(
        &app,
        "POST",
        "/resource-servers",
        t,
        Some(json!({
            "identifier": "https://orders.example.com/",
            "name": "Orders",
            "scopes": [{"value": "read:orders", "description": "Read orders"}, {"value": "write:orders"}],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24, "{created}");
    assert_eq!(
        created,
        json!({
            "id": id,
            "name": "Orders",
            "identifier": "https://orders.example.com/",
            "is_system": false,
            "scopes": [
                {"value": "read:orders", "description": "Read orders"},
                {"value": "write:orders", "description": ""},
            ],
            "signing_alg": "RS256",
            "token_lifetime": 86400,
            "token_lifetime_for_web": 7200,
            "enforce_policies": false,
            "token_dialect": "access_token",
            "allow_offline_access": false,
            "skip_consent_for_verifiable_first_party_clients": true,
        })
    );

    // Every setting given, and the name defaulting to the identifier.
    let (status, full) = call(
        &app,
        "POST",
        "/resource-servers",
        t,
        Some(json!({
            "identifier": "urn:billing",
            "signing_alg": "PS256",
            "token_lifetime": 3600,
            "token_lifetime_for_web": 600,
            "enforce_policies": true,
            "token_dialect": "rfc9068_profile_authz",
            "allow_offline_access": true,
            "skip_consent_for_verifiable_first_party_clients": false,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{full}");
    for (field, value) in [
        ("name", json!("urn:billing")),
        ("signing_alg", json!("PS256")),
        ("token_lifetime", json!(3600)),
        ("token_lifetime_for_web", json!(600)),
        ("enforce_policies", json!(true)),
        ("token_dialect", json!("rfc9068_profile_authz")),
        ("allow_offline_access", json!(true)),
        (
            "skip_consent_for_verifiable_first_party_clients",
            json!(false),
        ),
        ("scopes", json!([])),
    ] {
        assert_eq!(full[field], value, "{field}: {full}");
    }

    // Bad bodies: 400 with the field named; a taken identifier is 409.
    let https_alias = audience(&app).replacen("http://", "https://", 1);
    for (name, body, status, code, mentions) in [
        (
            "taken identifier",
            json!({"identifier": "https://orders.example.com/"}),
            409,
            "conflict",
            "identifier",
        ),
        (
            "the Management API's https name",
            json!({"identifier": https_alias}),
            409,
            "conflict",
            "identifier",
        ),
        (
            "unknown field",
            json!({"identifier": "urn:x", "colour": "red"}),
            400,
            "invalid_body",
            "colour",
        ),
        (
            "no identifier",
            json!({"name": "x"}),
            400,
            "invalid_body",
            "identifier",
        ),
        (
            "empty identifier",
            json!({"identifier": ""}),
            400,
            "invalid_body",
            "identifier",
        ),
        (
            "spaces in the identifier",
            json!({"identifier": "my api"}),
            400,
            "invalid_body",
            "identifier",
        ),
        (
            "angle brackets in the name",
            json!({"identifier": "urn:x", "name": "<b>"}),
            400,
            "invalid_body",
            "name",
        ),
        (
            "HS256",
            json!({"identifier": "urn:x", "signing_alg": "HS256"}),
            400,
            "invalid_body",
            "not supported",
        ),
        (
            "unknown algorithm",
            json!({"identifier": "urn:x", "signing_alg": "XS999"}),
            400,
            "invalid_body",
            "signing_alg",
        ),
        (
            "none",
            json!({"identifier": "urn:x", "signing_alg": "none"}),
            400,
            "invalid_body",
            "signing_alg",
        ),
        (
            "scope defined twice",
            json!({"identifier": "urn:x", "scopes": [{"value": "a"}, {"value": "a"}]}),
            400,
            "invalid_body",
            "twice",
        ),
        (
            "scope with a space",
            json!({"identifier": "urn:x", "scopes": [{"value": "a b"}]}),
            400,
            "invalid_body",
            "scopes[0].value",
        ),
        (
            "scope without value",
            json!({"identifier": "urn:x", "scopes": [{"description": "d"}]}),
            400,
            "invalid_body",
            "value",
        ),
        (
            "web lifetime beyond the lifetime",
            json!({"identifier": "urn:x", "token_lifetime": 60, "token_lifetime_for_web": 61}),
            400,
            "invalid_body",
            "token_lifetime_for_web",
        ),
        (
            "lifetime beyond 30 days",
            json!({"identifier": "urn:x", "token_lifetime": 2_592_001}),
            400,
            "invalid_body",
            "token_lifetime",
        ),
        (
            "negative lifetime",
            json!({"identifier": "urn:x", "token_lifetime": -1}),
            400,
            "invalid_body",
            "token_lifetime",
        ),
        (
            "unknown dialect",
            json!({"identifier": "urn:x", "token_dialect": "saml"}),
            400,
            "invalid_body",
            "saml",
        ),
        (
            "permissions without RBAC",
            json!({"identifier": "urn:x", "token_dialect": "access_token_authz"}),
            400,
            "invalid_body",
            "enforce_policies",
        ),
    ] {
        let answer = call(&app, "POST", "/resource-servers", t, Some(body)).await;
        assert_error(&answer, status, code);
        assert!(
            answer.1["message"].as_str().unwrap().contains(mentions),
            "{name}: {}",
            answer.1
        );
    }

    // Listing: a bare array, with totals, paged.
    let (status, all) = call(&app, "GET", "/resource-servers", t, None).await;
    assert_eq!(status, StatusCode::OK);
    let identifiers: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["identifier"].as_str().unwrap())
        .collect();
    // The test app's API, the Management API, the RBAC API, and the two made here.
    assert_eq!(identifiers.len(), 5, "{all}");
    assert!(identifiers.contains(&API) && identifiers.contains(&"urn:billing"));
    let (_, totals) = call(
        &app,
        "GET",
        "/resource-servers?include_totals=true&per_page=2&page=1",
        t,
        None,
    )
    .await;
    assert_eq!(
        [
            &totals["start"],
            &totals["limit"],
            &totals["length"],
            &totals["total"]
        ],
        [&json!(2), &json!(2), &json!(2), &json!(5)],
        "{totals}"
    );
    assert_eq!(totals["resource_servers"].as_array().unwrap().len(), 2);
    let (_, last) = call(&app, "GET", "/resource-servers?page=5&per_page=1", t, None).await;
    assert_eq!(last, json!([]), "paging ends with an empty page");
    for query in ["per_page=0", "identifier=urn:billing", "page=-1"] {
        assert_error(
            &call(&app, "GET", &format!("/resource-servers?{query}"), t, None).await,
            400,
            "invalid_query_string",
        );
    }

    // Read by id and by identifier.
    for name in [id.as_str(), "https://orders.example.com/"] {
        let (status, got) = call(&app, "GET", &path_of(name), t, None).await;
        assert_eq!((status, &got), (StatusCode::OK, &created), "{name}");
    }

    // Change: name, scopes, algorithm, RBAC and dialect together; unknown fields, the
    // identifier among them, refused.
    let (status, patched) = call(
        &app,
        "PATCH",
        &path_of("https://orders.example.com/"),
        t,
        Some(json!({
            "name": "Orders v2",
            "scopes": [{"value": "read:orders"}],
            "signing_alg": "PS256",
            "enforce_policies": true,
            "token_dialect": "access_token_authz",
            "token_lifetime": 600,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    for (field, value) in [
        ("id", json!(id)),
        ("identifier", json!("https://orders.example.com/")),
        ("name", json!("Orders v2")),
        (
            "scopes",
            json!([{"value": "read:orders", "description": ""}]),
        ),
        ("signing_alg", json!("PS256")),
        ("enforce_policies", json!(true)),
        ("token_dialect", json!("access_token_authz")),
        ("token_lifetime", json!(600)),
        ("token_lifetime_for_web", json!(600)),
    ] {
        assert_eq!(patched[field], value, "{field}: {patched}");
    }
    assert_eq!(
        call(&app, "GET", &path_of(&id), t, None).await.1,
        patched,
        "the change is stored"
    );
    for (body, mentions) in [
        (
            json!({"identifier": "https://other.example.com/"}),
            "identifier",
        ),
        (json!({"id": "x"}), "id"),
        (json!({"signing_alg": "HS256"}), "not supported"),
        (json!({"enforce_policies": false}), "enforce_policies"),
        (
            json!({"token_lifetime_for_web": 601}),
            "token_lifetime_for_web",
        ),
    ] {
        let answer = call(&app, "PATCH", &path_of(&id), t, Some(body)).await;
        assert_error(&answer, 400, "invalid_body");
        assert!(
            answer.1["message"].as_str().unwrap().contains(mentions),
            "{mentions}: {}",
            answer.1
        );
    }

    // Unknown APIs are 404 for every operation.
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"name": "n"}))),
        ("DELETE", None),
    ] {
        assert_error(
            &call(&app, method, &path_of("https://nope.example.com/"), t, body).await,
            404,
            "inexistent_resource_server",
        );
    }

    // Delete by identifier; its grants go with it.
    let (status, body) = call(&app, "DELETE", &path_of("urn:billing"), t, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_error(
        &call(&app, "GET", &path_of("urn:billing"), t, None).await,
        404,
        "inexistent_resource_server",
    );
    let (status, _) = call(&app, "DELETE", &path_of(&id), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &call(&app, "DELETE", &path_of(&id), t, None).await,
        404,
        "inexistent_resource_server",
    );

    assert_eq!(
        sapi_count(&app).await - logged_before,
        5,
        "two creations, one change, two deletions, each logged as sapi"
    );
}

/// `?identifiers=…` once for each of `identifiers`, percent-encoded as the SDKs send them.
fn identifiers_query(identifiers: &[&str]) -> String {
    identifiers
        .iter()
        .map(|identifier| format!("identifiers={}", encoded(identifier)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A filtered list: name, identifiers, other parameters, the APIs listed, the totals' `total`
/// (`None`: no totals asked for).
type FilterCase<'a> = (&'a str, Vec<&'a str>, &'a str, Vec<Value>, Option<u64>);

#[tokio::test]
async fn the_list_is_filtered_by_identifiers_then_paged() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["read:resource_servers"]).await;
    let t = Some(token.as_str());
    let management = audience(&app);
    // The Management API's other name, `https://<host>/api/v2/`, names it here too.
    let host = app.base.split_once("://").unwrap().1.trim_end_matches('/');
    let alias = format!("https://{host}/api/v2/");
    let (_, all) = call(&app, "GET", "/resource-servers", t, None).await;
    let in_order = |wanted: &[&str]| -> Vec<Value> {
        all.as_array()
            .unwrap()
            .iter()
            .filter(|api| wanted.contains(&api["identifier"].as_str().unwrap()))
            .cloned()
            .collect()
    };

    let cases: Vec<FilterCase> = vec![
        ("one", vec![API], "", in_order(&[API]), None),
        (
            "two, in the list's order",
            vec![RBAC_API, API],
            "",
            in_order(&[API, RBAC_API]),
            None,
        ),
        (
            "one unknown, with totals",
            vec!["urn:nobody"],
            "&include_totals=true",
            vec![],
            Some(0),
        ),
        (
            "a known and an unknown, with totals",
            vec!["urn:nobody", RBAC_API],
            "&include_totals=true",
            in_order(&[RBAC_API]),
            Some(1),
        ),
        (
            "two, second page of one, with totals",
            vec![API, RBAC_API],
            "&include_totals=true&per_page=1&page=1",
            in_order(&[API, RBAC_API])[1..].to_vec(),
            Some(2),
        ),
        (
            "two, a page past the end",
            vec![API, RBAC_API],
            "&per_page=2&page=1",
            vec![],
            None,
        ),
        (
            "the Management API by its other name",
            vec![alias.as_str()],
            "",
            in_order(&[management.as_str()]),
            None,
        ),
        ("the same twice", vec![API, API], "", in_order(&[API]), None),
    ];
    for (name, identifiers, rest, listed, total) in cases {
        let path = format!(
            "/resource-servers?{}{rest}",
            identifiers_query(&identifiers)
        );
        let (status, answer) = call(&app, "GET", &path, t, None).await;
        assert_eq!(status, StatusCode::OK, "{name}: {answer}");
        match total {
            None => assert_eq!(answer, Value::Array(listed), "{name}"),
            Some(total) => {
                assert_eq!(answer["total"], json!(total), "{name}: {answer}");
                assert_eq!(answer["length"], json!(listed.len()), "{name}: {answer}");
                assert_eq!(answer["resource_servers"], Value::Array(listed), "{name}");
            }
        }
    }

    let eleven = vec![API; 11];
    for (name, query, mentions) in [
        (
            "eleven identifiers",
            identifiers_query(&eleven),
            "at most 10",
        ),
        (
            "an unknown parameter beside one",
            format!("{}&identifier=urn:x", identifiers_query(&[API])),
            "identifier",
        ),
        (
            "a bad page beside one",
            format!("{}&page=x", identifiers_query(&[API])),
            "page",
        ),
        (
            "paging given twice",
            format!("{}&page=1&page=2", identifiers_query(&[API])),
            "page",
        ),
    ] {
        let answer = call(&app, "GET", &format!("/resource-servers?{query}"), t, None).await;
        assert_error(&answer, 400, "invalid_query_string");
        assert!(
            answer.1["message"].as_str().unwrap().contains(mentions),
            "{name}: {}",
            answer.1
        );
    }
    let ten = vec![API; 10];
    let (status, _) = call(
        &app,
        "GET",
        &format!("/resource-servers?{}", identifiers_query(&ten)),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "ten identifiers are allowed");
}

#[tokio::test]
async fn the_management_api_is_a_system_api() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), ALL).await;
    let t = Some(token.as_str());
    let management = audience(&app);

    let (status, api) = call(&app, "GET", &path_of(&management), t, None).await;
    assert_eq!(status, StatusCode::OK, "{api}");
    assert_eq!(api["is_system"], true, "{api}");
    // SDKs name it by its https form.
    let https = management.replacen("http://", "https://", 1);
    assert_eq!(call(&app, "GET", &path_of(&https), t, None).await.1, api);

    let answer = call(&app, "DELETE", &path_of(&management), t, None).await;
    assert_error(&answer, 400, "operation_not_supported");
    for body in [
        json!({"name": "Mine now"}),
        json!({"scopes": []}),
        json!({"signing_alg": "ES256"}),
        json!({"identifier": "https://elsewhere/"}),
    ] {
        assert_error(
            &call(&app, "PATCH", &path_of(&management), t, Some(body)).await,
            400,
            "invalid_body",
        );
    }
    let (status, changed) = call(
        &app,
        "PATCH",
        &path_of(api["id"].as_str().unwrap()),
        t,
        Some(json!({"token_lifetime": 3600, "skip_consent_for_verifiable_first_party_clients": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (
            &changed["token_lifetime"],
            &changed["token_lifetime_for_web"],
            &changed["skip_consent_for_verifiable_first_party_clients"],
            &changed["scopes"],
        ),
        (&json!(3600), &json!(3600), &json!(false), &api["scopes"]),
        "{changed}"
    );
    // Still there, and still answering.
    assert_eq!(
        call(&app, "GET", &path_of(&management), t, None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn each_operation_needs_its_scope() {
    let app = TestApp::start().await;
    let reader = token_for(&app, &audience(&app), &["read:resource_servers"]).await;
    let t = Some(reader.as_str());
    assert_eq!(
        call(&app, "GET", "/resource-servers", t, None).await.0,
        StatusCode::OK
    );
    for (method, path, body) in [
        (
            "POST",
            "/resource-servers".to_owned(),
            Some(json!({"identifier": "urn:x"})),
        ),
        ("PATCH", path_of(API), Some(json!({"name": "x"}))),
        ("DELETE", path_of(API), None),
    ] {
        let answer = call(&app, method, &path, t, body).await;
        assert_error(&answer, 403, "insufficient_scope");
    }
    let writer = token_for(&app, &audience(&app), &["create:resource_servers"]).await;
    assert_error(
        &call(&app, "GET", &path_of(API), Some(&writer), None).await,
        403,
        "insufficient_scope",
    );
    assert_error(
        &call(&app, "GET", "/resource-servers", None, None).await,
        401,
        "missing_token",
    );
}

/// The JWKS's `(kty, alg)` pairs.
async fn published(app: &TestApp) -> Vec<(String, String)> {
    let jwks: Value = app
        .http
        .get(app.url(".well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kty"].as_str().unwrap().to_owned(),
                k["alg"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_es256_api_brings_the_p256_keys_and_gets_es256_tokens() {
    let app = TestApp::start().await;
    let token = token_for(
        &app,
        &audience(&app),
        &[
            "create:resource_servers",
            "update:resource_servers",
            "create:client_grants",
        ],
    )
    .await;
    let t = Some(token.as_str());
    let ec = |keys: &[(String, String)]| keys.iter().filter(|(kty, _)| kty == "EC").count();
    assert_eq!(ec(&published(&app).await), 0, "RSA keys only at first");

    let (status, api) = call(
        &app,
        "POST",
        "/resource-servers",
        t,
        Some(json!({"identifier": "https://ec.example.com/", "signing_alg": "ES256", "scopes": [{"value": "read:e"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{api}");
    assert_eq!(api["signing_alg"], "ES256");
    // A current and a next P-256 key, published at once by this node.
    let keys = published(&app).await;
    assert_eq!(ec(&keys), 2, "{keys:?}");
    assert!(
        keys.iter()
            .all(|(kty, alg)| (kty == "EC") == (alg == "ES256"))
    );
    let p256 = app
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.alg == sigil_jose::Algorithm::ES256)
        .count();

    // A second ES256 API (and an API changed to ES256) reuses the family.
    for (method, path, body) in [
        (
            "POST",
            "/resource-servers".to_owned(),
            json!({"identifier": "https://ec2.example.com/", "signing_alg": "ES256"}),
        ),
        ("PATCH", path_of(API), json!({"signing_alg": "ES256"})),
    ] {
        let (status, answer) = call(&app, method, &path, t, Some(body)).await;
        assert!(status.is_success(), "{answer}");
    }
    let after = app
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.alg == sigil_jose::Algorithm::ES256)
        .count();
    assert_eq!(after, p256, "no second P-256 family");

    // Granted through the Management API, the machine client gets ES256 tokens for it.
    let (status, grant) = call(
        &app,
        "POST",
        "/client-grants",
        t,
        Some(json!({"client_id": app.machine.0.as_str(), "audience": "https://ec.example.com/", "scope": ["read:e"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    let (status, _, body) = post(
        &app,
        Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", app.machine.0.to_string()),
            ("client_secret", app.machine.1.expose().to_owned()),
            ("audience", "https://ec.example.com/".into()),
        ]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = sigil_jose::insecure_decode(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(access.header["alg"], "ES256");
    assert_eq!(body["scope"], "read:e");
}
