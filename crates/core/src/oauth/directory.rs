//! What client authentication and the client-credentials hot path need from storage: the
//! client, the API, the client grant, and the record of used client-assertion `jti`s. Any
//! [`Store`] answers directly; the server answers the lookups from a short-lived cache, so a
//! machine token costs no database round trip (see `sigil-server`'s `cache.rs` for the
//! staleness bound). Recording a `jti` is a write and always reaches the store.

use std::future::Future;

use crate::UnixTime;
use crate::ids::ClientId;
use crate::model::{Client, ClientGrant, ResourceServer};
use crate::{Store, StoreError};

/// Lookups of clients, APIs and client grants, and the one write client authentication makes.
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
    /// Records a client assertion's `jti` as used ([`Store::record_client_assertion`]).
    fn record_client_assertion(
        &self,
        client: &ClientId,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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

    async fn record_client_assertion(
        &self,
        client: &ClientId,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        Store::record_client_assertion(self, client, jti, expires_at, now).await
    }
}
