//! A short-lived cache of clients, APIs and client grants for the token endpoint's
//! client-credentials path, so a machine token costs no database round trip; and of the
//! origins browsers may call from (CORS, see `cors.rs`), so a cross-origin request costs none
//! either.
//!
//! Bound on staleness: an entry is used for at most [`CACHE_TTL`] seconds after it was read, so
//! a change made with the CLI or by another node (a rotated secret, a deleted client, a changed
//! grant, a new web origin) takes effect on these paths within that time; everything else reads
//! the store. A change made through this node's Management API is seen by this node at once
//! (`forget_client`). Misses are not cached, so a new client works at once and unknown ids cannot fill
//! the cache. Each map holds at most [`MAX_ENTRIES`]; when full it is emptied, which costs only
//! re-reads. The origins are one set, read whole. Recording a client assertion's `jti` is a
//! write and always goes to the store.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sigil_core::ids::ClientId;
use sigil_core::model::{Client, ClientGrant, ResourceServer};
use sigil_core::oauth::Directory;
use sigil_core::{Store, StoreError, UnixTime};

/// Seconds a cached entry is used.
pub const CACHE_TTL: i64 = 5;
const MAX_ENTRIES: usize = 10_000;

/// One map of entries read at a time, counting its hits and misses (for `/metrics`).
struct Map<K, V> {
    entries: Mutex<HashMap<K, (UnixTime, V)>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn new() -> Self {
        Map {
            entries: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn get(&self, key: &K, now: UnixTime) -> Option<V> {
        let found = self.entries.lock().ok().and_then(|map| {
            let (at, value) = map.get(key)?;
            (now.0 - at.0 < CACHE_TTL && now.0 >= at.0).then(|| value.clone())
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    fn remove_where(&self, doomed: impl Fn(&K) -> bool) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|key, _| !doomed(key));
        }
    }

    fn put(&self, key: K, value: V, now: UnixTime) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key, (now, value));
        }
    }
}

/// The cached maps, shared by all requests.
pub(crate) struct HotCache {
    clients: Map<ClientId, Client>,
    apis: Map<String, ResourceServer>,
    grants: Map<(ClientId, String), ClientGrant>,
    origins: Map<(), Arc<HashSet<String>>>,
}

impl HotCache {
    pub(crate) fn new() -> Self {
        HotCache {
            clients: Map::new(),
            apis: Map::new(),
            grants: Map::new(),
            origins: Map::new(),
        }
    }

    /// Forgets `client`, its grants and the origin set, so this node sees a change to them
    /// (a rotated secret, a deletion, new origins) at once.
    /// Each map's name, hits and misses so far.
    pub(crate) fn stats(&self) -> [(&'static str, u64, u64); 4] {
        let entry = |name, (hits, misses)| (name, hits, misses);
        [
            entry("clients", self.clients.counts()),
            entry("apis", self.apis.counts()),
            entry("client_grants", self.grants.counts()),
            entry("origins", self.origins.counts()),
        ]
    }

    pub(crate) fn forget_client(&self, client: &ClientId) {
        self.clients.remove_where(|id| id == client);
        self.grants.remove_where(|(id, _)| id == client);
        self.origins.remove_where(|_| true);
    }

    /// Every client's web and allowed origins, in lower case without a trailing `/` (as
    /// browsers send `Origin`), read from `store` at most every [`CACHE_TTL`] seconds.
    pub(crate) async fn origins<S: Store>(
        &self,
        store: &S,
        now: UnixTime,
    ) -> Result<Arc<HashSet<String>>, StoreError> {
        if let Some(hit) = self.origins.get(&(), now) {
            return Ok(hit);
        }
        let origins: Arc<HashSet<String>> = Arc::new(
            store
                .client_origins()
                .await?
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        );
        self.origins.put((), Arc::clone(&origins), now);
        Ok(origins)
    }
}

/// The store seen through the cache, as of `now`.
pub(crate) struct Cached<'a, S> {
    pub(crate) store: &'a S,
    pub(crate) cache: &'a HotCache,
    pub(crate) now: UnixTime,
}

impl<S: Store> Directory for Cached<'_, S> {
    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        if let Some(hit) = self.cache.clients.get(id, self.now) {
            return Ok(Some(hit));
        }
        let found = self.store.client(id).await?;
        if let Some(client) = &found {
            self.cache.clients.put(id.clone(), client.clone(), self.now);
        }
        Ok(found)
    }

    async fn api(&self, identifier: &str) -> Result<Option<ResourceServer>, StoreError> {
        let key = identifier.to_owned();
        if let Some(hit) = self.cache.apis.get(&key, self.now) {
            return Ok(Some(hit));
        }
        let found = self.store.resource_server_by_identifier(identifier).await?;
        if let Some(api) = &found {
            self.cache.apis.put(key, api.clone(), self.now);
        }
        Ok(found)
    }

    async fn client_grant(
        &self,
        client: &ClientId,
        audience: &str,
    ) -> Result<Option<ClientGrant>, StoreError> {
        let key = (client.clone(), audience.to_owned());
        if let Some(hit) = self.cache.grants.get(&key, self.now) {
            return Ok(Some(hit));
        }
        let found = self.store.client_grant_for(client, audience).await?;
        if let Some(grant) = &found {
            self.cache.grants.put(key, grant.clone(), self.now);
        }
        Ok(found)
    }

    async fn record_client_assertion(
        &self,
        client: &ClientId,
        jti: &str,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        // A write: never cached.
        self.store
            .record_client_assertion(client, jti, expires_at, now)
            .await
    }
}
