//! The browser flow: `/authorize` → the hosted login page → a code at the callback, the SSO
//! session that skips the form next time, and every way the flow refuses.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;
use sigil_core::UnixTime;

use crate::app::{Body, CALLBACK, LOGOUT_URL, NOW, PASSWORD, TestApp, post};

pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A browser: no automatic redirects, cookies kept by hand.
pub(crate) struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }

    /// A hidden field's value in an HTML form, unescaped as a browser reads it.
    pub(crate) fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            + marker.len();
        let raw = self.body[start..].split('"').next().unwrap();
        [
            ("&#x2f;", "/"),
            ("&quot;", "\""),
            ("&#x27;", "'"),
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("&amp;", "&"),
        ]
        .iter()
        .fold(raw.to_owned(), |text, (entity, plain)| {
            text.replace(entity, plain)
        })
    }
}

impl Browser {
    pub(crate) fn new() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    /// The value of the cookie `name`, if the browser holds it.
    pub(crate) fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets the cookie `name` by hand, as someone replaying a request would.
    pub(crate) fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        self.cookies.push((name.to_owned(), value.to_owned()));
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub(crate) async fn get(&mut self, url: &str) -> Page {
        let response = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.page(response).await
    }

    pub(crate) async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.page(response).await
    }

    /// Posts the hosted login form: the sealed transaction `tx` and the credentials.
    pub(crate) async fn submit_login(
        &mut self,
        app: &TestApp,
        tx: &str,
        username: &str,
        password: &str,
    ) -> Page {
        self.post_form(
            &app.url("u/login"),
            &[("tx", tx), ("username", username), ("password", password)],
        )
        .await
    }

    async fn page(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        Page {
            status,
            headers,
            body: response.text().await.unwrap(),
        }
    }
}

pub(crate) fn authorize_url(app: &TestApp, client: &str, extra: &str) -> String {
    format!(
        "{}authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid%20email&state=xyz&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        app.base,
        urlencode(CALLBACK)
    )
}

pub(crate) fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}

/// The query parameters of a callback URL.
pub(crate) fn callback_params(location: &str) -> Vec<(String, String)> {
    let (base, query) = location.split_once('?').unwrap_or((location, ""));
    assert_eq!(base, CALLBACK, "{location}");
    serde_urlencoded::from_str(query).unwrap()
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_user_logs_in_on_the_hosted_page_and_the_session_skips_it_next_time() {
    let app = TestApp::start().await;
    let native = app.native.to_string();
    let mut browser = Browser::new();

    let start = browser.get(&authorize_url(&app, &native, "")).await;
    assert_eq!(start.status, StatusCode::FOUND);
    assert!(
        start
            .location()
            .starts_with(&format!("{}u/login?tx=", app.base)),
        "{}",
        start.location()
    );

    let form = browser.get(start.location()).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<form method=\"post\""), "{}", form.body);
    assert!(form.body.contains("name=\"username\"") && form.body.contains("name=\"password\""));
    assert_eq!(form.headers["x-frame-options"], "DENY");
    let tx = form.field("tx");

    // A wrong password: the form again, with the message and the typed username.
    let wrong = browser
        .submit_login(&app, &tx, "ann@example.com", "nope")
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.body.contains("Wrong email or password."),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("value=\"ann@example.com\""));
    let tx = wrong.field("tx");
    let csrf = browser.cookie("sigil_csrf").unwrap().to_owned();

    let done = browser
        .submit_login(&app, &tx, "ann@example.com", PASSWORD)
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let session_cookie = done
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sigil_session="))
        .expect("a session cookie");
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"),
        "{session_cookie}"
    );
    let params = callback_params(done.location());
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert_eq!(param(&params, "iss"), Some(app.url("").as_str()));
    let code = param(&params, "code").unwrap().to_owned();

    // A transaction yields one login: posting it again, even with the right password and the
    // CSRF cookie the login cleared, is refused with the error page and no second code.
    browser.set_cookie("sigil_csrf", &csrf);
    let replay = browser
        .submit_login(&app, &tx, "ann@example.com", PASSWORD)
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.headers.get(LOCATION).is_none());
    assert!(replay.body.contains("already been used"), "{}", replay.body);
    // max_age=0 asks for a fresh login even in the second the session began.
    let fresh = browser
        .get(&authorize_url(&app, &native, "&max_age=0"))
        .await;
    assert!(
        fresh.location().contains("/u/login?tx="),
        "{}",
        fresh.location()
    );

    let tokens = redeem_code(&app, &native, code).await;
    let id = app
        .verifier(&native)
        .await
        .verify::<Value>(tokens["id_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(
        (id["nonce"].as_str(), id["auth_time"].as_i64()),
        (Some("n-1"), Some(NOW))
    );
    assert!(id["sid"].is_string());
    assert_eq!(id["email"], "ann@example.com");

    // The session answers the next request, for another client too, without the form.
    let backend = app.backend.0.to_string();
    for client in [&native, &backend] {
        let again = browser.get(&authorize_url(&app, client, "")).await;
        assert_eq!(again.status, StatusCode::FOUND, "{client}");
        assert!(
            param(&callback_params(again.location()), "code").is_some(),
            "{}",
            again.location()
        );
    }
    // prompt=login asks again; prompt=none answers silently.
    let forced = browser
        .get(&authorize_url(&app, &native, "&prompt=login"))
        .await;
    assert!(
        forced.location().contains("/u/login?tx="),
        "{}",
        forced.location()
    );
    let silent = browser
        .get(&authorize_url(&app, &native, "&prompt=none"))
        .await;
    assert!(param(&callback_params(silent.location()), "code").is_some());
    // max_age=0 once time has passed means logging in again.
    app.clock.advance(10);
    let stale = browser
        .get(&authorize_url(&app, &native, "&max_age=5"))
        .await;
    assert!(
        stale.location().contains("/u/login?tx="),
        "{}",
        stale.location()
    );
}

#[tokio::test]
async fn the_flow_refuses_what_it_must() {
    let app = TestApp::start().await;
    let native = app.native.to_string();
    let mut browser = Browser::new();

    // Before the redirect URI is trusted: a page, never a redirect.
    for (what, url) in [
        (
            "unregistered redirect_uri",
            authorize_url(&app, &native, "").replace(
                &urlencode(CALLBACK),
                &urlencode("https://evil.example/callback"),
            ),
        ),
        (
            "redirect_uri with a suffix",
            authorize_url(&app, &native, "").replace(
                &urlencode(CALLBACK),
                &urlencode("https://app.example.com/callback/x"),
            ),
        ),
        ("unknown client", authorize_url(&app, "nobody", "")),
        (
            "repeated parameter",
            authorize_url(&app, &native, "&state=again"),
        ),
    ] {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{what}");
        assert!(page.headers.get(LOCATION).is_none(), "{what}");
        assert!(
            page.body.contains("Something went wrong"),
            "{what}: {}",
            page.body
        );
    }
    // After it: errors go to the client with its state.
    for (what, url, error) in [
        (
            "prompt=none without a session",
            authorize_url(&app, &native, "&prompt=none"),
            "login_required",
        ),
        (
            "public client without PKCE",
            authorize_url(&app, &native, "")
                .replace("&code_challenge_method=S256", "")
                .replace(&format!("&code_challenge={CHALLENGE}"), ""),
            "invalid_request",
        ),
        (
            "unknown response type",
            authorize_url(&app, &native, "")
                .replace("response_type=code", "response_type=code%20code"),
            "unsupported_response_type",
        ),
        (
            "plain PKCE",
            authorize_url(&app, &native, "")
                .replace("code_challenge_method=S256", "code_challenge_method=plain"),
            "invalid_request",
        ),
        (
            "a one-character code_challenge",
            authorize_url(&app, &native, "")
                .replace(&format!("code_challenge={CHALLENGE}"), "code_challenge=x"),
            "invalid_request",
        ),
        (
            "a code_challenge of 129 characters",
            authorize_url(&app, &native, "").replace(
                &format!("code_challenge={CHALLENGE}"),
                &format!("code_challenge={}", "a".repeat(129)),
            ),
            "invalid_request",
        ),
        (
            "a code_challenge outside the unreserved set",
            authorize_url(&app, &native, "").replace(
                &format!("code_challenge={CHALLENGE}"),
                &format!("code_challenge={}%2B", &CHALLENGE[1..]),
            ),
            "invalid_request",
        ),
    ] {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::FOUND, "{what}: {}", page.body);
        let params = callback_params(page.location());
        assert_eq!(
            (param(&params, "error"), param(&params, "state")),
            (Some(error), Some("xyz")),
            "{what}"
        );
        // The mix-up defence (RFC 9207): errors name their issuer too.
        assert_eq!(param(&params, "iss"), Some(app.url("").as_str()), "{what}");
    }

    // Malformed query strings on the pages: the error page, not a bare line of text.
    for path in [
        "u/login?tx=a&tx=b",
        "v2/logout?returnTo=a&returnTo=b",
        "oidc/logout?state=a&state=b",
    ] {
        let page = browser.get(&app.url(path)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            page.body.contains("The request is malformed"),
            "{path}: {}",
            page.body
        );
        assert_eq!(page.headers["x-frame-options"], "DENY", "{path}");
    }

    // The login form posted without the CSRF cookie it was shown with.
    let start = browser.get(&authorize_url(&app, &native, "")).await;
    let form = browser.get(start.location()).await;
    let tx = form.field("tx");
    let mut stranger = Browser::new();
    let forged = stranger
        .submit_login(&app, &tx, "ann@example.com", PASSWORD)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A tampered transaction, and an expired one.
    let tampered = browser
        .submit_login(&app, &format!("x{tx}"), "ann@example.com", PASSWORD)
        .await;
    assert_eq!(tampered.status, StatusCode::BAD_REQUEST);
    app.clock.advance(3601);
    let late = browser
        .submit_login(&app, &tx, "ann@example.com", PASSWORD)
        .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert!(late.body.contains("expired"), "{}", late.body);
}

#[tokio::test]
async fn form_post_answers_with_a_self_submitting_form() {
    let app = TestApp::start().await;
    let native = app.native.to_string();
    let mut browser = Browser::new();
    let start = browser
        .get(&authorize_url(&app, &native, "&response_mode=form_post"))
        .await;
    let form = browser.get(start.location()).await;
    let tx = form.field("tx");
    let done = browser
        .submit_login(&app, &tx, "ann@example.com", PASSWORD)
        .await;
    assert_eq!(done.status, StatusCode::OK);
    // minijinja escapes `/` as `&#x2f;` in attributes, which browsers read back as `/`.
    let html = done.body.replace("&#x2f;", "/");
    assert!(html.contains(&format!("action=\"{CALLBACK}\"")), "{html}");
    assert_eq!(done.field("state"), "xyz");
    assert!(!done.field("code").is_empty());
    let csp = done.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
}

/// Logs Ann in through the hosted page for `client` and returns the tokens of the code.
/// The tokens for `code`, redeemed by `client` with [`VERIFIER`] (the answer must be 200).
pub(crate) async fn redeem_code(app: &TestApp, client: &str, code: String) -> Value {
    let (status, _, tokens) = post(
        app,
        Body::Form(vec![
            ("grant_type", "authorization_code".into()),
            ("client_id", client.to_owned()),
            ("code", code),
            ("redirect_uri", CALLBACK.into()),
            ("code_verifier", VERIFIER.into()),
        ]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

pub(crate) async fn log_in(app: &TestApp, browser: &mut Browser, client: &str) -> Value {
    let start = browser.get(&authorize_url(app, client, "")).await;
    let form = browser.get(start.location()).await;
    let tx = form.field("tx");
    let done = browser
        .submit_login(app, &tx, "ann@example.com", PASSWORD)
        .await;
    let code = param(&callback_params(done.location()), "code")
        .unwrap()
        .to_owned();
    redeem_code(app, client, code).await
}

#[tokio::test]
async fn logout_ends_the_session_and_redirects_only_to_allowed_urls() {
    let app = TestApp::start().await;
    let native = app.native.to_string();
    let mut browser = Browser::new();
    log_in(&app, &mut browser, &native).await;

    // Not an allowed URL: a page, and the session stays.
    let refused = browser
        .get(&format!(
            "{}v2/logout?client_id={native}&returnTo={}",
            app.base,
            urlencode("https://evil.example/")
        ))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.headers.get(LOCATION).is_none());
    let silent = browser
        .get(&authorize_url(&app, &native, "&prompt=none"))
        .await;
    assert!(param(&callback_params(silent.location()), "code").is_some());

    let out = browser
        .get(&format!(
            "{}v2/logout?client_id={native}&returnTo={}",
            app.base,
            urlencode(LOGOUT_URL)
        ))
        .await;
    assert_eq!(
        (out.status, out.location()),
        (StatusCode::FOUND, LOGOUT_URL)
    );
    let silent = browser
        .get(&authorize_url(&app, &native, "&prompt=none"))
        .await;
    assert_eq!(
        param(&callback_params(silent.location()), "error"),
        Some("login_required")
    );
    // Without returnTo: a page that says so.
    let page = browser.get(&app.url("v2/logout")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("You are logged out"));
}

#[tokio::test]
async fn oidc_logout_takes_the_id_token_as_hint() {
    let app = TestApp::start().await;
    let native = app.native.to_string();
    let mut browser = Browser::new();
    let tokens = log_in(&app, &mut browser, &native).await;
    let hint = tokens["id_token"].as_str().unwrap();

    let forged = format!("{}x", &hint[..hint.len() - 1]);
    let refused = browser
        .get(&format!(
            "{}oidc/logout?id_token_hint={forged}&post_logout_redirect_uri={}",
            app.base,
            urlencode(LOGOUT_URL)
        ))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.headers.get(LOCATION).is_none());

    // An expired hint is still a fine way to say who is logging out.
    app.clock.advance(40_000);
    let out = browser
        .get(&format!(
            "{}oidc/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=s1",
            app.base,
            urlencode(LOGOUT_URL)
        ))
        .await;
    assert_eq!(out.status, StatusCode::FOUND, "{}", out.body);
    assert_eq!(out.location(), format!("{LOGOUT_URL}?state=s1"));
    let silent = browser
        .get(&authorize_url(&app, &native, "&prompt=none"))
        .await;
    assert_eq!(
        param(&callback_params(silent.location()), "error"),
        Some("login_required")
    );
}

#[tokio::test]
async fn using_the_session_extends_its_idle_life_but_not_its_absolute_end() {
    let app = TestApp::start().await;
    let native = app.native.to_string();
    let mut browser = Browser::new();
    log_in(&app, &mut browser, &native).await;
    let silent = |params: Vec<(String, String)>| param(&params, "code").is_some();

    // Idle lifetime 72 h, absolute 168 h (Auth0's defaults).
    for (hours, alive) in [(71, true), (71, true), (25, true), (2, false)] {
        app.clock.advance(hours * 3600);
        let page = browser
            .get(&authorize_url(&app, &native, "&prompt=none"))
            .await;
        assert_eq!(
            silent(callback_params(page.location())),
            alive,
            "after {hours} more hours: {}",
            page.location()
        );
    }
}
