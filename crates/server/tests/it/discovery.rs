//! Discovery, the JWKS and the health endpoints.

use serde_json::Value;

use crate::app::TestApp;

#[tokio::test]
async fn discovery_names_what_is_served_and_the_jwks_is_public_only() {
    let app = TestApp::start().await;
    let config: Value = app
        .http
        .get(app.url(".well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["issuer"], app.base);
    assert_eq!(config["token_endpoint"], app.url("oauth/token"));
    assert_eq!(config["jwks_uri"], app.url(".well-known/jwks.json"));
    assert_eq!(config["userinfo_endpoint"], app.url("userinfo"));
    assert_eq!(config["authorization_endpoint"], app.url("authorize"));
    assert_eq!(
        config["response_types_supported"],
        serde_json::json!([
            "code",
            "token",
            "id_token",
            "id_token token",
            "code id_token",
            "code token",
            "code id_token token"
        ])
    );
    assert_eq!(
        config["response_modes_supported"],
        serde_json::json!(["query", "fragment", "form_post", "web_message"])
    );
    assert_eq!(
        config["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        config["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        config["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "implicit",
            "client_credentials",
            "refresh_token",
            "password",
            "http://auth0.com/oauth/grant-type/password-realm",
            "http://auth0.com/oauth/grant-type/passwordless/otp"
        ])
    );
    assert_eq!(
        config["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );
    // Client keys are asymmetric: no HS*, and never none.
    assert_eq!(
        config["token_endpoint_auth_signing_alg_values_supported"],
        serde_json::json!([
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
            "EdDSA"
        ])
    );

    let response = app
        .http
        .get(app.url(".well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    for key in keys {
        assert_eq!(
            (
                key["kty"].as_str(),
                key["alg"].as_str(),
                key["use"].as_str()
            ),
            (Some("RSA"), Some("RS256"), Some("sig"))
        );
        assert!(key["kid"].is_string());
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} published");
        }
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::start().await;
    for (path, status, text) in [("healthz", 200, "ok"), ("readyz", 200, "ready")] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(response.text().await.unwrap(), text, "{path}");
    }
}
