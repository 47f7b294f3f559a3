//! What the client-credentials hot path reads: the client, the API and the client grant. Any
//! [`Store`] answers directly; the server answers from a short-lived cache, so a machine token
//! costs no database round trip (see `sigil-server`'s `cache.rs` for the staleness bound).

use std::future::Future;

use crate::ids::ClientId;
use crate::model::{Client, ClientGrant, ResourceServer};
use crate::{Store, StoreError};

/// Lookups of clients, APIs and client grants.
pub trait Directory: Send + Sync {
    /// The client with this id.
    fn client(
        &self,
        id: &ClientId,
    ) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send;
    /// The API with this identifier.
    fn api(
        &self,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<ResourceServer>, StoreError>> + Send;
    /// The client's grant for `audience`.
    fn client_grant(
        &self,
        client: &ClientId,
        audience: &str,
    ) -> impl Future<Output = Result<Option<ClientGrant>, StoreError>> + Send;
}

impl<S: Store> Directory for S {
    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Store::client(self, id).await
    }

    async fn api(&self, identifier: &str) -> Result<Option<ResourceServer>, StoreError> {
        self.resource_server_by_identifier(identifier).await
    }

    async fn client_grant(
        &self,
        client: &ClientId,
        audience: &str,
    ) -> Result<Option<ClientGrant>, StoreError> {
        self.client_grant_for(client, audience).await
    }
}
