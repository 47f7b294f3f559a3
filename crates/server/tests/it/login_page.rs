//! The login page's Content-Security-Policy as a browser enforces it: `form-action` governs the
//! redirects that follow a form's submission too, so the login form must allow the origin of
//! the client's redirect URI, where a successful login sends the browser. Found by
//! scripts/browser-tests: Chromium stopped the redirect back to auth0-spa-js's application.

use reqwest::StatusCode;
use sigil_core::Store as _;

use crate::app::{PASSWORD, TestApp};
use crate::browser::{Browser, CHALLENGE, Page, urlencode};

/// The `form-action` directive of a page's Content-Security-Policy.
fn form_action(page: &Page) -> String {
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    csp.split(';')
        .map(str::trim)
        .find(|d| d.starts_with("form-action "))
        .unwrap_or_else(|| panic!("no form-action in {csp}"))
        .to_owned()
}

#[tokio::test]
async fn the_login_form_may_redirect_to_the_clients_redirect_uri_and_nowhere_else() {
    // (the client's redirect URI, the form-action the login page must send)
    let table = [
        (
            "https://app.example.com/callback",
            "form-action 'self' https://app.example.com",
        ),
        (
            "http://localhost:3000/",
            "form-action 'self' http://localhost:3000",
        ),
        (
            "https://app.example.com:8443/cb?x=1",
            "form-action 'self' https://app.example.com:8443",
        ),
        // A native application's private-use scheme (RFC 8252 §7.1): the scheme itself.
        (
            "com.example.app:/callback",
            "form-action 'self' com.example.app:",
        ),
    ];
    let app = TestApp::start().await;
    for (redirect_uri, expected) in table {
        let mut client = app.store.client(&app.native).await.unwrap().unwrap();
        client.settings.callbacks = vec![redirect_uri.to_owned()];
        app.store.update_client(&client).await.unwrap();
        let mut browser = Browser::new();
        let start = browser
            .get(&format!(
                "{}authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s\
                 &code_challenge={CHALLENGE}&code_challenge_method=S256",
                app.base,
                app.native,
                urlencode(redirect_uri)
            ))
            .await;
        assert_eq!(
            start.status,
            StatusCode::FOUND,
            "{redirect_uri}: {}",
            start.body
        );
        let form = browser.get(start.location()).await;
        assert_eq!(form.status, StatusCode::OK, "{redirect_uri}");
        assert_eq!(
            form_action(&form),
            expected,
            "{redirect_uri}: the login page"
        );

        // The form shown again after a wrong password says the same.
        let tx = form.field("tx");
        let wrong = browser
            .submit_login(&app, &tx, "ann@example.com", "nope")
            .await;
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{redirect_uri}");
        assert_eq!(
            form_action(&wrong),
            expected,
            "{redirect_uri}: after a wrong password"
        );

        // And the redirect a successful login answers with is one that form-action allows.
        let tx = wrong.field("tx");
        let done = browser
            .submit_login(&app, &tx, "ann@example.com", PASSWORD)
            .await;
        assert_eq!(
            done.status,
            StatusCode::FOUND,
            "{redirect_uri}: {}",
            done.body
        );
        let allowed = expected.rsplit(' ').next().unwrap();
        assert!(
            done.location().starts_with(allowed),
            "{redirect_uri}: {} is outside {allowed}",
            done.location()
        );
    }
}

#[tokio::test]
async fn pages_without_a_form_to_the_client_allow_only_sigil_itself() {
    let app = TestApp::start().await;
    let mut browser = Browser::new();
    // The error page (an expired or forged login transaction) and the logged-out page.
    for url in [app.url("u/login?tx=forged"), app.url("v2/logout")] {
        let page = browser.get(&url).await;
        assert_eq!(form_action(&page), "form-action 'self'", "{url}");
    }
}
