//! Logging in through another identity provider: an `oidc` connection whose upstream is a
//! second Sigil (Auth0-to-Auth0 federation), made through the Management API, driven through
//! `/authorize?connection=…`, the upstream's own login page and `/login/callback`; and every
//! way the callback refuses (replay, another browser, a missing cookie, the upstream's
//! refusal). Third-party upstreams (oidc-provider, oauth2-mock-server) are driven from
//! `tests/federation/`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::federation::{Policy, UrlPolicy};
use sigil_core::ids::UserId;
use sigil_core::model::UserQuery;
use sigil_jose::Algorithm;

use crate::app::{Body, CALLBACK, PASSWORD, TestApp, post};
use crate::browser::{Browser, Page, VERIFIER, authorize_url, callback_params, param, urlencode};
use crate::management::{assert_error, audience, call, token_for};

/// Two Sigils: `down`, where applications log in, and `up`, the identity provider its `corp`
/// connection trusts; `up`'s regular web client is the connection's client there.
struct Federation {
    down: TestApp,
    up: TestApp,
    /// The Management API token at `down`.
    admin: String,
}

impl Federation {
    async fn start() -> Self {
        let down = TestApp::start().await;
        down.server.set_federation_policy(Policy {
            urls: UrlPolicy {
                allow_http_loopback: true,
            },
            ..Policy::default()
        });
        let up = TestApp::start().await;
        let mut client = up.store.client(&up.web.0).await.unwrap().unwrap();
        client.settings.callbacks = vec![down.url("login/callback")];
        client.settings.jwt_configuration.alg = Algorithm::RS256;
        up.store.update_client(&client).await.unwrap();
        let admin = token_for(
            &down,
            &audience(&down),
            &[
                "create:connections",
                "read:connections",
                "update:connections",
                "read:users",
                "read:user_idp_tokens",
            ],
        )
        .await;
        Federation { down, up, admin }
    }

    /// Creates the `corp` connection to `up`, enabled for `down`'s web client.
    async fn connect(&self, extra: Value) -> Value {
        let mut options = json!({
            "type": "back_channel",
            "client_id": self.up.web.0.to_string(),
            "client_secret": self.up.web.1.expose(),
            "discovery_url": self.up.base,
            "scope": "openid profile email",
        });
        for (k, v) in extra.as_object().unwrap() {
            options[k] = v.clone();
        }
        let (status, body) = call(
            &self.down,
            "POST",
            "/connections",
            Some(&self.admin),
            Some(json!({
                "name": "corp",
                "strategy": "oidc",
                "options": options,
                "enabled_clients": [self.down.web.0.to_string()],
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// A browser's request to whichever Sigil `url` is at.
    async fn get(&self, browsers: &mut Browsers, url: &str) -> Page {
        if url.starts_with(&self.up.base) {
            browsers.up.get(url).await
        } else {
            browsers.down.get(url).await
        }
    }

    /// Starts a login of `down`'s web client through `corp`, logs in as Ann at `up`, and
    /// answers the upstream's redirect to `down`'s callback (not yet followed).
    async fn upstream_login(&self, browsers: &mut Browsers) -> String {
        let web = self.down.web.0.to_string();
        let start = browsers
            .down
            .get(&authorize_url(&self.down, &web, "&connection=corp"))
            .await;
        assert_eq!(start.status, StatusCode::FOUND, "{}", start.body);
        let upstream = start.location().to_owned();
        assert!(
            upstream.starts_with(&format!("{}authorize?", self.up.base)),
            "straight to the upstream, no login page of Sigil's: {upstream}"
        );
        for wanted in [
            "code_challenge_method=S256",
            "nonce=",
            "state=",
            "response_type=code",
        ] {
            assert!(upstream.contains(wanted), "{wanted} in {upstream}");
        }
        let to_form = self.get(browsers, &upstream).await;
        let form = self.get(browsers, to_form.location()).await;
        let tx = form.field("tx");
        let done = browsers
            .up
            .submit_login(&self.up, &tx, "ann@example.com", PASSWORD)
            .await;
        let back = done.location().to_owned();
        assert!(
            back.starts_with(&self.down.url("login/callback?")),
            "{} {back}",
            done.status
        );
        back
    }
}

impl Federation {
    /// The tokens of the code in `location` (`down`'s callback), redeemed by its web client.
    async fn redeem(&self, location: &str) -> Value {
        let params = callback_params(location);
        let web = self.down.web.0.to_string();
        let (status, _, tokens) = post(
            &self.down,
            Body::Form(vec![
                ("grant_type", "authorization_code".into()),
                (
                    "code",
                    param(&params, "code")
                        .unwrap_or_else(|| panic!("no code in {location}"))
                        .to_owned(),
                ),
                ("redirect_uri", CALLBACK.into()),
                ("code_verifier", VERIFIER.into()),
            ]),
            Some((&web, self.down.web.1.expose())),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }
}

struct Browsers {
    down: Browser,
    up: Browser,
}

impl Browsers {
    fn new() -> Self {
        Browsers {
            down: Browser::new(),
            up: Browser::new(),
        }
    }
}

async fn user_json(f: &Federation, id: &str, token: &str) -> Value {
    let (status, body) = call(
        &f.down,
        "GET",
        &format!("/users/{}", crate::browser::urlencode(id)),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn an_oidc_connection_logs_in_through_another_sigil() {
    let f = Federation::start().await;
    let created = f.connect(json!({})).await;
    assert_eq!(created["strategy"], "oidc");
    assert!(
        created["options"].get("client_secret").is_none(),
        "secrets are write-only: {created}"
    );
    assert_eq!(
        created["options"]["oidc_metadata"]["issuer"], f.up.base,
        "the discovery document was read at creation"
    );

    let mut browsers = Browsers::new();
    let back = f.upstream_login(&mut browsers).await;
    let done = browsers.down.get(&back).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let params = callback_params(done.location());
    assert_eq!(param(&params, "state"), Some("xyz"));
    let tokens = f.redeem(done.location()).await;
    let web = f.down.web.0.to_string();
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = Value::Object(sigil_jose::insecure_decode(id_token).unwrap().claims);
    let sub = claims["sub"].as_str().unwrap().to_owned();
    assert_eq!(sub, format!("oidc|corp|{}", f.up.ann), "{claims}");
    assert_eq!(claims["email"], "ann@example.com");

    // Logged as Auth0 logs it: the new user (`ss`), the login (`s`), both naming the strategy.
    for log_type in ["ss", "s"] {
        let event = crate::events::newest(&f.down, log_type).await.event;
        assert_eq!(
            event.user_id.as_ref().map(|u| u.to_string()),
            Some(sub.clone())
        );
        assert_eq!(event.connection.as_deref(), Some("corp"), "{log_type}");
        assert_eq!(event.strategy.as_deref(), Some("oidc"), "{log_type}");
        assert_eq!(
            event.strategy_type.as_deref(),
            Some("enterprise"),
            "{log_type}"
        );
    }

    // The user as the Management API shows it: the provider's tokens only with the scope.
    let reader = token_for(&f.down, &audience(&f.down), &["read:users"]).await;
    let shown = user_json(&f, &sub, &reader).await;
    assert_eq!(shown["email"], "ann@example.com");
    assert_eq!(
        shown["email_verified"], true,
        "the upstream said so, with the email"
    );
    assert_eq!(shown["logins_count"], 1);
    let identity = &shown["identities"][0];
    assert_eq!(identity["provider"], "oidc");
    assert_eq!(identity["connection"], "corp");
    assert_eq!(identity["isSocial"], false);
    assert_eq!(identity["user_id"], format!("corp|{}", f.up.ann));
    assert!(identity.get("access_token").is_none(), "{shown}");
    let with_tokens = user_json(&f, &sub, &f.admin).await;
    let upstream_token = with_tokens["identities"][0]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{with_tokens}"))
        .to_owned();
    assert!(with_tokens["identities"][0]["expires_in"].as_i64().unwrap() > 0);
    // The list answers the same way: the provider's tokens only with read:user_idp_tokens.
    for (token, shows) in [(&reader, false), (&f.admin, true)] {
        let (status, listed) = call(
            &f.down,
            "GET",
            &format!(
                "/users?search_engine=v3&q={}",
                crate::browser::urlencode(&format!("user_id:\"{sub}\""))
            ),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let found: Vec<&Value> = listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["user_id"] == sub.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{listed}");
        assert_eq!(
            found[0]["identities"][0].get("access_token").is_some(),
            shows,
            "{listed}"
        );
    }
    // It is the upstream's real token: its UserInfo answers with it.
    let info: Value =
        f.up.http
            .get(f.up.url("userinfo"))
            .bearer_auth(&upstream_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(info["sub"], f.up.ann.to_string());

    // The user's own Management API token (read:current_user, through the code flow in the
    // session the upstream login started) shows the user, never the provider's tokens.
    crate::management_current_user::define_scopes(&f.down).await;
    let own_url = format!(
        "{}authorize?response_type=code&client_id={web}&redirect_uri={}&scope={}&audience={}&state=own&code_challenge={}&code_challenge_method=S256",
        f.down.base,
        crate::browser::urlencode(CALLBACK),
        crate::browser::urlencode("openid read:current_user"),
        crate::browser::urlencode(&audience(&f.down)),
        crate::browser::CHALLENGE,
    );
    let own = browsers.down.get(&own_url).await;
    assert!(
        own.location().starts_with(CALLBACK),
        "{} {}",
        own.status,
        own.location()
    );
    let own_tokens = f.redeem(own.location()).await;
    let own_token = own_tokens["access_token"].as_str().unwrap();
    let mine = user_json(&f, &sub, own_token).await;
    assert_eq!(mine["user_id"], sub.as_str(), "{mine}");
    assert!(
        mine["identities"][0].get("access_token").is_none()
            && mine["identities"][0].get("refresh_token").is_none(),
        "{mine}"
    );

    // A second login through a new browser finds the same user; the count goes up.
    let mut again = Browsers::new();
    let back = f.upstream_login(&mut again).await;
    assert_eq!(again.down.get(&back).await.status, StatusCode::FOUND);
    assert_eq!(user_json(&f, &sub, &reader).await["logins_count"], 2);

    // The session started by the upstream login answers the next request at once.
    let sso = browsers
        .down
        .get(&authorize_url(&f.down, &web, "&connection=corp"))
        .await;
    assert!(sso.location().starts_with(CALLBACK), "{}", sso.location());

    // `/v2/logout?federated`: the session ends here, then at the upstream, which publishes
    // where (Sigil's own `/oidc/logout`), with the application's return address.
    let out = browsers
        .down
        .get(&format!(
            "{}?federated&client_id={web}&returnTo={}",
            f.down.url("v2/logout"),
            crate::browser::urlencode(crate::app::LOGOUT_URL)
        ))
        .await;
    assert_eq!(out.status, StatusCode::FOUND, "{}", out.body);
    let upstream_logout = url::Url::parse(out.location()).unwrap();
    assert!(
        out.location().starts_with(&f.up.url("oidc/logout")),
        "{}",
        out.location()
    );
    let param_of = |name: &str| {
        upstream_logout
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param_of("client_id"), Some(f.up.web.0.to_string()));
    assert_eq!(
        param_of("post_logout_redirect_uri").as_deref(),
        Some(crate::app::LOGOUT_URL)
    );
    assert!(
        browsers.down.cookie("sigil_session").is_none(),
        "the session here ended"
    );

    // No automatic linking: Ann of the database connection is another user.
    let both = f
        .down
        .store
        .list_users(
            &UserQuery {
                email: Some("ann@example.com".into()),
                ..UserQuery::default()
            },
            sigil_core::Page::first(),
        )
        .await
        .unwrap();
    let ids: Vec<&UserId> = both.iter().map(|u| &u.user_id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&&f.down.ann));
}

#[tokio::test]
async fn the_callback_takes_each_login_once_and_only_in_its_browser() {
    let f = Federation::start().await;
    f.connect(json!({})).await;
    let users_before = f
        .down
        .store
        .count_users(&UserQuery::default())
        .await
        .unwrap();

    // Another browser (the attacker's finished callback, replayed in a victim's browser).
    let mut attacker = Browsers::new();
    let back = f.upstream_login(&mut attacker).await;
    let mut victim = Browser::new();
    let elsewhere = victim.get(&back).await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert!(
        elsewhere.body.contains("did not start in this browser"),
        "{}",
        elsewhere.body
    );
    // Left for its own browser, which finishes it once; a replay is refused.
    assert_eq!(attacker.down.get(&back).await.status, StatusCode::FOUND);
    let mut replayed = attacker.down.get(&back).await;
    assert_eq!(
        replayed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        replayed.body
    );

    // A forged state, or none at all.
    let forged = back.replace("state=", "state=x");
    replayed = attacker.down.get(&forged).await;
    assert_eq!(replayed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        attacker
            .down
            .get(&f.down.url("login/callback"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        f.down
            .store
            .count_users(&UserQuery::default())
            .await
            .unwrap(),
        users_before + 1,
        "one user, from the one login that finished"
    );

    // The upstream's refusal reaches the application with its own state; its words do not.
    let mut browser = Browser::new();
    let web = f.down.web.0.to_string();
    let start = browser
        .get(&authorize_url(&f.down, &web, "&connection=corp"))
        .await;
    let state = url::Url::parse(start.location())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let refused = browser
        .get(&format!(
            "{}?state={state}&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            f.down.url("login/callback")
        ))
        .await;
    let params = callback_params(refused.location());
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("xyz"));
    assert!(
        !param(&params, "error_description")
            .unwrap()
            .contains("script")
    );

    // A code the upstream never issued: refused, nothing made.
    let start = browser
        .get(&authorize_url(&f.down, &web, "&connection=corp"))
        .await;
    let state = url::Url::parse(start.location())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // Without the upstream's iss (which its discovery promises, RFC 9207): refused before
    // any call to it.
    let unnamed = browser
        .get(&format!(
            "{}?state={state}&code=not-a-code",
            f.down.url("login/callback")
        ))
        .await;
    assert_eq!(
        param(&callback_params(unnamed.location()), "error"),
        Some("access_denied")
    );
    let start = browser
        .get(&authorize_url(&f.down, &web, "&connection=corp"))
        .await;
    let state = url::Url::parse(start.location())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let tampered = browser
        .get(&format!(
            "{}?state={state}&code=not-a-code&iss={}",
            f.down.url("login/callback"),
            urlencode(&f.up.url(""))
        ))
        .await;
    let params = callback_params(tampered.location());
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("xyz"));
    // Operators see the upstream's calls and their outcomes in /metrics.
    let metrics = f
        .down
        .http
        .get(f.down.url("metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "sigil_upstream_calls_total{call=\"discovery\",result=\"ok\"} 1",
        "sigil_upstream_calls_total{call=\"token\",result=\"ok\"} 1",
        "sigil_upstream_calls_total{call=\"token\",result=\"status\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert_eq!(
        f.down
            .store
            .count_users(&UserQuery::default())
            .await
            .unwrap(),
        users_before + 1
    );
}

#[tokio::test]
async fn federated_connections_are_enabled_per_client_and_never_silent() {
    let f = Federation::start().await;
    f.connect(json!({})).await;
    let mut browser = Browser::new();
    // prompt=none never goes upstream.
    let web = f.down.web.0.to_string();
    let silent = browser
        .get(&authorize_url(
            &f.down,
            &web,
            "&connection=corp&prompt=none",
        ))
        .await;
    let params = callback_params(silent.location());
    assert_eq!(param(&params, "error"), Some("login_required"));
    // A client the connection is not enabled for.
    let backend = f.down.backend.0.to_string();
    let disabled = browser
        .get(&authorize_url(&f.down, &backend, "&connection=corp"))
        .await;
    let params = callback_params(disabled.location());
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    assert_eq!(
        param(&params, "error_description"),
        Some("the connection was disabled")
    );
}

#[tokio::test]
async fn the_management_api_checks_federated_options_and_keeps_secrets() {
    let f = Federation::start().await;
    let created = f.connect(json!({})).await;
    let id = created["id"].as_str().unwrap();
    // A read-modify-write without the secret keeps it: logins still work.
    let mut options = created["options"].clone();
    options["scope"] = json!("openid email");
    let (status, patched) = call(
        &f.down,
        "PATCH",
        &format!("/connections/{id}"),
        Some(&f.admin),
        Some(json!({ "options": options })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert!(patched["options"].get("client_secret").is_none());
    let mut browsers = Browsers::new();
    let back = f.upstream_login(&mut browsers).await;
    let done = browsers.down.get(&back).await;
    assert!(done.location().starts_with(CALLBACK), "{}", done.location());
    assert!(param(&callback_params(done.location()), "code").is_some());

    // (body, status, what the message names)
    let up = f.up.base.clone();
    let cases = [
        (
            json!({"name": "s", "strategy": "samlp"}),
            "not supported yet",
        ),
        (
            json!({"name": "o1", "strategy": "oidc", "options": {"client_id": "x", "client_secret": "y"}}),
            "options.discovery_url",
        ),
        (
            json!({"name": "o2", "strategy": "oidc", "options": {"client_id": "x", "client_secret": "y", "discovery_url": up, "frobnicate": true}}),
            "options.frobnicate",
        ),
        (
            json!({"name": "o3", "strategy": "oidc", "options": {"client_id": "x", "discovery_url": up}}),
            "options.client_secret",
        ),
        (
            json!({"name": "o4", "strategy": "oidc", "options": {"client_id": "x", "client_secret": "y", "discovery_url": "http://192.0.2.1/"}}),
            "https",
        ),
        (
            json!({"name": "o5", "strategy": "oidc", "options": {"client_id": "x", "client_secret": "y", "discovery_url": up, "issuer": "https://someone.else/"}}),
            "issuer",
        ),
        (
            json!({"name": "o6", "strategy": "oidc", "options": {"client_id": "x", "client_secret": "y", "discovery_url": f.down.url("nothing-here")}}),
            "cannot be used",
        ),
        (
            json!({"name": "o7", "strategy": "oidc", "options": {"client_id": "x", "client_secret": "y", "discovery_url": up, "connection_settings": {"pkce": "plain"}}}),
            "pkce",
        ),
    ];
    for (body, named) in cases {
        let answer = call(
            &f.down,
            "POST",
            "/connections",
            Some(&f.admin),
            Some(body.clone()),
        )
        .await;
        assert_error(&answer, 400, "invalid_body");
        let message = answer.1["message"].as_str().unwrap();
        assert!(message.contains(named), "{body}: {message}");
    }
}

#[tokio::test]
async fn the_login_page_offers_a_button_per_provider_enabled_for_the_client() {
    let f = Federation::start().await;
    let created = f.connect(json!({})).await;
    let id = created["id"].as_str().unwrap();
    let web = f.down.web.0.to_string();
    let mut browser = Browser::new();
    let page_of = |client: &str| authorize_url(&f.down, client, "");

    // An enterprise connection has a button only when it asks for one.
    let start = browser.get(&page_of(&web)).await;
    let page = browser.get(start.location()).await;
    assert!(!page.body.contains("Continue with"), "{}", page.body);
    let (status, _) = call(
        &f.down,
        "PATCH",
        &format!("/connections/{id}"),
        Some(&f.admin),
        Some(json!({"show_as_button": true, "display_name": "Corp SSO"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let start = browser.get(&page_of(&web)).await;
    let page = browser.get(start.location()).await;
    assert!(
        page.body.contains("Continue with Corp SSO"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("name=\"password\""),
        "beside the password form"
    );
    let marker = "href=\"";
    // The page escapes `/` and `&` in attributes.
    let unescaped = page.body.replace("&#x2f;", "/").replace("&amp;", "&");
    let button = unescaped
        .split(marker)
        .map(|rest| rest.split('"').next().unwrap())
        .find(|href| href.contains("u/login/federated"))
        .expect("a button link")
        .to_owned();
    let upstream = browser.get(&button).await;
    assert_eq!(upstream.status, StatusCode::FOUND, "{}", upstream.body);
    assert!(
        upstream.location().starts_with(&f.up.base),
        "{}",
        upstream.location()
    );

    // A social connection has its button without asking, with the provider's name and icon.
    for (strategy, label, monogram) in [
        ("github", "GitHub", ">GH</text>"),
        ("google-oauth2", "Google", ">G</text>"),
    ] {
        let (status, body) = call(
            &f.down,
            "POST",
            "/connections",
            Some(&f.admin),
            Some(json!({
                "name": strategy,
                "strategy": strategy,
                "options": {"client_id": "sigil", "client_secret": "social-secret"},
                "enabled_clients": [web],
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let start = browser.get(&page_of(&web)).await;
        let page = browser.get(start.location()).await;
        let button = page
            .body
            .split("<li>")
            .find(|item| item.contains(&format!("Continue with {label}")))
            .unwrap_or_else(|| panic!("no {label} button: {}", page.body));
        assert!(
            button.contains("class=\"provider-icon\"") && button.contains(monogram),
            "{button}"
        );
    }

    // Another client, for which corp is not enabled, has no button; a forged link is refused.
    let backend = f.down.backend.0.to_string();
    let start = browser.get(&page_of(&backend)).await;
    let page = browser.get(start.location()).await;
    assert!(!page.body.contains("Continue with"), "{}", page.body);
    let tx = page.field("tx");
    let forged = browser
        .get(&format!(
            "{}?tx={}&connection=corp",
            f.down.url("u/login/federated"),
            crate::browser::urlencode(&tx)
        ))
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);

    // With the database disabled for the client, the page is the buttons alone.
    let (status, body) = call(
        &f.down,
        "GET",
        "/connections?strategy=auth0",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let database = body[0]["id"].as_str().unwrap().to_owned();
    let changes = json!([{"client_id": web, "status": false}]);
    let (status, body) = call(
        &f.down,
        "PATCH",
        &format!("/connections/{database}/clients"),
        Some(&f.admin),
        Some(changes),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let start = browser.get(&page_of(&web)).await;
    let page = browser.get(start.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Continue with Corp SSO"));
    assert!(!page.body.contains("name=\"password\""), "{}", page.body);
}

#[tokio::test]
async fn post_login_actions_run_for_federated_logins() {
    let f = Federation::start().await;
    f.connect(json!({})).await;
    let token = crate::actions::actions_token(&f.down).await;
    crate::actions::bind_only(
        &f.down,
        &token,
        "post-login",
        "Federated facts",
        r#"exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("https://facts.example/strategy", event.connection.strategy);
  api.idToken.setCustomClaim("https://facts.example/connection", event.connection.name);
  api.idToken.setCustomClaim("https://facts.example/identities",
    event.user.identities.map((i) => `${i.provider}:${i.connection}:${i.isSocial}`));
  api.idToken.setCustomClaim("https://facts.example/method", event.authentication.methods[0].name);
  api.idToken.setCustomClaim("https://facts.example/token-hidden",
    event.user.identities.every((i) => i.access_token === undefined));
};"#,
    )
    .await;
    let mut browsers = Browsers::new();
    let back = f.upstream_login(&mut browsers).await;
    let done = browsers.down.get(&back).await;
    let tokens = f.redeem(done.location()).await;
    let claims = sigil_jose::insecure_decode(tokens["id_token"].as_str().unwrap())
        .unwrap()
        .claims;
    let fact = |name: &str| claims[&format!("https://facts.example/{name}")].clone();
    assert_eq!(fact("strategy"), "oidc");
    assert_eq!(fact("connection"), "corp");
    assert_eq!(fact("identities"), json!(["oidc:corp:false"]));
    assert_eq!(fact("method"), "federated");
    assert_eq!(
        fact("token-hidden"),
        true,
        "Actions never see the provider's tokens"
    );
}

#[tokio::test]
async fn a_federated_identity_linked_into_a_user_logs_in_as_that_user() {
    let f = Federation::start().await;
    f.connect(json!({})).await;
    // The first login makes the federated user.
    let mut browsers = Browsers::new();
    let back = f.upstream_login(&mut browsers).await;
    assert!(
        browsers
            .down
            .get(&back)
            .await
            .location()
            .starts_with(CALLBACK)
    );
    let federated = format!("oidc|corp|{}", f.up.ann);

    // Linked into Ann of the database through the Management API, by provider and user_id.
    let linker = token_for(&f.down, &audience(&f.down), &["update:users", "read:users"]).await;
    let (status, identities) = call(
        &f.down,
        "POST",
        &format!(
            "/users/{}/identities",
            crate::browser::urlencode(f.down.ann.as_str())
        ),
        Some(&linker),
        Some(json!({"provider": "oidc", "user_id": format!("corp|{}", f.up.ann)})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{identities}");
    assert_eq!(identities[1]["provider"], "oidc", "{identities}");
    assert_eq!(identities[1]["connection"], "corp");
    assert_eq!(identities[1]["profileData"]["email"], "ann@example.com");

    // The next login through the upstream is Ann's.
    let mut again = Browsers::new();
    let back = f.upstream_login(&mut again).await;
    let done = again.down.get(&back).await;
    let tokens = f.redeem(done.location()).await;
    let claims = sigil_jose::insecure_decode(tokens["id_token"].as_str().unwrap())
        .unwrap()
        .claims;
    assert_eq!(
        claims["sub"],
        f.down.ann.to_string(),
        "the primary user, not {federated}"
    );
}

#[tokio::test]
async fn a_front_channel_connection_takes_the_id_token_posted_back() {
    let f = Federation::start().await;
    let mut client = f.up.store.client(&f.up.web.0).await.unwrap().unwrap();
    client
        .settings
        .grant_types
        .push(sigil_core::model::GrantType::Implicit);
    f.up.store.update_client(&client).await.unwrap();
    f.up.clock.advance(sigil_server::CACHE_TTL + 1);
    f.connect(json!({"type": "front_channel"})).await;

    let web = f.down.web.0.to_string();
    let mut browsers = Browsers::new();
    let start = browsers
        .down
        .get(&authorize_url(&f.down, &web, "&connection=corp"))
        .await;
    let upstream = start.location().to_owned();
    for wanted in [
        "response_type=id_token",
        "response_mode=form_post",
        "nonce=",
    ] {
        assert!(upstream.contains(wanted), "{wanted} in {upstream}");
    }
    assert!(
        !upstream.contains("code_challenge"),
        "no code, no PKCE: {upstream}"
    );
    let to_form = f.get(&mut browsers, &upstream).await;
    let form = f.get(&mut browsers, to_form.location()).await;
    let posted = browsers
        .up
        .submit_login(&f.up, &form.field("tx"), "ann@example.com", PASSWORD)
        .await;
    // The upstream answers with a page that POSTs the ID token to Sigil's callback.
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    let fields = [
        ("id_token", posted.field("id_token")),
        ("state", posted.field("state")),
        // RFC 9207: Sigil names itself in its answers, and says so in its discovery.
        ("iss", posted.field("iss")),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();

    // A cross-site POST carries no Lax cookie: posted again once from Sigil's own page.
    let mut cookieless = Browser::new();
    let again = cookieless
        .post_form(&f.down.url("login/callback"), &fields)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.field("sigil_reposted"), "1");
    let twice = cookieless
        .post_form(
            &f.down.url("login/callback"),
            &[fields.clone(), vec![("sigil_reposted", "1")]].concat(),
        )
        .await;
    assert_eq!(
        twice.status,
        StatusCode::BAD_REQUEST,
        "once only, then a page"
    );

    // From Sigil's origin the cookie goes along, and the login completes.
    let done = browsers
        .down
        .post_form(
            &f.down.url("login/callback"),
            &[fields.clone(), vec![("sigil_reposted", "1")]].concat(),
        )
        .await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    let tokens = f.redeem(done.location()).await;
    let claims = sigil_jose::insecure_decode(tokens["id_token"].as_str().unwrap())
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], format!("oidc|corp|{}", f.up.ann));
    // No code was exchanged, so there is no provider token to keep.
    let shown = user_json(&f, &format!("oidc|corp|{}", f.up.ann), &f.admin).await;
    assert!(
        shown["identities"][0].get("access_token").is_none(),
        "{shown}"
    );
}

/// How a stand-in upstream misbehaves at the next login.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Misbehaviour {
    /// None: a good login.
    None,
    /// The token endpoint answers a redirect (to an address that counts its visits).
    RedirectingToken,
    /// The key set is over Sigil's 256 KiB cap.
    HugeKeys,
    /// The token endpoint answers after Sigil's 5 s per call.
    SlowToken,
}

/// A hand-written OpenID provider at `base` (explicit endpoints), misbehaving as told; its ID
/// tokens are issued at `now` (the test's clock).
struct StandIn {
    base: String,
    mode: std::sync::Arc<std::sync::Mutex<Misbehaviour>>,
    /// Requests that reached the redirect's target (which must stay 0).
    followed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn stand_in(now: i64) -> StandIn {
    use axum::extract::Query;
    use axum::response::{IntoResponse, Redirect};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let key =
        sigil_jose::PrivateKey::generate(sigil_jose::KeySpec::for_algorithm(Algorithm::RS256))
            .unwrap();
    let jwk = key.public_key().unwrap().to_jwk().with_kid("stand-in-1");
    let signer = Arc::new(
        sigil_jose::SigningKey::new(key, Algorithm::RS256)
            .unwrap()
            .with_kid(Some("stand-in-1".to_owned())),
    );
    let mode = Arc::new(Mutex::new(Misbehaviour::None));
    let followed = Arc::new(AtomicUsize::new(0));
    // code → the nonce it was asked with
    let nonces: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let issuer = base.clone();
    let router = axum::Router::new()
        .route(
            "/authorize",
            axum::routing::get({
                let nonces = Arc::clone(&nonces);
                move |Query(q): Query<HashMap<String, String>>| async move {
                    let code = format!("code-{}", nonces.lock().unwrap().len());
                    nonces
                        .lock()
                        .unwrap()
                        .insert(code.clone(), q.get("nonce").cloned().unwrap_or_default());
                    let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
                    back.query_pairs_mut()
                        .append_pair("code", &code)
                        .append_pair("state", &q["state"]);
                    Redirect::to(back.as_str())
                }
            }),
        )
        .route(
            "/token",
            axum::routing::post({
                let (mode, nonces, issuer) =
                    (Arc::clone(&mode), Arc::clone(&nonces), issuer.clone());
                move |body: axum::body::Bytes| async move {
                    let f: HashMap<String, String> =
                        serde_urlencoded::from_bytes(&body).unwrap_or_default();
                    let now_mode = *mode.lock().unwrap();
                    if now_mode == Misbehaviour::RedirectingToken {
                        return Redirect::temporary("/elsewhere").into_response();
                    }
                    if now_mode == Misbehaviour::SlowToken {
                        tokio::time::sleep(std::time::Duration::from_secs(7)).await;
                    }
                    let nonce = nonces
                        .lock()
                        .unwrap()
                        .remove(&f["code"])
                        .unwrap_or_default();
                    let id_token = signer
                        .sign(&json!({
                            "iss": issuer, "sub": "misbehaving-sub", "aud": f["client_id"],
                            "iat": now, "exp": now + 300, "nonce": nonce,
                            "email": "mis@upstream.example", "email_verified": true,
                        }))
                        .unwrap();
                    axum::Json(json!({
                        "access_token": "mis-access", "token_type": "Bearer",
                        "expires_in": 300, "id_token": id_token,
                    }))
                    .into_response()
                }
            }),
        )
        .route(
            // A discovery document over Sigil's 128 KiB cap.
            "/.well-known/openid-configuration",
            axum::routing::get(|| async {
                axum::Json(json!({"issuer": "x", "padding": "x".repeat(200 * 1024)}))
            }),
        )
        .route(
            "/elsewhere",
            axum::routing::any({
                let followed = Arc::clone(&followed);
                move || async move {
                    followed.fetch_add(1, Ordering::SeqCst);
                    "followed"
                }
            }),
        )
        .route(
            "/keys",
            axum::routing::get({
                let mode = Arc::clone(&mode);
                move || async move {
                    let mut keys = json!({"keys": [jwk]});
                    if *mode.lock().unwrap() == Misbehaviour::HugeKeys {
                        keys["padding"] = json!("x".repeat(300 * 1024));
                    }
                    axum::Json(keys)
                }
            }),
        )
        .route(
            "/userinfo",
            axum::routing::get(|| async {
                axum::Json(json!({"sub": "misbehaving-sub", "email": "mis@upstream.example"}))
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
    StandIn {
        base,
        mode,
        followed,
    }
}

/// Each way an upstream can misbehave (a discovery document or a key set over the caps, a
/// redirect from its token endpoint, a token endpoint slower than Sigil's 5 s, so slow that
/// 64 logins wait on it at once) is refused: the application gets Auth0's error with its
/// `state`, no user is made, the redirect is never followed and a 65th call is refused at
/// once; a provider without an end_session_endpoint ends a federated logout at Sigil.
#[tokio::test]
async fn an_upstream_that_misbehaves_logs_nobody_in() {
    let f = Federation::start().await;
    let upstream = stand_in(f.down.clock_now()).await;
    let web = f.down.web.0.to_string();
    let (status, body) = call(
        &f.down,
        "POST",
        "/connections",
        Some(&f.admin),
        Some(json!({
            "name": "shaky",
            "strategy": "oidc",
            "options": {
                "type": "back_channel",
                "client_id": "sigil-at-shaky",
                "client_secret": "shaky-secret",
                "issuer": upstream.base,
                "authorization_endpoint": format!("{}/authorize", upstream.base),
                "token_endpoint": format!("{}/token", upstream.base),
                "userinfo_endpoint": format!("{}/userinfo", upstream.base),
                "jwks_uri": format!("{}/keys", upstream.base),
                "scope": "openid email",
            },
            "enabled_clients": [web],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Its discovery document is over the cap: a connection discovered there is refused.
    let (status, body) = call(
        &f.down,
        "POST",
        "/connections",
        Some(&f.admin),
        Some(json!({
            "name": "bloated",
            "strategy": "oidc",
            "options": {"client_id": "x", "client_secret": "y", "discovery_url": upstream.base},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("discovery_url") && m.contains("more than")),
        "{body}"
    );
    // Through the stand-in to down's callback and on to the application: its answer.
    let log_in = || async {
        let mut browser = Browser::new();
        let start = browser
            .get(&authorize_url(&f.down, &web, "&connection=shaky"))
            .await;
        let at_upstream = browser.get(start.location()).await;
        let back = browser.get(at_upstream.location()).await;
        (browser, callback_params(back.location()))
    };
    // (misbehaviour, the application's error)
    for (mode, error) in [
        (Misbehaviour::RedirectingToken, "access_denied"),
        (Misbehaviour::HugeKeys, "access_denied"),
        (Misbehaviour::SlowToken, "temporarily_unavailable"),
    ] {
        *upstream.mode.lock().unwrap() = mode;
        let (_, params) = log_in().await;
        assert_eq!(param(&params, "error"), Some(error), "{mode:?}: {params:?}");
        assert_eq!(param(&params, "state"), Some("xyz"), "{mode:?}");
        assert_eq!(param(&params, "code"), None, "{mode:?}");
    }
    assert_eq!(
        upstream.followed.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a redirect from the upstream is never followed"
    );
    let made = f
        .down
        .store
        .user(&UserId::from("oidc|shaky|misbehaving-sub"))
        .await
        .unwrap();
    assert!(made.is_none(), "no user was made: {made:?}");

    // At most 64 calls to other providers are in flight: with 64 logins waiting on the slow
    // token endpoint, a 65th is refused at once (temporarily_unavailable) without waiting.
    *upstream.mode.lock().unwrap() = Misbehaviour::SlowToken;
    let mut callbacks = Vec::new();
    for _ in 0..65 {
        let mut browser = Browser::new();
        let start = browser
            .get(&authorize_url(&f.down, &web, "&connection=shaky"))
            .await;
        let at_upstream = browser.get(start.location()).await;
        callbacks.push((browser, at_upstream.location().to_owned()));
    }
    let (done, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let tasks: Vec<_> = callbacks
        .into_iter()
        .map(|(mut browser, url)| {
            let done = done.clone();
            tokio::spawn(async move {
                let _ = done.send(callback_params(browser.get(&url).await.location()));
            })
        })
        .collect();
    let first = answered.recv().await.unwrap();
    assert_eq!(
        param(&first, "error"),
        Some("temporarily_unavailable"),
        "{first:?}"
    );
    let unfinished = tasks.iter().filter(|task| !task.is_finished()).count();
    assert!(
        unfinished >= 60,
        "{unfinished} of 65 still waiting after the first answer"
    );
    for _ in 1..65 {
        let params = answered.recv().await.unwrap();
        assert_eq!(
            param(&params, "error"),
            Some("temporarily_unavailable"),
            "{params:?}"
        );
    }

    // Behaving, the same stand-in logs the user in (so the refusals above were its doing).
    *upstream.mode.lock().unwrap() = Misbehaviour::None;
    let (mut browser, params) = log_in().await;
    assert!(param(&params, "code").is_some(), "{params:?}");

    // A provider that publishes no end_session_endpoint: `/v2/logout?federated` ends Sigil's
    // session and goes straight back to the application.
    let out = browser
        .get(&format!(
            "{}?federated&client_id={web}&returnTo={}",
            f.down.url("v2/logout"),
            crate::browser::urlencode(crate::app::LOGOUT_URL)
        ))
        .await;
    assert_eq!(out.status, StatusCode::FOUND, "{}", out.body);
    assert_eq!(out.location(), crate::app::LOGOUT_URL);
    assert!(browser.cookie("sigil_session").is_none());
}
