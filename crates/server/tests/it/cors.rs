//! CORS on `/oauth/token`, `/oauth/revoke`, `/userinfo` and the MFA API: for the origins clients list
//! (`web_origins`, `allowed_origins`) and no others, on those paths and no others, with the
//! allowed origins read through the cache's bound.

use reqwest::{Method, StatusCode};
use sigil_core::ids::ClientId;
use sigil_core::model::{AppType, Client, ClientSettings};
use sigil_core::{Store, SystemRng, UnixTime};
use sigil_server::CACHE_TTL;

use crate::app::{NOW, TestApp};

const WEB_ORIGIN: &str = "https://spa.example.com";
const CORS_ORIGIN: &str = "https://cors.example.com";
const STRANGER: &str = "https://evil.example.com";

/// A single-page app allowed `web_origins` and `allowed_origins`.
async fn spa(app: &TestApp, web_origins: &[&str], allowed_origins: &[&str]) -> Client {
    let mut settings = ClientSettings::for_type(AppType::Spa);
    settings.web_origins = web_origins.iter().map(|o| (*o).to_owned()).collect();
    settings.allowed_origins = allowed_origins.iter().map(|o| (*o).to_owned()).collect();
    let client = Client {
        client_id: ClientId::generate(&SystemRng),
        name: "SPA".to_owned(),
        app_type: AppType::Spa,
        is_first_party: true,
        secret_digest: None,
        signing_secret: None,
        settings,
        created_at: UnixTime(NOW),
        updated_at: UnixTime(NOW),
    };
    app.store.create_client(&client).await.unwrap();
    client
}

/// A preflight for `method` on `path` from `origin`, asking for the headers SDKs send.
async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "auth0-client,content-type,dpop,authorization",
        )
        .send()
        .await
        .unwrap()
}

/// The actual request a browser would send after the preflight.
async fn actual(
    app: &TestApp,
    path: &str,
    method: &str,
    origin: Option<&str>,
) -> reqwest::Response {
    let mut request = match method {
        "GET" => app.http.get(app.url(path)),
        "DELETE" => app.http.delete(app.url(path)),
        _ => app
            .http
            .post(app.url(path))
            .header("content-type", "application/json")
            .body("{}"),
    };
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn varies_on_origin(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case("origin"))
        })
}

#[tokio::test]
async fn browser_endpoints_answer_cors_for_client_origins_only() {
    let app = TestApp::start().await;
    spa(&app, &[WEB_ORIGIN], &[CORS_ORIGIN]).await;
    // (path, the method browsers use, the methods allowed)
    let paths = [
        ("oauth/token", "POST", "POST"),
        ("oauth/revoke", "POST", "POST"),
        ("userinfo", "GET", "GET, POST"),
        ("mfa/authenticators", "GET", "GET"),
        ("mfa/authenticators/totp%7Cdev_x", "DELETE", "DELETE"),
        ("mfa/associate", "POST", "POST"),
        ("mfa/challenge", "POST", "POST"),
    ];
    for (path, method, allowed_methods) in paths {
        for origin in [WEB_ORIGIN, CORS_ORIGIN] {
            let what = format!("{method} {path} from {origin}");
            let response = preflight(&app, path, origin, method).await;
            assert_eq!(response.status(), StatusCode::NO_CONTENT, "{what}");
            assert_eq!(
                header(&response, "access-control-allow-origin"),
                Some(origin),
                "{what}"
            );
            assert_eq!(
                header(&response, "access-control-allow-methods"),
                Some(allowed_methods),
                "{what}"
            );
            let allowed_headers = header(&response, "access-control-allow-headers").unwrap_or("");
            for wanted in ["auth0-client", "content-type", "dpop", "authorization"] {
                assert!(
                    allowed_headers.contains(wanted),
                    "{what}: {allowed_headers}"
                );
            }
            assert_eq!(
                header(&response, "access-control-max-age"),
                Some("7200"),
                "{what}"
            );
            assert_eq!(
                header(&response, "access-control-allow-credentials"),
                None,
                "{what}"
            );
            assert!(varies_on_origin(&response), "{what}");

            // The actual request is answered as usual (here: refused, for want of
            // credentials), readable by the page.
            let response = actual(&app, path, method, Some(origin)).await;
            assert!(response.status().is_client_error(), "{what}");
            assert_eq!(
                header(&response, "access-control-allow-origin"),
                Some(origin),
                "{what}"
            );
            assert!(varies_on_origin(&response), "{what}");
        }

        let what = format!("{method} {path} from a stranger");
        let response = preflight(&app, path, STRANGER, method).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        for name in [
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-headers",
            "access-control-max-age",
        ] {
            assert_eq!(header(&response, name), None, "{what}: {name}");
        }
        let response = actual(&app, path, method, Some(STRANGER)).await;
        assert!(response.status().is_client_error(), "{what}");
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "{what}"
        );
        assert!(varies_on_origin(&response), "{what}");

        // Without Origin, nothing about CORS; an OPTIONS that is not a preflight is the
        // router's (405).
        let what = format!("{method} {path} without Origin");
        let response = actual(&app, path, method, None).await;
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "{what}"
        );
        assert!(varies_on_origin(&response), "{what}");
        let response = app
            .http
            .request(Method::OPTIONS, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{what}");
    }
}

#[tokio::test]
async fn other_paths_answer_no_cors_even_to_client_origins() {
    let app = TestApp::start().await;
    spa(&app, &[WEB_ORIGIN], &[]).await;
    for path in [
        "authorize",
        "u/login",
        ".well-known/openid-configuration",
        "dbconnections/signup",
        "v2/logout",
    ] {
        let response = preflight(&app, path, WEB_ORIGIN, "POST").await;
        assert_ne!(response.status(), StatusCode::NO_CONTENT, "OPTIONS {path}");
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "OPTIONS {path}"
        );
        let response = app
            .http
            .get(app.url(path))
            .header("origin", WEB_ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "GET {path}"
        );
    }
}

#[tokio::test]
async fn a_new_origin_is_allowed_within_the_cache_bound_and_a_removed_one_goes_as_fast() {
    let app = TestApp::start().await;
    let mut client = spa(&app, &[WEB_ORIGIN], &[]).await;
    let later = "https://later.example.com";
    // Read (and cached) before the change.
    let response = preflight(&app, "oauth/token", later, "POST").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    client.settings.web_origins = vec![later.to_owned()];
    app.store.update_client(&client).await.unwrap();
    // Within the bound the cached set answers (no database round trip per request)...
    app.clock.advance(CACHE_TTL - 1);
    let response = preflight(&app, "oauth/token", later, "POST").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "cached");
    // ...and once it has passed, the store does.
    app.clock.advance(1);
    let response = preflight(&app, "oauth/token", later, "POST").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(later)
    );
    let response = preflight(&app, "oauth/token", WEB_ORIGIN, "POST").await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "the removed origin"
    );
    let response = actual(&app, "oauth/token", "POST", Some(WEB_ORIGIN)).await;
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}
