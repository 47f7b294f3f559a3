//! The hosted pages' look: `/api/v2/branding` (Auth0's shape, checked values), the brand on
//! every page with a Content-Security-Policy naming only its origins, the application's logo,
//! and an operator's template directory replacing the built-in pages.

use reqwest::StatusCode;
use serde_json::json;
use sigil_core::Store;
use sigil_core::model::TenantSettings;

use crate::app::TestApp;
use crate::browser::{Browser, Page, authorize_url};
use crate::management::{assert_error, audience, call, sapi_count, token_for};

/// The login page a browser gets for the native client.
async fn login_page(app: &TestApp) -> Page {
    let mut browser = Browser::new();
    let start = browser
        .get(&authorize_url(app, app.native.as_str(), ""))
        .await;
    assert_eq!(start.status, StatusCode::FOUND);
    let page = browser.get(start.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

fn csp(page: &Page) -> &str {
    page.headers["content-security-policy"].to_str().unwrap()
}

#[tokio::test]
async fn branding_is_read_patched_checked_and_logged() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["read:branding", "update:branding"]).await;
    let t = Some(token.as_str());

    let (status, empty) = call(&app, "GET", "/branding", t, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty, json!({"colors": {}}));

    let set = json!({
        "colors": {"primary": "#0059d6", "page_background": "#101820"},
        "logo_url": "https://cdn.example.com/logo.png",
        "favicon_url": "https://cdn.example.com/icon.png",
        "font": {"url": "https://fonts.example.net/brand.woff2"},
    });
    let (status, patched) = call(&app, "PATCH", "/branding", t, Some(set.clone())).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched, set);
    let (_, read) = call(&app, "GET", "/branding", t, None).await;
    assert_eq!(read, set);
    let (_, cleared) = call(
        &app,
        "PATCH",
        "/branding",
        t,
        Some(json!({"favicon_url": null})),
    )
    .await;
    assert!(cleared.get("favicon_url").is_none(), "{cleared}");
    assert_eq!(cleared["colors"], set["colors"]);

    let refusals = [
        (json!({"colors": {"primary": "blue"}}), "colors.primary"),
        (
            json!({"colors": {"page_background": "#fff}</style>"}}),
            "colors.page_background",
        ),
        (
            json!({"logo_url": "http://cdn.example.com/logo.png"}),
            "logo_url",
        ),
        (json!({"font": {"url": "javascript:x"}}), "font.url"),
        (json!({"universal_login": {}}), "universal_login"),
    ];
    for (body, field) in refusals {
        let answer = call(&app, "PATCH", "/branding", t, Some(body)).await;
        assert_error(&answer, 400, "invalid_body");
        assert!(
            answer.1["message"].as_str().unwrap().contains(field),
            "{}",
            answer.1
        );
    }
    let reader = token_for(&app, &audience(&app), &["read:branding"]).await;
    assert_error(
        &call(&app, "PATCH", "/branding", Some(&reader), Some(json!({}))).await,
        403,
        "insufficient_scope",
    );

    // The tenant settings do not show the branding: it is /branding's.
    let settings = token_for(&app, &audience(&app), &["read:tenant_settings"]).await;
    let (_, tenant) = call(&app, "GET", "/tenants/settings", Some(&settings), None).await;
    assert!(tenant.get("branding").is_none(), "{tenant}");

    let logged = sapi_count(&app).await;
    assert_eq!(logged, 2, "two changes");
}

#[tokio::test]
async fn pages_wear_the_brand_and_allow_only_its_origins() {
    let app = TestApp::start().await;
    let plain = login_page(&app).await;
    assert!(
        plain.body.contains("<p>Sigil</p>"),
        "the default name: {}",
        plain.body
    );
    assert!(!csp(&plain).contains("img-src"), "{}", csp(&plain));

    let token = token_for(
        &app,
        &audience(&app),
        &["update:branding", "update:tenant_settings"],
    )
    .await;
    let t = Some(token.as_str());
    for (path, body) in [
        (
            "/tenants/settings",
            json!({"friendly_name": "Example & Co"}),
        ),
        (
            "/branding",
            json!({"colors": {"primary": "#ffe600", "page_background": "#101820"},
                   "logo_url": "https://cdn.example.com/logo.png?v=2",
                   "font": {"url": "https://fonts.example.net/brand.woff2"}}),
        ),
    ] {
        let (status, answer) = call(&app, "PATCH", path, t, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    // This node shows its own change at once.
    let page = login_page(&app).await;
    let body = &page.body;
    assert!(body.contains("<title>Log in to"), "{body}");
    assert!(
        body.contains("Example &amp; Co"),
        "the name, escaped: {body}"
    );
    assert!(
        body.contains(r#"<img src="https:&#x2f;&#x2f;cdn.example.com&#x2f;logo.png?v=2" alt="Example &amp; Co">"#),
        "{body}"
    );
    assert!(body.contains("--primary: #ffe600"), "{body}");
    assert!(
        body.contains("--on-primary: #000000"),
        "dark text on a light button: {body}"
    );
    assert!(body.contains("--background: #101820"), "{body}");
    assert!(
        body.contains(r#"src: url("https://fonts.example.net/brand.woff2")"#),
        "the font URL unescaped in the style sheet: {body}"
    );
    let policy = csp(&page);
    assert!(
        policy.contains("img-src https://cdn.example.com"),
        "{policy}"
    );
    assert!(
        policy.contains("font-src https://fonts.example.net"),
        "{policy}"
    );
    assert!(
        !policy.contains("img-src *") && !policy.contains("https:;"),
        "{policy}"
    );

    // Another node's change (written straight to the store) shows within the cache's bound.
    let mut settings: TenantSettings = app.store.tenant_settings().await.unwrap().unwrap();
    settings.friendly_name = "Renamed Elsewhere".to_owned();
    app.store
        .put_tenant_settings(&settings, sigil_core::UnixTime(app.clock_now()))
        .await
        .unwrap();
    assert!(!login_page(&app).await.body.contains("Renamed Elsewhere"));
    app.clock.advance(sigil_server::CACHE_TTL + 1);
    assert!(login_page(&app).await.body.contains("Renamed Elsewhere"));
}

#[tokio::test]
async fn the_login_page_shows_the_applications_logo() {
    let app = TestApp::start().await;
    let mut client = app.store.client(&app.native).await.unwrap().unwrap();
    client.settings.logo_uri = Some("https://apps.example.org/app.png".to_owned());
    app.store.update_client(&client).await.unwrap();
    let page = login_page(&app).await;
    assert!(
        page.body.contains(
            r#"<img class="app-logo" src="https:&#x2f;&#x2f;apps.example.org&#x2f;app.png" alt="">"#
        ),
        "{}",
        page.body
    );
    assert!(
        csp(&page).contains("img-src https://apps.example.org"),
        "{}",
        csp(&page)
    );
}

#[tokio::test]
async fn an_operators_templates_replace_the_built_in_pages() {
    let dir = std::env::temp_dir().join(format!("sigil-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("error.html"),
        "{% extends \"base.html\" %}{% block main %}<h1>Oops at {{ brand.name }}</h1>\
         <p role=\"alert\">{{ message }}</p>{% endblock %}",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a template").unwrap();
    let app = TestApp::start_with_templates(Some(&dir)).await;
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}authorize", app.base)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("<h1>Oops at Sigil</h1>"),
        "{}",
        page.body
    );
    // The pages it does not replace stay the built-in ones.
    assert!(login_page(&app).await.body.contains("Log in to continue"));
    std::fs::remove_dir_all(&dir).unwrap();
}
