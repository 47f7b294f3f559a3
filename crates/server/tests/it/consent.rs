//! The consent page for third-party applications: asked after the login (or the SSO session)
//! when an API is requested, the scopes shown with the API's descriptions, the decision kept
//! as a grant, `prompt=consent` and `prompt=none`, Decline, forged forms, and first parties.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde_json::Value;
use sigil_core::ids::{ClientId, ResourceServerId};
use sigil_core::model::{AppType, GrantType, ResourceServer, ResourceServerScope};
use sigil_core::{Store, SystemRng, UnixTime};

use crate::app::{Body, CALLBACK, NOW, PASSWORD, TestApp, client, grant, post};
use crate::browser::{Browser, CHALLENGE, Page, param, redeem_code, urlencode};
use crate::management::{audience, call, token_for};

/// An API with described scopes, which lets first parties skip consent (the default).
const POSTS: &str = "https://posts.example.com/";
/// An API that asks first parties too.
const STRICT: &str = "https://strict.example.com/";

async fn posts_api(app: &TestApp, identifier: &str, skip_for_first_parties: bool) {
    let mut api = ResourceServer::new(
        ResourceServerId::generate(&SystemRng),
        identifier.to_owned(),
        "Posts".to_owned(),
        UnixTime(NOW),
    );
    api.scopes = [
        ("read:posts", "Read your posts"),
        ("write:posts", "Publish posts as you"),
        ("delete:posts", ""),
    ]
    .iter()
    .map(|(value, description)| ResourceServerScope {
        value: (*value).to_owned(),
        description: (*description).to_owned(),
    })
    .collect();
    api.skip_consent_for_verifiable_first_party_clients = skip_for_first_parties;
    app.store.create_resource_server(&api).await.unwrap();
}

/// A third-party public (native) client allowed the code grant.
async fn partner(app: &TestApp) -> ClientId {
    let (id, _) = client(
        &app.store,
        AppType::Native,
        vec![GrantType::AuthorizationCode],
    )
    .await;
    let mut third = app.store.client(&id).await.unwrap().unwrap();
    third.is_first_party = false;
    third.name = "Partner App".to_owned();
    app.store.update_client(&third).await.unwrap();
    id
}

/// The two APIs and a third-party client.
async fn setup(app: &TestApp) -> ClientId {
    posts_api(app, POSTS, true).await;
    posts_api(app, STRICT, false).await;
    partner(app).await
}

fn authorize_url(app: &TestApp, client: &ClientId, scope: &str, extra: &str) -> String {
    format!(
        "{}authorize?response_type=code&client_id={client}&redirect_uri={}&scope={}&audience={}&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        app.base,
        urlencode(CALLBACK),
        urlencode(scope),
        urlencode(POSTS),
    )
}

/// The query parameters of a redirect to the callback.
fn callback(page: &Page) -> Vec<(String, String)> {
    let location = page.location();
    let (base, query) = location.split_once('?').unwrap_or((location, ""));
    assert_eq!(base, CALLBACK, "{location}: {}", page.body);
    serde_urlencoded::from_str(query).unwrap()
}

fn goes_to_consent(app: &TestApp, page: &Page) -> bool {
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    page.location()
        .starts_with(&format!("{}u/consent?state=", app.base))
}

/// Follows `/authorize` at `url` through the login form as Ann; the answer to the login.
async fn log_in(app: &TestApp, browser: &mut Browser, url: &str) -> Page {
    let start = browser.get(url).await;
    assert!(
        start.location().contains("/u/login?tx="),
        "{}",
        start.location()
    );
    let form = browser.get(start.location()).await;
    let tx = form.field("tx");
    browser
        .submit_login(app, &tx, "ann@example.com", PASSWORD)
        .await
}

/// Answers the consent page at `location` with `decision`.
async fn decide(app: &TestApp, browser: &mut Browser, location: &str, decision: &str) -> Page {
    let page = browser.get(location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    browser
        .post_form(
            &app.url("continue"),
            &[("state", &page.field("state")), ("decision", decision)],
        )
        .await
}

/// Redeems the code in `page`'s redirect for `client`.
async fn redeem(app: &TestApp, client: &ClientId, page: &Page) -> Value {
    let params = callback(page);
    assert_eq!(param(&params, "state"), Some("xyz"));
    let code = param(&params, "code").expect("a code").to_owned();
    redeem_code(app, client.as_str(), code).await
}

/// The value `page` sets for cookie `name`.
fn set_cookie_value(page: &Page, name: &str) -> String {
    let prefix = format!("{name}=");
    page.headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find_map(|c| c.strip_prefix(&prefix))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

async fn granted(app: &TestApp, client: &ClientId) -> Option<Vec<String>> {
    let consent = app.store.consent(&app.ann, client, POSTS).await.unwrap();
    consent.map(|c| c.scope)
}

#[tokio::test]
async fn a_third_party_application_is_asked_once_and_the_grant_is_remembered() {
    let app = TestApp::start().await;
    let partner = setup(&app).await;
    let mut browser = Browser::new();

    let scope = "openid profile read:posts write:posts";
    let logged_in = log_in(
        &app,
        &mut browser,
        &authorize_url(&app, &partner, scope, ""),
    )
    .await;
    assert!(
        goes_to_consent(&app, &logged_in),
        "{}",
        logged_in.location()
    );
    let page = browser.get(logged_in.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for words in [
        "Partner App",
        "Posts",
        "Your profile",
        "Read your posts",
        "Publish posts as you",
        "<code>read:posts</code>",
        "name=\"decision\" value=\"accept\"",
        "name=\"decision\" value=\"decline\"",
    ] {
        assert!(page.body.contains(words), "{words}: {}", page.body);
    }
    assert!(!page.body.contains("delete:posts"), "{}", page.body);
    assert_eq!(page.headers["x-frame-options"], "DENY");
    // Either answer redirects to the client: the page's form-action admits its origin, and
    // only that beside Sigil's own.
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("form-action 'self' https://app.example.com;"),
        "{policy}"
    );
    let csrf = page
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sigil_consent_csrf="))
        .expect("a CSRF cookie");
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"),
        "{csrf}"
    );

    let accepted = browser
        .post_form(
            &app.url("continue"),
            &[("state", &page.field("state")), ("decision", "accept")],
        )
        .await;
    let tokens = redeem(&app, &partner, &accepted).await;
    assert_eq!(tokens["scope"], scope);
    let claims = app
        .verifier(POSTS)
        .await
        .verify::<Value>(tokens["access_token"].as_str().unwrap(), UnixTime(NOW))
        .unwrap()
        .claims;
    assert_eq!(claims["scope"], scope);

    // The grant, as the store and the Management API have it.
    let all = ["openid", "profile", "read:posts", "write:posts"].map(str::to_owned);
    assert_eq!(granted(&app, &partner).await, Some(all.to_vec()));
    let token = token_for(&app, &audience(&app), &["read:grants"]).await;
    let path = format!("/grants?client_id={partner}");
    let (status, grants) = call(&app, "GET", &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{grants}");
    assert_eq!(grants[0]["audience"], POSTS, "{grants}");
    assert_eq!(grants[0]["user_id"], app.ann.as_str(), "{grants}");

    // What the grant covers is answered at once, from the session; more is asked again, and
    // prompt=consent always asks.
    for (what, scope, extra, asked) in [
        ("the same", scope, "", false),
        ("fewer", "openid read:posts", "", false),
        ("covered, prompt=none", "read:posts", "&prompt=none", false),
        ("more", "openid delete:posts", "", true),
        ("prompt=consent", "read:posts", "&prompt=consent", true),
    ] {
        let again = browser
            .get(&authorize_url(&app, &partner, scope, extra))
            .await;
        if asked {
            assert!(
                goes_to_consent(&app, &again),
                "{what}: {}",
                again.location()
            );
        } else {
            assert!(param(&callback(&again), "code").is_some(), "{what}");
        }
    }
    // prompt=none cannot ask: consent_required; and it stands alone.
    for (scope, prompt, error) in [
        ("openid delete:posts", "none", "consent_required"),
        ("openid", "none%20consent", "invalid_request"),
    ] {
        let silent = browser
            .get(&authorize_url(
                &app,
                &partner,
                scope,
                &format!("&prompt={prompt}"),
            ))
            .await;
        let params = callback(&silent);
        assert_eq!(
            (param(&params, "error"), param(&params, "state")),
            (Some(error), Some("xyz")),
            "{prompt}"
        );
    }
    // prompt=login consent: the login form first, then the page.
    let both = authorize_url(&app, &partner, "read:posts", "&prompt=login%20consent");
    let logged_in = log_in(&app, &mut browser, &both).await;
    assert!(
        goes_to_consent(&app, &logged_in),
        "{}",
        logged_in.location()
    );

    // Accepting more keeps what was granted before.
    let more = browser
        .get(&authorize_url(&app, &partner, "delete:posts", ""))
        .await;
    let page = browser.get(more.location()).await;
    // A scope without a description is shown by its value.
    assert!(page.body.contains("<li>delete:posts</li>"), "{}", page.body);
    let accepted = decide(&app, &mut browser, more.location(), "accept").await;
    assert!(param(&callback(&accepted), "code").is_some());
    let mut more_scopes = all.to_vec();
    more_scopes.push("delete:posts".to_owned());
    assert_eq!(granted(&app, &partner).await, Some(more_scopes));
}

#[tokio::test]
async fn declining_answers_access_denied_in_the_response_mode() {
    let app = TestApp::start().await;
    let partner = setup(&app).await;
    let mut browser = Browser::new();
    let url = authorize_url(&app, &partner, "openid read:posts", "");
    let logged_in = log_in(&app, &mut browser, &url).await;
    let declined = decide(&app, &mut browser, logged_in.location(), "decline").await;
    assert_eq!(declined.status, StatusCode::FOUND);
    let params = callback(&declined);
    assert_eq!(
        (
            param(&params, "error"),
            param(&params, "error_description"),
            param(&params, "state"),
            param(&params, "code"),
        ),
        (
            Some("access_denied"),
            Some("User did not authorize the request"),
            Some("xyz"),
            None
        )
    );
    assert_eq!(granted(&app, &partner).await, None);

    // With response_mode=form_post the refusal is posted, as the answer would have been.
    let url = authorize_url(
        &app,
        &partner,
        "openid read:posts",
        "&response_mode=form_post",
    );
    let asked = browser.get(&url).await;
    assert!(goes_to_consent(&app, &asked));
    let declined = decide(&app, &mut browser, asked.location(), "decline").await;
    assert_eq!(declined.status, StatusCode::OK);
    let html = declined.body.replace("&#x2f;", "/");
    assert!(html.contains(&format!("action=\"{CALLBACK}\"")), "{html}");
    assert_eq!(declined.field("error"), "access_denied");
    assert_eq!(declined.field("state"), "xyz");
}

#[tokio::test]
async fn first_party_applications_skip_consent_where_the_api_allows_it() {
    let app = TestApp::start().await;
    let partner = setup(&app).await;
    let native = app.native.clone();
    let mut browser = Browser::new();
    // An API letting first parties skip consent: straight to the callback, no grant stored,
    // prompt=consent included.
    let url = authorize_url(&app, &native, "openid profile read:posts", "");
    let logged_in = log_in(&app, &mut browser, &url).await;
    let tokens = redeem(&app, &native, &logged_in).await;
    assert_eq!(tokens["scope"], "openid profile read:posts");
    let again = browser
        .get(&authorize_url(
            &app,
            &native,
            "read:posts",
            "&prompt=consent",
        ))
        .await;
    assert!(param(&callback(&again), "code").is_some());
    assert_eq!(granted(&app, &native).await, None);
    // An API that does not (Auth0's "Allow Skipping User Consent" off): asked too.
    let strict = authorize_url(&app, &native, "read:posts", "").replace(
        &format!("audience={}", urlencode(POSTS)),
        &format!("audience={}", urlencode(STRICT)),
    );
    let asked = browser.get(&strict).await;
    assert!(goes_to_consent(&app, &asked), "{}", asked.location());
    // No API asked for: nothing to consent to, even for a third party.
    let plain = authorize_url(&app, &partner, "openid profile", "")
        .replace(&format!("&audience={}", urlencode(POSTS)), "");
    let answered = browser.get(&plain).await;
    assert!(param(&callback(&answered), "code").is_some());
}

#[tokio::test]
async fn forged_consent_forms_are_refused() {
    let app = TestApp::start().await;
    let partner = setup(&app).await;
    let mut browser = Browser::new();
    let url = authorize_url(&app, &partner, "openid read:posts", "");
    let logged_in = log_in(&app, &mut browser, &url).await;
    let session = set_cookie_value(&logged_in, "sigil_session");
    let page = browser.get(logged_in.location()).await;
    let csrf = set_cookie_value(&page, "sigil_consent_csrf");
    let tx = page.field("state");
    let mut bytes = tx.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    // The continuation the login redirected with, before the page sealed its CSRF value in.
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(logged_in.location().split_once('?').unwrap().1).unwrap();
    let unshown = param(&query, "state").unwrap().to_owned();
    // A login transaction is sealed with the same key, but is no continuation.
    let start = Browser::new().get(&url).await;
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(start.location().split_once('?').unwrap().1).unwrap();
    let login_tx = param(&query, "tx").unwrap().to_owned();

    let both = |s: &str, c: &str| format!("sigil_session={s}; sigil_consent_csrf={c}");
    let forbidden = StatusCode::FORBIDDEN;
    let bad = StatusCode::BAD_REQUEST;
    let cases: Vec<(&str, String, &str, &str, StatusCode)> = vec![
        (
            "no CSRF cookie",
            format!("sigil_session={session}"),
            &tx,
            "accept",
            forbidden,
        ),
        (
            "another CSRF value",
            both(&session, &"x".repeat(32)),
            &tx,
            "accept",
            forbidden,
        ),
        (
            "an empty CSRF cookie",
            both(&session, ""),
            &tx,
            "accept",
            forbidden,
        ),
        (
            "a tampered transaction",
            both(&session, &csrf),
            &tampered,
            "accept",
            bad,
        ),
        (
            "a login transaction",
            both(&session, &csrf),
            &login_tx,
            "accept",
            bad,
        ),
        (
            "the state of a page not shown",
            both(&session, &csrf),
            &unshown,
            "accept",
            forbidden,
        ),
        (
            "no session",
            format!("sigil_consent_csrf={csrf}"),
            &tx,
            "accept",
            forbidden,
        ),
        (
            "another session",
            both("someone-else", &csrf),
            &tx,
            "accept",
            forbidden,
        ),
        (
            "an unknown decision",
            both(&session, &csrf),
            &tx,
            "maybe",
            bad,
        ),
    ];
    for (what, cookies, tx, decision, status) in cases {
        let response = app
            .http
            .post(app.url("continue"))
            .header("cookie", cookies)
            .form(&[("state", tx), ("decision", decision)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{what}");
        assert!(response.headers().get("location").is_none(), "{what}");
        let text = response.text().await.unwrap();
        assert!(text.contains("role=\"alert\""), "{what}: {text}");
    }
    // Nor may another browser open the page.
    let elsewhere = Browser::new().get(logged_in.location()).await;
    assert_eq!(elsewhere.status, forbidden);
    assert_eq!(granted(&app, &partner).await, None);
    // The real form works, but not once it has expired.
    app.clock.advance(3601);
    let form = [("state", tx.as_str()), ("decision", "accept")];
    // Nor by a link: the answer is a form's.
    let linked = browser
        .get(&app.url(&format!(
            "continue?state={}&decision=accept",
            urlencode(&tx)
        )))
        .await;
    assert_eq!(linked.status, bad);
    let late = browser.post_form(&app.url("continue"), &form).await;
    assert_eq!(late.status, bad);
    app.clock.advance(-3601);
    let accepted = browser.post_form(&app.url("continue"), &form).await;
    assert!(param(&callback(&accepted), "code").is_some());
    // Once: the answer ended the page's CSRF cookie, and with it the form.
    let again = browser.post_form(&app.url("continue"), &form).await;
    assert_eq!(again.status, forbidden, "{}", again.body);
    // A replay with the old cookie still gets no second code.
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("continue"))
        .header("cookie", both(&session, &csrf))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = replayed.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(CALLBACK) && location.contains("error=access_denied"),
        "{location}"
    );
}

#[tokio::test]
async fn client_credentials_is_unchanged_for_third_parties() {
    let app = TestApp::start().await;
    posts_api(&app, POSTS, true).await;
    let (machine, secret) = client(
        &app.store,
        AppType::NonInteractive,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let mut third = app.store.client(&machine).await.unwrap().unwrap();
    third.is_first_party = false;
    app.store.update_client(&third).await.unwrap();
    grant(&app.store, &machine, POSTS, &["read:posts"]).await;
    let (status, _, body) = post(
        &app,
        Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", machine.to_string()),
            ("client_secret", secret.expose().to_owned()),
            ("audience", POSTS.to_owned()),
        ]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read:posts");
}
