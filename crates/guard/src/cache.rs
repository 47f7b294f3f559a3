//! A bounded cache of verified tokens, so that a token presented on many requests has its
//! signature checked once.
//!
//! Entries are keyed by the SHA-256 of the token (a collision would be needed to borrow another
//! token's entry), are served only while `now < exp` (never past the token's own expiry, leeway
//! or not), and only under the key set that verified them (each refresh makes a new generation
//! and empties the cache), so a key removed from the JWKS takes its tokens with it, even those a
//! request verified while the refresh was landing.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::digest;

use crate::claims::Claims;

type Key = [u8; 32];

#[derive(Debug)]
struct Entry {
    claims: Arc<Claims>,
    generation: u64,
}

#[derive(Debug)]
pub(crate) struct TokenCache {
    capacity: usize,
    entries: RwLock<HashMap<Key, Entry>>,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        TokenCache {
            capacity,
            entries: RwLock::new(HashMap::with_capacity(capacity.min(4096))),
        }
    }

    pub(crate) fn key(token: &str) -> Key {
        let mut key = [0; 32];
        key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        key
    }

    /// The claims of a token verified before under the key set `generation`, if it has not
    /// expired since.
    pub(crate) fn get(&self, key: &Key, generation: u64, now: i64) -> Option<Arc<Claims>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|e| e.generation == generation && now < e.claims.exp)
            .map(|e| e.claims.clone())
    }

    /// Remembers a verified token. When full, expired entries go first, then arbitrary ones
    /// until there is room: the cache only saves work, so losing an entry costs one verification.
    pub(crate) fn insert(&self, key: Key, claims: Arc<Claims>, generation: u64, now: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, e| now < e.claims.exp);
        }
        while entries.len() >= self.capacity {
            let Some(victim) = entries.keys().next().copied() else {
                break;
            };
            entries.remove(&victim);
        }
        entries.insert(key, Entry { claims, generation });
    }

    pub(crate) fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Arc<Claims> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "iss": "i", "sub": "s", "aud": "a", "exp": exp
            }))
            .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn entries_never_outlive_exp_and_the_cache_stays_bounded() {
        let cache = TokenCache::new(2);
        let (a, b, c) = (
            TokenCache::key("a"),
            TokenCache::key("b"),
            TokenCache::key("c"),
        );
        cache.insert(a, claims(100), 0, 10);
        assert!(cache.get(&a, 0, 99).is_some());
        assert!(cache.get(&a, 0, 100).is_none(), "served at exp");
        cache.insert(b, claims(50), 0, 10);
        // Full: the expired `b` (as of 60) goes before the live `a`.
        cache.insert(c, claims(200), 0, 60);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&a, 0, 60).is_some());
        assert!(cache.get(&b, 0, 40).is_none());
        // Full of live entries: one is dropped, never more than the capacity kept.
        cache.insert(b, claims(300), 0, 60);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&b, 0, 60).is_some());
        assert!(
            cache.get(&b, 1, 60).is_none(),
            "served under another key set"
        );
        cache.clear();
        assert!(cache.get(&b, 0, 60).is_none());
    }
}
