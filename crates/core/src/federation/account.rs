//! The Sigil account of an upstream user, written at each federated login: made at the first
//! (its `user_id` in Auth0's forms, `identities[0]` naming the provider and connection),
//! refreshed afterwards as the connection's `set_user_root_attributes` says, with the
//! provider's latest tokens kept sealed in the identity.
//!
//! No account is ever matched by email: the identity (provider and upstream id) is the only
//! key, so an upstream that vouches for an address never logs in as the database user who
//! holds it (Auth0's rule, and the account takeover peers shipped when they linked by email).
//! A linked identity logs in as the user it was linked into, as database credentials do.

use super::profile::{Profile, federated_user_id};
use super::settings::{RootAttributes, Settings};
use crate::model::{Connection, Identity, JsonObject, StrategyKind, User};
use crate::secret::Token;
use crate::{Conflict, Store, StoreError, UnixTime};

/// The tokens the upstream gave at this login; `Debug` never shows them.
#[derive(Default)]
pub struct UpstreamTokens {
    /// Its access token, for its APIs.
    pub access_token: Option<String>,
    /// Its refresh token, when it gave one.
    pub refresh_token: Option<String>,
    /// The access token's lifetime in seconds.
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for UpstreamTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |token: &Option<String>| token.as_ref().map(|_| "[redacted]");
        f.debug_struct("UpstreamTokens")
            .field("access_token", &shown(&self.access_token))
            .field("refresh_token", &shown(&self.refresh_token))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The account a federated login logs in as.
#[derive(Debug)]
pub struct FederatedAccount {
    /// The user to log in as (the primary user when the identity is linked into one).
    pub user: User,
    /// Whether this login made the account.
    pub created: bool,
}

/// Makes or refreshes the account of `profile` at `connection`, and answers the user to log
/// in as.
pub async fn save(
    store: &impl Store,
    connection: &Connection,
    settings: &Settings,
    mut profile: Profile,
    tokens: UpstreamTokens,
    now: UnixTime,
) -> Result<FederatedAccount, StoreError> {
    profile
        .attributes
        .retain(|name, _| !settings.non_persistent_attrs.contains(name));
    let strategy = connection.strategy;
    let (user_id, identity_id) = federated_user_id(
        strategy.as_str(),
        &connection.name,
        &profile.upstream_id,
        !strategy.names_connection_in_ids(),
    );
    let (account, created) = match store.account(&user_id).await? {
        Some(existing) => (existing, false),
        None => {
            let identity = Identity {
                provider: strategy.as_str().to_owned(),
                user_id: identity_id,
                connection: connection.name.clone(),
                is_social: strategy.kind() == StrategyKind::Social,
                access_token: None,
                refresh_token: None,
                expires_in: None,
                profile_data: None,
            };
            let user = first_login(
                user_id.clone(),
                connection,
                identity,
                &profile,
                &tokens,
                settings,
                now,
            );
            match store.create_user(&user).await {
                Ok(()) => (user, true),
                // Another login of the same upstream user made it a moment ago.
                Err(StoreError::Conflict(Conflict::UserId)) => match store.account(&user_id).await?
                {
                    Some(existing) => (existing, false),
                    None => return Err(StoreError::NotFound("user")),
                },
                Err(e) => return Err(e),
            }
        }
    };
    let account = if created {
        account
    } else {
        let refreshed = later_login(account, &profile, tokens, settings.root_attributes, now);
        store.update_federated_user(&refreshed).await?;
        refreshed
    };
    let user = match &account.linked_to {
        None => account,
        Some(primary) => store
            .user(primary)
            .await?
            .ok_or(StoreError::NotFound("user"))?,
    };
    Ok(FederatedAccount { user, created })
}

fn token(value: &Option<String>) -> Option<Token> {
    value.clone().map(Token::new)
}

/// A new user from the upstream's profile.
fn first_login(
    user_id: crate::ids::UserId,
    connection: &Connection,
    mut identity: Identity,
    profile: &Profile,
    tokens: &UpstreamTokens,
    settings: &Settings,
    now: UnixTime,
) -> User {
    identity.access_token = token(&tokens.access_token);
    identity.refresh_token = token(&tokens.refresh_token);
    identity.expires_in = tokens.expires_in;
    let profile_fields = settings.root_attributes != RootAttributes::NeverOnLogin;
    let pick = |v: &Option<String>| if profile_fields { v.clone() } else { None };
    User {
        email: profile.email.clone(),
        email_verified: profile.email_verified,
        // Auth0's users always have a name: the email's when the upstream gave none.
        name: pick(&profile.name).or_else(|| profile.email.clone()),
        given_name: pick(&profile.given_name),
        family_name: pick(&profile.family_name),
        nickname: pick(&profile.nickname),
        picture: pick(&profile.picture),
        identities: vec![identity],
        idp_attributes: if profile_fields {
            profile.attributes.clone()
        } else {
            JsonObject::new()
        },
        ..User::first(user_id, connection, now)
    }
}

/// `account` after a later login: the provider's new tokens (a refresh token it did not give
/// again is kept), and under `on_each_login` the root attributes it gave (what it left out
/// is never blanked; an email comes with its own `email_verified`).
fn later_login(
    mut account: User,
    profile: &Profile,
    tokens: UpstreamTokens,
    root: RootAttributes,
    now: UnixTime,
) -> User {
    if let Some(identity) = account.identities.first_mut() {
        identity.access_token = token(&tokens.access_token);
        if tokens.refresh_token.is_some() {
            identity.refresh_token = token(&tokens.refresh_token);
        }
        identity.expires_in = tokens.expires_in;
    }
    if root == RootAttributes::OnEachLogin {
        let mut changed = false;
        let mut set = |field: &mut Option<String>, value: &Option<String>| {
            if value.is_some() && field != value {
                field.clone_from(value);
                changed = true;
            }
        };
        set(&mut account.name, &profile.name);
        set(&mut account.given_name, &profile.given_name);
        set(&mut account.family_name, &profile.family_name);
        set(&mut account.nickname, &profile.nickname);
        set(&mut account.picture, &profile.picture);
        if profile.email.is_some()
            && (account.email != profile.email || account.email_verified != profile.email_verified)
        {
            account.email.clone_from(&profile.email);
            account.email_verified = profile.email_verified;
            changed = true;
        }
        for (name, value) in &profile.attributes {
            if account.idp_attributes.get(name) != Some(value) {
                account.idp_attributes.insert(name.clone(), value.clone());
                changed = true;
            }
        }
        if changed {
            account.updated_at = now;
        }
    }
    account
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(name: Option<&str>, email: Option<(&str, bool)>) -> Profile {
        Profile {
            upstream_id: "alice".to_owned(),
            numeric_id: false,
            email: email.map(|(e, _)| e.to_owned()),
            email_verified: email.is_some_and(|(_, v)| v),
            name: name.map(str::to_owned),
            given_name: None,
            family_name: None,
            nickname: Some("al".to_owned()),
            picture: None,
            attributes: json!({"locale": "fr"}).as_object().unwrap().clone(),
        }
    }

    fn account() -> User {
        let connection = Connection::new(
            crate::ids::ConnectionId::from("con_1"),
            "corp",
            crate::model::Strategy::Oidc,
            crate::model::ConnectionOptions::default(),
            UnixTime(0),
        );
        let mut user = User::new_database(
            crate::ids::UserId::from("oidc|corp|alice"),
            &connection,
            crate::model::NewUser {
                email: "a@corp.example".to_owned(),
                email_verified: true,
                username: None,
                password: None,
            },
            UnixTime(0),
        );
        user.name = Some("Alice".to_owned());
        user.identities = vec![Identity {
            provider: "oidc".to_owned(),
            user_id: "corp|alice".to_owned(),
            connection: "corp".to_owned(),
            is_social: false,
            access_token: Some(Token::new("old".to_owned())),
            refresh_token: Some(Token::new("old-refresh".to_owned())),
            expires_in: Some(60),
            profile_data: None,
        }];
        user
    }

    #[test]
    fn debug_never_shows_the_providers_tokens() {
        let tokens = UpstreamTokens {
            access_token: Some("ya29.secret-access".to_owned()),
            refresh_token: Some("1//secret-refresh".to_owned()),
            expires_in: Some(3599),
        };
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(
            shown.contains("3599") && shown.contains("[redacted]"),
            "{shown}"
        );
    }

    #[test]
    fn later_logins_refresh_as_the_connection_says_and_never_blank() {
        let tokens = || UpstreamTokens {
            access_token: Some("new".to_owned()),
            refresh_token: None,
            expires_in: Some(3600),
        };
        // (setting, upstream name, upstream email, name after, email after, verified after)
        let cases = [
            (
                RootAttributes::OnEachLogin,
                Some("Alice B"),
                None,
                "Alice B",
                "a@corp.example",
                true,
            ),
            (
                RootAttributes::OnEachLogin,
                None,
                None,
                "Alice",
                "a@corp.example",
                true,
            ),
            (
                RootAttributes::OnEachLogin,
                None,
                Some(("b@corp.example", false)),
                "Alice",
                "b@corp.example",
                false,
            ),
            (
                RootAttributes::OnFirstLogin,
                Some("Alice B"),
                Some(("b@x", true)),
                "Alice",
                "a@corp.example",
                true,
            ),
            (
                RootAttributes::NeverOnLogin,
                Some("Alice B"),
                None,
                "Alice",
                "a@corp.example",
                true,
            ),
        ];
        for (root, name, email, name_after, email_after, verified_after) in cases {
            let after = later_login(
                account(),
                &profile(name, email),
                tokens(),
                root,
                UnixTime(9),
            );
            assert_eq!(after.name.as_deref(), Some(name_after), "{root:?} {name:?}");
            assert_eq!(
                after.email.as_deref(),
                Some(email_after),
                "{root:?} {email:?}"
            );
            assert_eq!(after.email_verified, verified_after, "{root:?} {email:?}");
            let identity = &after.identities[0];
            assert_eq!(
                identity.access_token.as_ref().map(Token::expose),
                Some("new")
            );
            assert_eq!(
                identity.refresh_token.as_ref().map(Token::expose),
                Some("old-refresh"),
                "a refresh token not given again is kept"
            );
            assert_eq!(identity.expires_in, Some(3600));
        }
    }
}
