//! A relying party nobody here wrote: the `openidconnect` crate discovers Sigil, sends the
//! browser through the code flow with PKCE and a nonce, redeems the code, verifies the ID token
//! with the published keys (or the client secret, for HS256), and reads `/userinfo`.

use std::future::Future;
use std::pin::Pin;

use chrono::{TimeZone, Utc};
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::core::{CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationContextClass, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};

use crate::app::{CALLBACK, NOW, PASSWORD, TestApp};
use crate::browser::{Browser, param};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

/// The crate's HTTP client interface on the tests' reqwest (no redirects followed, as the
/// crate requires).
fn http_client(
    http: reqwest::Client,
) -> impl Fn(HttpRequest) -> Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>>>> {
    move |request: HttpRequest| {
        let http = http.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|e| HttpError(e.to_string()))?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| HttpError(e.to_string()))?;
            builder
                .body(body.to_vec())
                .map_err(|e| HttpError(e.to_string()))
        })
    }
}

#[tokio::test]
async fn the_openidconnect_crate_logs_in_with_the_code_flow() {
    let app = TestApp::start().await;
    let http = http_client(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    );
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .unwrap();

    // (what, client id, secret, ID token algorithm)
    let (backend, backend_secret) = &app.backend;
    for (what, client_id, secret, alg) in [
        (
            "a public client with PKCE",
            app.native.to_string(),
            None,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        ),
        (
            "a confidential client with HTTP Basic and HS256 ID tokens",
            backend.to_string(),
            Some(backend_secret.expose().to_owned()),
            CoreJwsSigningAlgorithm::HmacSha256,
        ),
    ] {
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(client_id.clone()),
            secret.map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .set_pkce_challenge(challenge)
            .url();

        // The user's side: the login page, the password, back at the callback.
        let mut browser = Browser::new();
        let start = browser.get(url.as_str()).await;
        let form = browser.get(start.location()).await;
        let done = browser
            .submit_login(&app, &form.field("tx"), "ann@example.com", PASSWORD)
            .await;
        let (_, query) = done.location().split_once('?').unwrap();
        let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        assert_eq!(
            param(&params, "state"),
            Some(state.secret().as_str()),
            "{what}"
        );
        let code = param(&params, "code").unwrap().to_owned();

        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let id_token = tokens.id_token().expect("an ID token");
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(vec![alg.clone()])
            .set_time_fn(|| Utc.timestamp_opt(NOW, 0).unwrap());
        let claims: &CoreIdTokenClaims = id_token
            .claims(&verifier, &nonce)
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(claims.subject().as_str(), app.ann.as_str(), "{what}");
        assert_eq!(claims.issuer().as_str(), app.base, "{what}");
        assert_eq!(
            claims.email().map(|e| e.as_str()),
            Some("ann@example.com"),
            "{what}"
        );
        assert_eq!(id_token.signing_alg().unwrap(), &alg, "{what}");

        let info: openidconnect::core::CoreUserInfoClaims = client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .unwrap()
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(
            info.email().map(|e| e.as_str()),
            Some("ann@example.com"),
            "{what}"
        );
    }
}

/// With multi-factor authentication asked for by `acr_values` (the crate's
/// `add_auth_context_value`), the ID token the crate verifies says `acr` (the PAPE policy) and
/// `amr` (`mfa`), in its own types.
#[tokio::test]
async fn the_openidconnect_crate_reads_amr_and_acr_after_a_second_factor() {
    let app = TestApp::start().await;
    let token = crate::mfa::management(&app).await;
    crate::mfa::turn_on(&app, &token, serde_json::json!([])).await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let path = format!(
        "/users/{}/authentication-methods",
        crate::browser::urlencode(app.ann.as_str())
    );
    let body = serde_json::json!({"type": "totp", "totp_secret": secret});
    let (status, _) = crate::management::call(&app, "POST", &path, Some(&token), Some(body)).await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let http = http_client(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    );
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(app.native.to_string()), None)
            .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_auth_context_value(AuthenticationContextClass::new(crate::mfa::PAPE.to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new();
    let start = browser.get(url.as_str()).await;
    let form = browser.get(start.location()).await;
    let after_password = browser
        .submit_login(&app, &form.field("tx"), "ann@example.com", PASSWORD)
        .await;
    let page = crate::mfa::mfa_page(&app, &mut browser, &after_password).await;
    let code = crate::mfa::totp(secret, app.clock_now());
    let done = crate::mfa::submit(
        &app,
        &mut browser,
        &page,
        &[("factor", "otp"), ("code", &code)],
    )
    .await;
    let (_, query) = done.location().split_once('?').unwrap();
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    let code = param(&params, "code").unwrap().to_owned();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let now = app.clock_now();
    let verifier = client
        .id_token_verifier()
        .set_time_fn(move || Utc.timestamp_opt(now, 0).unwrap());
    let claims: &CoreIdTokenClaims = tokens
        .id_token()
        .expect("an ID token")
        .claims(&verifier, &nonce)
        .unwrap();
    assert_eq!(
        claims.auth_context_ref().map(|acr| acr.as_str()),
        Some(crate::mfa::PAPE)
    );
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .map(|amr| amr.iter().map(|m| m.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(amr, ["mfa"]);
}
