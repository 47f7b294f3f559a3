//! What `sigil serve` logs: one JSON line per request with its id (the one answered in
//! `x-request-id`) and route template, and never a secret, even at `trace`: a first start, a
//! Management API call, password-realm, refresh and revocation, and a login on the hosted page
//! with its code exchange, every secret they used then looked for in the output.

use std::process::Stdio;

use reqwest::blocking::{Client, Response};

use crate::serve::{admin_token, start_env, stop};
use crate::{check, json, scratch};

const PASSWORD: &str = "Log-line-never-holds-this-1!";
const CALLBACK: &str = "https://app.example.com/callback";

fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn form(http: &Client, url: &str, fields: &[(&str, &str)]) -> serde_json::Value {
    let response = http.post(url).form(fields).send().unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    assert_eq!(status, 200, "{url}: {body}");
    body
}

fn location(response: &Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The value of `name=…` in a `Set-Cookie` of `response`.
fn cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            let pair = v.to_str().ok()?.split(';').next()?;
            let (n, value) = pair.split_once('=')?;
            (n == name && !value.is_empty()).then(|| value.to_owned())
        })
}

/// The value of the hidden field `name` in an HTML form.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in {url}"))
        .1
}

#[test]
fn a_trace_log_of_every_flow_names_routes_and_request_ids_and_holds_no_secret() {
    let dir = scratch("logs_no_secrets");
    let log_path = dir.join("sigil.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let (served, base) = start_env(
        &dir,
        &[("SIGIL_LOG", "trace"), ("SIGIL_LOG_FORMAT", "json")],
        Stdio::from(log_file),
    );
    // Pages and tokens name the default issuer; requests go to the served port.
    let issuer = "http://127.0.0.1:8787/";
    let at = |url: &str| url.replacen(issuer, &base, 1);
    let http = http();
    let mut secrets: Vec<(&str, String)> = vec![("password", PASSWORD.to_owned())];

    // The admin client (its secret is in the file, never in the log) and a Management API call.
    let admin: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("sigil-data/admin-credentials.json")).unwrap(),
    )
    .unwrap();
    secrets.push((
        "admin secret",
        admin["client_secret"].as_str().unwrap().into(),
    ));
    let admin_access = admin_token(&base, &admin)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(("admin token", admin_access.clone()));
    let created = http
        .post(format!("{base}api/v2/users"))
        .bearer_auth(&admin_access)
        .json(&serde_json::json!({
            "email": "logs@example.com",
            "password": PASSWORD,
            "connection": "Username-Password-Authentication",
        }))
        .send()
        .unwrap();
    let request_id = created.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        created.status().as_u16(),
        201,
        "{}",
        created.text().unwrap()
    );

    // An application allowed the code, password-realm and refresh grants.
    let out = check(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Logged",
            "--type",
            "regular_web",
            "--callback",
            CALLBACK,
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--grant",
            "http://auth0.com/oauth/grant-type/password-realm",
            "--json",
        ],
        "",
        0,
        &[],
        &[],
    );
    let client = json(&out);
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let client_secret = client["client_secret"].as_str().unwrap().to_owned();
    secrets.push(("client secret", client_secret.clone()));
    let token_url = format!("{base}oauth/token");
    let credentials = [
        ("client_id", client_id.as_str()),
        ("client_secret", client_secret.as_str()),
    ];

    // Password-realm with a refresh token, a refresh, a revocation.
    let mut fields = vec![
        (
            "grant_type",
            "http://auth0.com/oauth/grant-type/password-realm",
        ),
        ("realm", "Username-Password-Authentication"),
        ("username", "logs@example.com"),
        ("password", PASSWORD),
        ("scope", "openid offline_access"),
    ];
    fields.extend(credentials);
    let tokens = form(&http, &token_url, &fields);
    for name in ["access_token", "id_token", "refresh_token"] {
        secrets.push((name, tokens[name].as_str().unwrap().into()));
    }
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let mut fields = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
    fields.extend(credentials);
    let refreshed = form(&http, &token_url, &fields);
    secrets.push((
        "refreshed access token",
        refreshed["access_token"].as_str().unwrap().into(),
    ));
    // Without rotation (the default) the same refresh token goes on; revoke whichever is live.
    let live = refreshed["refresh_token"]
        .as_str()
        .unwrap_or(refresh)
        .to_owned();
    secrets.push(("live refresh token", live.clone()));
    let mut fields = vec![("token", live.as_str())];
    fields.extend(credentials);
    let revoked = http
        .post(format!("{base}oauth/revoke"))
        .form(&fields)
        .send()
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);

    // The hosted login page and the code exchange.
    let authorize = http
        .get(format!(
            "{base}authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid&state=st-1",
            urlencode(CALLBACK)
        ))
        .send()
        .unwrap();
    let login_url = at(&location(&authorize));
    let page = http.get(&login_url).send().unwrap();
    let csrf = cookie(&page, "sigil_csrf").expect("the login form's CSRF cookie");
    let tx = field(&page.text().unwrap(), "tx");
    secrets.push(("login transaction", tx.clone()));
    let submitted = http
        .post(format!("{base}u/login"))
        .header("cookie", format!("sigil_csrf={csrf}"))
        .form(&[
            ("tx", tx.as_str()),
            ("username", "logs@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .unwrap();
    assert_eq!(submitted.status().as_u16(), 302);
    let session = cookie(&submitted, "sigil_session").expect("a session cookie");
    secrets.push(("session cookie", session));
    let code = query_param(&location(&submitted), "code");
    secrets.push(("code", code.clone()));
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    fields.extend(credentials);
    let exchanged = form(&http, &token_url, &fields);
    secrets.push((
        "code's ID token",
        exchanged["id_token"].as_str().unwrap().into(),
    ));

    stop(served);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.lines().count() > 20, "too little was logged:\n{log}");
    for (what, secret) in &secrets {
        assert!(!log.contains(secret.as_str()), "the log holds the {what}");
    }
    // The Management API call's line: its id as answered, its template, its status.
    let line: serde_json::Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "answered" && l["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no line for request {request_id}:\n{log}"));
    assert_eq!(line["span"]["route"], "/api/v2/users");
    assert_eq!(line["span"]["method"], "POST");
    assert_eq!(line["status"], 201);
    // A token request names its client; no line names a raw path with a query.
    assert!(
        log.lines()
            .any(|l| l.contains("\"route\":\"/oauth/token\"") && l.contains(&client_id))
    );
    assert!(
        !log.contains("response_type=code"),
        "a raw query was logged"
    );
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).unwrap()[2..].to_owned()
}
