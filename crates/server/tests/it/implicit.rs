//! The implicit and hybrid flows and `response_mode=web_message`: tokens answered by
//! `/authorize` itself, `at_hash`/`c_hash` binding them to the ID token, and the page that posts
//! the answer to the parent window of an allowed web origin only.

use aws_lc_rs::digest;
use reqwest::StatusCode;
use serde_json::Value;
use sigil_core::UnixTime;

use crate::app::{API, CALLBACK, NOW, TestApp, WEB_ORIGIN};
use crate::browser::{Browser, CHALLENGE, log_in, param, urlencode};
use crate::password::userinfo;

/// `/authorize` for the SPA with `response_type` and `extra` parameters.
fn implicit_url(app: &TestApp, client: &str, response_type: &str, extra: &str) -> String {
    format!(
        "{}authorize?response_type={}&client_id={client}&redirect_uri={}&scope=openid%20profile&state=st-1{extra}",
        app.base,
        urlencode(response_type),
        urlencode(CALLBACK)
    )
}

/// The parameters in a callback URL's fragment.
fn fragment(location: &str) -> Vec<(String, String)> {
    let (base, fragment) = location
        .split_once('#')
        .unwrap_or_else(|| panic!("no fragment in {location}"));
    assert_eq!(base, CALLBACK, "{location}");
    serde_urlencoded::from_str(fragment).unwrap()
}

/// OIDC Core §3.3.2.11 for RS256: base64url of the left half of SHA-256.
fn half_sha256(value: &str) -> String {
    let hash = digest::digest(&digest::SHA256, value.as_bytes());
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(&hash.as_ref()[..16])
}

/// A browser with Ann's SSO session.
async fn logged_in(app: &TestApp) -> Browser {
    let mut browser = Browser::new();
    log_in(app, &mut browser, &app.native.to_string()).await;
    browser
}

#[tokio::test]
async fn each_response_type_answers_what_it_names() {
    let app = TestApp::start().await;
    let spa = app.spa.to_string();
    let mut browser = logged_in(&app).await;
    let verifier = app.verifier(&spa).await;
    let pkce = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");

    // (response_type, code, id_token, access_token)
    for (response_type, code, id_token, token) in [
        ("id_token", false, true, false),
        ("token", false, false, true),
        ("id_token token", false, true, true),
        ("token id_token", false, true, true),
        ("code id_token", true, true, false),
        ("code token", true, false, true),
        ("code id_token token", true, true, true),
    ] {
        let url = implicit_url(&app, &spa, response_type, &format!("&nonce=n-2{pkce}"));
        let page = browser.get(&url).await;
        assert_eq!(
            page.status,
            StatusCode::FOUND,
            "{response_type}: {}",
            page.body
        );
        let params = fragment(page.location());
        let get = |name: &str| param(&params, name).map(str::to_owned);
        assert_eq!(get("state").as_deref(), Some("st-1"), "{response_type}");
        assert_eq!(get("code").is_some(), code, "{response_type}");
        assert_eq!(get("id_token").is_some(), id_token, "{response_type}");
        assert_eq!(get("access_token").is_some(), token, "{response_type}");
        assert_eq!(get("refresh_token"), None, "{response_type}");
        if token {
            assert_eq!(
                get("token_type").as_deref(),
                Some("Bearer"),
                "{response_type}"
            );
            assert_eq!(
                get("expires_in").as_deref(),
                Some("86400"),
                "{response_type}"
            );
        }
        if let Some(id) = get("id_token") {
            let claims = verifier
                .verify::<Value>(&id, UnixTime(NOW))
                .unwrap_or_else(|e| panic!("{response_type}: {e}"))
                .claims;
            assert_eq!(claims["nonce"], "n-2", "{response_type}");
            assert_eq!(claims["auth_time"], NOW, "{response_type}");
            assert!(claims["sid"].is_string(), "{response_type}");
            assert!(claims["updated_at"].is_string(), "{response_type}");
            let expect = |name: &str| get(name).as_deref().map(half_sha256);
            assert_eq!(
                claims["at_hash"].as_str().map(str::to_owned),
                expect("access_token"),
                "{response_type}"
            );
            assert_eq!(
                claims["c_hash"].as_str().map(str::to_owned),
                expect("code"),
                "{response_type}"
            );
        }
        if let Some(access) = get("access_token") {
            let (status, _, body) = userinfo(&app, &access).await;
            assert_eq!(status, StatusCode::OK, "{response_type}: {body}");
            assert_eq!(body["sub"], app.ann.as_str(), "{response_type}");
        }
    }

    // An access token for an API, with its scopes, straight from /authorize.
    let url = implicit_url(
        &app,
        &spa,
        "token",
        &format!("&audience={}", urlencode(API)),
    );
    let page = browser.get(&url).await;
    let params = fragment(page.location());
    let access = param(&params, "access_token").unwrap();
    let claims = app
        .verifier(API)
        .await
        .verify::<Value>(access, UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(claims["azp"], spa.as_str());
}

#[tokio::test]
async fn implicit_requests_are_refused_as_oidc_says() {
    let app = TestApp::start().await;
    let spa = app.spa.to_string();
    let native = app.native.to_string();
    let mut browser = logged_in(&app).await;

    // (what, client, response_type, extra, error, where the error is sent)
    for (what, client, response_type, extra, error, in_fragment) in [
        (
            "id_token without nonce",
            &spa,
            "id_token",
            "",
            "invalid_request",
            true,
        ),
        (
            "tokens in the query",
            &spa,
            "id_token token",
            "&nonce=n&response_mode=query",
            "invalid_request",
            false,
        ),
        (
            "a client without the implicit grant",
            &native,
            "token",
            "",
            "unauthorized_client",
            true,
        ),
        (
            "id_token without openid",
            &spa,
            "id_token",
            "&nonce=n&scope=profile",
            "invalid_request",
            true,
        ),
        (
            "unknown word",
            &spa,
            "id_token refresh_token",
            "&nonce=n",
            "unsupported_response_type",
            false,
        ),
        (
            "a word twice",
            &spa,
            "token token",
            "",
            "unsupported_response_type",
            false,
        ),
        (
            "an unknown API",
            &spa,
            "token",
            "&audience=https%3A%2F%2Fnobody.example%2F",
            "access_denied",
            true,
        ),
    ] {
        // `scope` given twice would be a malformed request: the table's one replaces the default.
        let mut url = implicit_url(&app, client, response_type, extra);
        if extra.contains("&scope=") {
            url = url.replacen("&scope=openid%20profile", "", 1);
        }
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::FOUND, "{what}: {}", page.body);
        let location = page.location();
        let params: Vec<(String, String)> = if in_fragment {
            fragment(location)
        } else {
            let (_, query) = location.split_once('?').unwrap();
            serde_urlencoded::from_str(query).unwrap()
        };
        assert_eq!(param(&params, "error"), Some(error), "{what}: {location}");
        assert_eq!(param(&params, "state"), Some("st-1"), "{what}");
        assert_eq!(param(&params, "access_token"), None, "{what}");
    }
}

#[tokio::test]
async fn web_message_posts_the_answer_to_the_allowed_origin_only() {
    let app = TestApp::start().await;
    let spa = app.spa.to_string();
    let url = |state: &str| {
        format!(
            "{}authorize?response_type=code&client_id={spa}&redirect_uri={}&scope=openid&response_mode=web_message&prompt=none&state={}&nonce=n&code_challenge={CHALLENGE}&code_challenge_method=S256",
            app.base,
            urlencode(CALLBACK),
            urlencode(state)
        )
    };

    // No session: the error travels by message too, so the SDK's iframe hears it.
    let mut stranger = Browser::new();
    let page = stranger.get(&url("st")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(r#""error": "login_required""#),
        "{}",
        page.body
    );

    let mut browser = logged_in(&app).await;
    let page = browser.get(&url("</script><b>")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("authorization_response"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#""code": ""#), "{}", page.body);
    assert!(
        page.body.contains("postMessage(message, target)"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("\"{WEB_ORIGIN}\"")),
        "{}",
        page.body
    );
    // The state cannot end the script: JSON in the page escapes `<` and `>`.
    assert!(!page.body.contains("</script><b>"), "{}", page.body);
    assert_eq!(page.body.matches("</script>").count(), 1, "{}", page.body);
    // Framed by the web origin only.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("frame-ancestors {WEB_ORIGIN}"))
            && csp.contains("script-src 'nonce-"),
        "{csp}"
    );
    assert!(page.headers.get("x-frame-options").is_none());

    // A client whose web origins do not hold the redirect URI's origin: a page, no message.
    let native = app.native.to_string();
    let refused = browser.get(&url("st").replace(&spa, &native)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(!refused.body.contains("postMessage"), "{}", refused.body);
    assert_eq!(refused.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn post_login_shapes_the_tokens_authorize_answers_or_refuses_them() {
    let app = TestApp::start().await;
    let spa = app.spa.to_string();
    let mut browser = logged_in(&app).await;
    let verifier = app.verifier(&spa).await;
    let token = crate::actions::actions_token(&app).await;
    crate::actions::bind_only(
        &app,
        &token,
        "post-login",
        "claims",
        "exports.onExecutePostLogin = async (event, api) => {
            api.idToken.setCustomClaim('https://example.com/protocol', event.transaction.protocol);
            api.accessToken.setCustomClaim('https://example.com/client', event.client.client_id);
        };",
    )
    .await;
    let extra = format!(
        "&nonce=n-3&audience={}&code_challenge={CHALLENGE}&code_challenge_method=S256",
        urlencode(API)
    );
    // (response_type, the protocol post-login saw)
    for (response_type, protocol) in [
        ("id_token token", "oidc-implicit-profile"),
        ("code id_token token", "oidc-hybrid-profile"),
    ] {
        let page = browser
            .get(&implicit_url(&app, &spa, response_type, &extra))
            .await;
        assert_eq!(
            page.status,
            StatusCode::FOUND,
            "{response_type}: {}",
            page.body
        );
        let params = fragment(page.location());
        let id = verifier
            .verify::<Value>(param(&params, "id_token").unwrap(), UnixTime(NOW))
            .unwrap()
            .claims;
        assert_eq!(id["https://example.com/protocol"], protocol, "{id}");
        let access = app
            .verifier(API)
            .await
            .verify::<Value>(param(&params, "access_token").unwrap(), UnixTime(NOW))
            .unwrap()
            .claims;
        assert_eq!(
            access["https://example.com/client"],
            spa.as_str(),
            "{access}"
        );
    }

    // A deny answers access_denied in the fragment, with no token.
    crate::actions::bind_only(
        &app,
        &token,
        "post-login",
        "deny",
        "exports.onExecutePostLogin = async (event, api) => { api.access.deny('Not today.'); };",
    )
    .await;
    let page = browser
        .get(&implicit_url(&app, &spa, "id_token token", &extra))
        .await;
    let params = fragment(page.location());
    assert_eq!(param(&params, "error"), Some("access_denied"), "{params:?}");
    assert_eq!(param(&params, "error_description"), Some("Not today."));
    assert_eq!(param(&params, "access_token"), None);
    assert_eq!(param(&params, "state"), Some("st-1"));
}
