//! Users' consent to applications acting on their behalf at an API (Auth0's "user grants").
//!
//! After the user is authenticated (a login or an SSO session), and before `/authorize`
//! answers, [`consent_check`] says whether the user must first approve what the application
//! asks of the API. As at Auth0: only when an API is asked for (`audience`, or the tenant's
//! default audience); never for a first-party application when the API allows skipping consent
//! (`skip_consent_for_verifiable_first_party_clients`); always for a third-party application,
//! unless the user's stored grant for that application and API already covers every scope
//! asked for. `prompt=consent` asks again even then; `prompt=none` turns "consent needed" into
//! `consent_required` (OIDC Core §3.1.2.6), which the caller answers. An approval is kept by
//! [`grant_consent`] as a [`Consent`], the union of what was approved before and now.
//!
//! While the user is asked, the login waits as a [`Continuation`](crate::continuation::Continuation)
//! (`Pending::Consent`), as every paused login does.

use serde::Serialize;

use crate::authorize::Authorization;
use crate::ids::{ConsentId, UserId};
use crate::model::{Client, Consent, ResourceServer};
use crate::oauth::{
    CURRENT_USER_SCOPES, ErrorCode, FlowError, OAuthError, OIDC_SCOPES, api_for_audience,
    is_oidc_scope,
};
use crate::{Rng, Store, UnixTime};

/// One line of the consent page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentScope {
    /// The scope's value (`read:posts`).
    pub value: String,
    /// What it allows, in words: the API's description of the scope, or the value itself
    /// when the API gives none.
    pub description: String,
}

/// What the user is asked to approve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentPrompt {
    /// The API's identifier.
    pub audience: String,
    /// The API's name, for the page.
    pub api_name: String,
    /// The lines to show, OpenID Connect scopes first.
    pub shown: Vec<ConsentScope>,
}

/// The scopes of `requested` that a grant for `api` records: the OpenID Connect scopes, and
/// the scopes `api` defines (for the Management API, only those a user's token may carry).
/// Anything else would be cut from the tokens anyway, so nobody is asked about it.
fn consentable(issuer: &str, requested: &[String], api: &ResourceServer) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested {
        let oidc = is_oidc_scope(scope);
        let defined = api.scopes.iter().any(|s| &s.value == scope)
            && (!api.is_management_api(issuer) || CURRENT_USER_SCOPES.contains(&scope.as_str()));
        if (oidc || defined) && !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    scopes
}

/// Whether the user must approve `authz` for `client` before it is answered, and if so, what
/// to show: `None` when no API is asked for, when a first-party client asks an API that lets
/// first parties skip consent, or when `stored` already covers every scope asked for (and
/// `prompt=consent` was not given).
pub fn consent_needed(
    issuer: &str,
    client: &Client,
    api: Option<&ResourceServer>,
    stored: Option<&Consent>,
    authz: &Authorization,
) -> Option<ConsentPrompt> {
    let api = api?;
    if client.is_first_party && api.skip_consent_for_verifiable_first_party_clients {
        return None;
    }
    let requested = consentable(issuer, &authz.scope, api);
    let covered = stored.is_some_and(|grant| requested.iter().all(|s| grant.scope.contains(s)));
    if covered && !authz.force_consent {
        return None;
    }
    let mut shown: Vec<ConsentScope> = OIDC_SCOPES
        .iter()
        .filter(|(s, _)| requested.iter().any(|r| r == s))
        .filter_map(|(value, words)| {
            words.map(|words| ConsentScope {
                value: (*value).to_owned(),
                description: words.to_owned(),
            })
        })
        .collect();
    shown.extend(
        api.scopes
            .iter()
            .filter(|s| requested.contains(&s.value) && !is_oidc_scope(&s.value))
            .map(|s| ConsentScope {
                value: s.value.clone(),
                description: if s.description.trim().is_empty() {
                    s.value.clone()
                } else {
                    s.description.clone()
                },
            }),
    );
    Some(ConsentPrompt {
        audience: api.identifier.clone(),
        api_name: api.name.clone(),
        shown,
    })
}

/// The application `authz` names, or `access_denied` when it has gone meanwhile.
async fn client_of(store: &impl Store, authz: &Authorization) -> Result<Client, FlowError> {
    store.client(&authz.client_id).await?.ok_or_else(|| {
        OAuthError::new(ErrorCode::AccessDenied, "the application no longer exists").into()
    })
}

/// [`consent_needed`] for `user`, with the client, the API (the tenant's default audience
/// when the request names none) and the user's stored grant read from `store`.
pub async fn consent_check(
    store: &impl Store,
    issuer: &str,
    authz: &Authorization,
    user: &UserId,
) -> Result<Option<ConsentPrompt>, FlowError> {
    let client = client_of(store, authz).await?;
    let Some(api) = api_for_audience(store, authz.audience.as_deref()).await? else {
        return Ok(None);
    };
    if client.is_first_party && api.skip_consent_for_verifiable_first_party_clients {
        return Ok(None);
    }
    let stored = store
        .consent(user, &client.client_id, &api.identifier)
        .await?;
    Ok(consent_needed(
        issuer,
        &client,
        Some(&api),
        stored.as_ref(),
        authz,
    ))
}

/// Records that `user` approved `authz`: the grant for its client and API then holds what it
/// held before and every scope asked for now. Nothing is recorded when no API is asked for.
pub async fn grant_consent(
    store: &impl Store,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    authz: &Authorization,
    user: &UserId,
) -> Result<Option<Consent>, FlowError> {
    let client = client_of(store, authz).await?;
    let Some(api) = api_for_audience(store, authz.audience.as_deref()).await? else {
        return Ok(None);
    };
    let mut scope = store
        .consent(user, &client.client_id, &api.identifier)
        .await?
        .map(|grant| grant.scope)
        .unwrap_or_default();
    for s in consentable(issuer, &authz.scope, &api) {
        if !scope.contains(&s) {
            scope.push(s);
        }
    }
    let consent = Consent {
        id: ConsentId::generate(rng),
        user_id: user.clone(),
        client_id: client.client_id,
        audience: api.identifier,
        scope,
        created_at: now,
        updated_at: now,
    };
    Ok(Some(store.put_consent(&consent).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::{ResponseMode, ResponseType};
    use crate::ids::{ClientId, ResourceServerId};
    use crate::model::{AppType, ResourceServerScope};

    const ISSUER: &str = "https://sigil.example/";

    fn authz(scope: &str, force_consent: bool) -> Authorization {
        Authorization {
            client_id: ClientId::from("c"),
            redirect_uri: "https://app.example/cb".to_owned(),
            response_type: ResponseType {
                code: true,
                id_token: false,
                token: false,
            },
            response_mode: ResponseMode::Query,
            scope: scope.split(' ').map(str::to_owned).collect(),
            state: None,
            nonce: None,
            audience: None,
            code_challenge: None,
            force_login: false,
            silent: false,
            force_consent,
            max_age: None,
            login_hint: None,
            connection: None,
            acr_values: Vec::new(),
        }
    }

    fn api(identifier: &str, skip: bool) -> ResourceServer {
        let mut api = ResourceServer::new(
            ResourceServerId::from("r"),
            identifier.to_owned(),
            "Posts".to_owned(),
            UnixTime(0),
        );
        api.scopes = [
            "read:posts",
            "write:posts",
            "read:current_user",
            "read:users",
        ]
        .map(|value| ResourceServerScope {
            value: value.to_owned(),
            description: format!("may {value}"),
        })
        .to_vec();
        api.skip_consent_for_verifiable_first_party_clients = skip;
        api
    }

    fn stored(scope: &[&str]) -> Consent {
        Consent {
            id: ConsentId::from("g"),
            user_id: UserId::from("auth0|u"),
            client_id: ClientId::from("c"),
            audience: "https://posts.example/".to_owned(),
            scope: scope.iter().map(|s| (*s).to_owned()).collect(),
            created_at: UnixTime(0),
            updated_at: UnixTime(0),
        }
    }

    #[test]
    fn consent_is_needed_as_at_auth0() {
        let management = format!("{ISSUER}api/v2/");
        let posts = "https://posts.example/";
        // What, first party, API (identifier, skip), stored grant, scope, prompt=consent, the
        // scopes shown (None: not asked).
        type Case<'a> = (
            &'a str,
            bool,
            Option<(&'a str, bool)>,
            Option<&'a [&'a str]>,
            &'a str,
            bool,
            Option<&'a [&'a str]>,
        );
        let cases: [Case; 9] = [
            ("no API", false, None, None, "openid profile", false, None),
            (
                "first party, API skips",
                true,
                Some((posts, true)),
                None,
                "read:posts",
                true,
                None,
            ),
            (
                "first party, API asks",
                true,
                Some((posts, false)),
                None,
                "read:posts",
                false,
                Some(&["read:posts"]),
            ),
            (
                "third party, nothing stored; undefined scopes not shown",
                false,
                Some((posts, true)),
                None,
                "openid profile read:posts nope",
                false,
                Some(&["profile", "read:posts"]),
            ),
            (
                "third party, covered",
                false,
                Some((posts, true)),
                Some(&["openid", "read:posts", "write:posts"]),
                "openid read:posts",
                false,
                None,
            ),
            (
                "third party, covered, prompt=consent",
                false,
                Some((posts, true)),
                Some(&["openid", "read:posts"]),
                "openid read:posts",
                true,
                Some(&["read:posts"]),
            ),
            (
                "third party, more than stored",
                false,
                Some((posts, true)),
                Some(&["read:posts"]),
                "read:posts write:posts",
                false,
                Some(&["read:posts", "write:posts"]),
            ),
            (
                "third party, nothing stored, only openid",
                false,
                Some((posts, true)),
                None,
                "openid",
                false,
                Some(&[]),
            ),
            (
                "the Management API: only what a user's token may carry",
                false,
                Some((&management, true)),
                None,
                "read:current_user read:users",
                false,
                Some(&["read:current_user"]),
            ),
        ];
        for (what, first_party, api_spec, grant, scope, force, shown) in cases {
            let mut client = Client::new(
                ClientId::from("c"),
                "App".to_owned(),
                AppType::Native,
                None,
                UnixTime(0),
            );
            client.is_first_party = first_party;
            let api = api_spec.map(|(identifier, skip)| api(identifier, skip));
            let grant = grant.map(stored);
            let prompt = consent_needed(
                ISSUER,
                &client,
                api.as_ref(),
                grant.as_ref(),
                &authz(scope, force),
            );
            let values = prompt.map(|p| p.shown.into_iter().map(|s| s.value).collect::<Vec<_>>());
            let expected = shown.map(|s| s.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>());
            assert_eq!(values, expected, "{what}");
        }
    }
}
