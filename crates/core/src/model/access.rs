//! Who may have what: client grants (machine access to APIs), roles and permissions (RBAC),
//! and users' consents to applications (Auth0's "grants").

use crate::UnixTime;
use crate::ids::{ClientGrantId, ClientId, ConsentId, RoleId, UserId};

/// A client's permission to get tokens for an API, with at most these scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientGrant {
    /// `cgr_…`.
    pub id: ClientGrantId,
    /// The client.
    pub client_id: ClientId,
    /// The API's identifier; one grant per client and API.
    pub audience: String,
    /// The scopes granted.
    pub scope: Vec<String>,
    /// When it was made.
    pub created_at: UnixTime,
}

/// A role: a named set of permissions given to users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// `rol_…`.
    pub id: RoleId,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// When it was made.
    pub created_at: UnixTime,
}

/// A permission: one scope of one API.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    /// The API's identifier.
    pub resource_server_identifier: String,
    /// The scope's value.
    pub permission_name: String,
}

/// A user's consent to let an application use an API with these scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// 24 hex digits.
    pub id: ConsentId,
    /// Who consented.
    pub user_id: UserId,
    /// To which application.
    pub client_id: ClientId,
    /// For which API.
    pub audience: String,
    /// The scopes consented to.
    pub scope: Vec<String>,
    /// When it was first given.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
}
