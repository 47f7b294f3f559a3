//! The client credentials grant (RFC 6749 §4.4), as Auth0 runs it: the client must be allowed
//! the grant, name an API (`audience`) and hold a client grant for it; the token carries the
//! requested scopes cut to the granted ones (all granted ones when none are requested).

use crate::Rng;
use crate::UnixTime;
use crate::keyring::KeyRing;
use crate::model::{Client, GrantType};

use super::access_token::{AccessToken, Subject};
use super::{
    ClientAuth, Directory, ErrorCode, FlowError, OAuthError, TokenResponse, authenticate,
    require_grant,
};
use crate::actions::ActionRunner;
use crate::claims;

/// A parsed client credentials request.
#[derive(Clone, Debug)]
pub struct ClientCredentialsRequest {
    /// How the client authenticated.
    pub auth: ClientAuth,
    /// The API the token is for.
    pub audience: Option<String>,
    /// Requested scopes, space-separated.
    pub scope: Option<String>,
    /// The caller's address (`event.request.ip` for the Actions).
    pub ip: Option<String>,
}

/// Auth0's `event` for credentials-exchange.
fn exchange_event(
    client: &Client,
    audience: &str,
    asked: &[&str],
    scopes: &[String],
    ip: Option<&str>,
) -> serde_json::Value {
    serde_json::json!({
        "client": {
            "client_id": client.client_id,
            "name": client.name,
            "metadata": client.settings.client_metadata,
        },
        "resource_server": {"identifier": audience},
        "transaction": {"requested_scopes": asked},
        "accessToken": {"customClaims": {}, "scope": scopes},
        "tenant": {"id": "sigil"},
        "request": {"ip": ip},
    })
}

/// The audience a client asked for, with the Management API also answering to
/// `https://<host>/api/v2/` (SDKs hard-code https).
pub fn canonical_audience(issuer: &str, audience: &str) -> String {
    let host = issuer
        .split_once("://")
        .map_or(issuer, |(_, rest)| rest)
        .trim_end_matches('/');
    if audience == format!("https://{host}/api/v2/") {
        super::management_audience(issuer)
    } else {
        audience.to_owned()
    }
}

/// Issues an access token to a machine. Returns the answer and the client (for the log).
pub async fn client_credentials(
    store: &impl Directory,
    actions: &impl ActionRunner,
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    request: &ClientCredentialsRequest,
) -> Result<(TokenResponse, Client), FlowError> {
    let client = authenticate(store, &request.auth, issuer, now).await?;
    require_grant(&client, &[GrantType::ClientCredentials])?;
    let Some(requested) = request.audience.as_deref().filter(|a| !a.is_empty()) else {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            "No audience parameter was provided, and no default audience has been configured",
        )
        .into());
    };
    let audience = canonical_audience(issuer, requested);
    let Some(api) = store.api(&audience).await? else {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            format!("Service not found: {requested}"),
        )
        .into());
    };
    let Some(grant) = store.client_grant(&client.client_id, &audience).await? else {
        return Err(OAuthError::new(
            ErrorCode::AccessDenied,
            format!(
                "Client is not authorized to access \"{requested}\". You need to create a \
                 \"client-grant\" associated to this API."
            ),
        )
        .into());
    };
    let asked: Vec<&str> = request
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    let scopes: Vec<String> = if asked.is_empty() {
        grant.scope.clone()
    } else {
        grant
            .scope
            .iter()
            .filter(|s| asked.contains(&s.as_str()))
            .cloned()
            .collect()
    };
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    // The credentials-exchange trigger: its Actions may add claims or refuse.
    let mut executions = Vec::new();
    let custom = match actions
        .run("credentials-exchange", || {
            exchange_event(
                &client,
                &api.identifier,
                &asked,
                &scopes,
                request.ip.as_deref(),
            )
        })
        .await?
    {
        None => None,
        Some(run) => {
            executions.extend(run.execution_id.clone());
            let set = crate::actions::credentials_exchange(&run)?;
            let token = claims::Token::Access {
                scopes: &scopes,
                management: api.is_management_api(issuer),
            };
            let host = url::Url::parse(issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            Some(
                claims::apply_custom(&token, host.as_deref(), set)
                    .map_err(|e| OAuthError::new(ErrorCode::AccessDenied, e.to_string()))?,
            )
        }
    };
    let (signed, lifetime) = AccessToken {
        api: &api,
        subject: Subject::Machine,
        client_id: &client.client_id,
        scope: scope.as_deref(),
        userinfo: false,
        gty: Some("client-credentials"),
        // RBAC for a machine: its permissions are the scopes it was granted.
        permissions: (api.enforce_policies && api.token_dialect.includes_permissions())
            .then_some(scopes.as_slice()),
        custom: custom.as_ref(),
    }
    .sign(keys, rng, issuer, now)?;
    Ok((
        TokenResponse {
            access_token: signed,
            token_type: "Bearer",
            expires_in: lifetime,
            scope,
            id_token: None,
            refresh_token: None,
            recovery_code: None,
            issued: super::Issued {
                client_name: Some(client.name.clone()),
                audience: Some(api.identifier.clone()),
                alg: Some(api.signing_alg.as_str()),
                executions,
                ..super::Issued::default()
            },
        },
        client,
    ))
}

#[cfg(test)]
mod tests {
    use super::canonical_audience;

    #[test]
    fn the_management_api_answers_to_its_https_alias() {
        let issuer = "http://127.0.0.1:8787/";
        for (asked, canonical) in [
            (
                "https://127.0.0.1:8787/api/v2/",
                "http://127.0.0.1:8787/api/v2/",
            ),
            (
                "http://127.0.0.1:8787/api/v2/",
                "http://127.0.0.1:8787/api/v2/",
            ),
            ("https://api.example.com/", "https://api.example.com/"),
            (
                "https://127.0.0.1:8787/api/v3/",
                "https://127.0.0.1:8787/api/v3/",
            ),
        ] {
            assert_eq!(canonical_audience(issuer, asked), canonical, "{asked}");
        }
    }
}
