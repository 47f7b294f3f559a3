//! Account linking, as Auth0's Management API does it: `POST /api/v2/users/{id}/identities`
//! names the secondary account by `provider` and `user_id` (optionally `connection_id`), or by
//! `link_with`, an ID token of the secondary account; `DELETE
//! /api/v2/users/{id}/identities/{provider}/{user_id}` names the identity to unlink. This reads
//! those bodies and paths into the accounts they mean, and says why a link was refused; the
//! store does the linking itself, atomically.

use serde::Deserialize;

use super::body::Body;
use super::error::ManagementError;
use crate::LinkRefusal;
use crate::ids::{ConnectionId, UserId};

/// The body of `POST /users/{id}/identities`. Read it with [`super::parse_body`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// The secondary account's identity provider (`auth0`, `google-oauth2`, …).
    pub provider: Option<String>,
    /// The secondary account's connection, for the `auth0` provider's several databases.
    pub connection_id: Option<String>,
    /// The secondary account's id, with or without the `provider|` prefix; Auth0 takes a
    /// number too.
    pub user_id: Option<AccountId>,
    /// An ID token of the secondary account, instead of the three above.
    pub link_with: Option<String>,
}

impl Body for LinkBody {
    const FIELDS: &'static [&'static str] = &["provider", "connection_id", "user_id", "link_with"];
}

/// A `user_id` as Auth0 takes it: text or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AccountId {
    /// `abc` or `auth0|abc`.
    Text(String),
    /// `12345`.
    Number(u64),
}

/// The secondary account a link body names.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkTarget {
    /// By id, and by connection when the body gave one (which must be the account's).
    Account {
        /// `provider|id`.
        user_id: UserId,
        /// The connection the account must be of.
        connection_id: Option<ConnectionId>,
    },
    /// By an ID token the caller must verify: its subject is the account.
    Token(String),
}

impl LinkBody {
    /// The account named: by `link_with` alone, or by `provider` and `user_id`.
    pub fn target(self) -> Result<LinkTarget, ManagementError> {
        if let Some(token) = self.link_with {
            if self.provider.is_some() || self.user_id.is_some() || self.connection_id.is_some() {
                return Err(ManagementError::InvalidBody(
                    "Payload validation error: 'provider, user_id and connection_id must not \
                     be sent with link_with'."
                        .to_owned(),
                ));
            }
            if token.is_empty() {
                return Err(ManagementError::body("link_with", "must not be empty"));
            }
            return Ok(LinkTarget::Token(token));
        }
        let missing = |field: &str| {
            ManagementError::InvalidBody(format!(
                "Payload validation error: 'Missing required property: {field}'."
            ))
        };
        let provider = self.provider.ok_or_else(|| missing("provider"))?;
        let id = match self.user_id.ok_or_else(|| missing("user_id"))? {
            AccountId::Text(text) => text,
            AccountId::Number(n) => n.to_string(),
        };
        Ok(LinkTarget::Account {
            user_id: qualified(&provider, &id)?,
            connection_id: self.connection_id.map(ConnectionId),
        })
    }
}

/// `provider|id` from a provider and an id given with or without that prefix. Only an
/// enterprise or custom `oauth2` identity's id holds `|` itself: it is `<connection>|<id at
/// the provider>` (`oidc|corp|alice`), and that id may be another Auth0's (`corp|auth0|abc`);
/// any other id with a `|` names another provider's account.
pub fn qualified(provider: &str, id: &str) -> Result<UserId, ManagementError> {
    if provider.is_empty() || provider.contains('|') {
        return Err(ManagementError::body(
            "provider",
            "must be a provider name such as auth0",
        ));
    }
    let local = local_id(provider, id);
    let nested = crate::model::Strategy::parse(provider)
        .is_some_and(crate::model::Strategy::names_connection_in_ids);
    let well_formed = if nested {
        local
            .split_once('|')
            .is_some_and(|(connection, upstream)| !connection.is_empty() && !upstream.is_empty())
    } else {
        !local.contains('|')
    };
    if local.is_empty() || !well_formed || local.chars().any(char::is_control) {
        return Err(ManagementError::body(
            "user_id",
            if nested {
                format!(
                    "must be an id of the {provider} provider, <connection>|<id>, with or without \
                     '{provider}|'"
                )
            } else {
                format!("must be an id of the {provider} provider, with or without '{provider}|'")
            },
        ));
    }
    Ok(UserId(format!("{provider}|{local}")))
}

/// The id at the provider: `id` without a leading `provider|`.
pub fn local_id<'a>(provider: &str, id: &'a str) -> &'a str {
    id.strip_prefix(provider)
        .and_then(|rest| rest.strip_prefix('|'))
        .unwrap_or(id)
}

/// The refusal to answer for a link the store refused.
pub fn link_refused(refusal: LinkRefusal, secondary: &UserId) -> ManagementError {
    match refusal {
        LinkRefusal::NoPrimary => ManagementError::UserNotFound,
        LinkRefusal::NoSecondary => ManagementError::AccountNotFound(format!(
            "The secondary account {secondary} does not exist, or is linked already."
        )),
        LinkRefusal::Same => ManagementError::NotSupported(
            "Main identity and the identity to link are the same user.".to_owned(),
        ),
        LinkRefusal::SecondaryHasLinks => ManagementError::NotSupported(format!(
            "The secondary account {secondary} has accounts linked to it; unlink them first."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;

    fn target(body: &str) -> Result<LinkTarget, String> {
        parse_body::<LinkBody>(body.as_bytes())
            .and_then(LinkBody::target)
            .map_err(|e| e.to_string())
    }

    fn account(id: &str, connection: Option<&str>) -> Result<LinkTarget, String> {
        Ok(LinkTarget::Account {
            user_id: UserId(id.to_owned()),
            connection_id: connection.map(|c| ConnectionId(c.to_owned())),
        })
    }

    #[test]
    fn link_bodies_name_one_account_one_way() {
        let refused = |why: &str| Err::<LinkTarget, _>(why.to_owned());
        let cases: &[(&str, Result<LinkTarget, String>)] = &[
            (
                r#"{"provider":"auth0","user_id":"abc"}"#,
                account("auth0|abc", None),
            ),
            (
                r#"{"provider":"auth0","user_id":"auth0|abc","connection_id":"con_1"}"#,
                account("auth0|abc", Some("con_1")),
            ),
            (
                r#"{"provider":"google-oauth2","user_id":1234}"#,
                account("google-oauth2|1234", None),
            ),
            (
                r#"{"link_with":"a.b.c"}"#,
                Ok(LinkTarget::Token("a.b.c".to_owned())),
            ),
            (
                r#"{"link_with":"a.b.c","user_id":"abc"}"#,
                refused(
                    "Payload validation error: 'provider, user_id and connection_id must not be sent with link_with'.",
                ),
            ),
            (
                r#"{"user_id":"abc"}"#,
                refused("Payload validation error: 'Missing required property: provider'."),
            ),
            (
                r#"{"provider":"auth0"}"#,
                refused("Payload validation error: 'Missing required property: user_id'."),
            ),
            (
                r#"{"provider":"auth0","user_id":"google-oauth2|9"}"#,
                refused(
                    "Payload validation error: 'must be an id of the auth0 provider, with or without 'auth0|'' on property user_id.",
                ),
            ),
            (
                r#"{"provider":"oidc","user_id":"corp|auth0|abc"}"#,
                account("oidc|corp|auth0|abc", None),
            ),
            (
                r#"{"provider":"oidc","user_id":"oidc|corp|alice"}"#,
                account("oidc|corp|alice", None),
            ),
            (
                r#"{"provider":"oidc","user_id":"alice"}"#,
                refused(
                    "Payload validation error: 'must be an id of the oidc provider, <connection>|<id>, with or without 'oidc|'' on property user_id.",
                ),
            ),
            (
                r#"{"provider":"auth0","user_id":""}"#,
                refused(
                    "Payload validation error: 'must be an id of the auth0 provider, with or without 'auth0|'' on property user_id.",
                ),
            ),
            (
                r#"{"provider":"a|b","user_id":"x"}"#,
                refused(
                    "Payload validation error: 'must be a provider name such as auth0' on property provider.",
                ),
            ),
            (
                r#"{"link_with":""}"#,
                refused("Payload validation error: 'must not be empty' on property link_with."),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(&target(body), want, "{body}");
        }
        assert!(
            target(r#"{"provider":"auth0","user_id":"x","extra":1}"#)
                .unwrap_err()
                .contains("extra")
        );
    }

    #[test]
    fn unlink_paths_take_the_id_with_or_without_the_provider() {
        assert_eq!(local_id("auth0", "auth0|abc"), "abc");
        assert_eq!(local_id("auth0", "abc"), "abc");
        assert_eq!(local_id("auth0", "auth0x|abc"), "auth0x|abc");
    }
}
