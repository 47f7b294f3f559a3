//! `api.cache`: small strings an Action keeps for later executions of the same trigger, on
//! this node, in memory, under Auth0's limits (`notes/actions.md` §3). Best effort, as Auth0
//! says of its own ("items may not be available in later transactions"): another node does
//! not see them, a restart forgets them, and a full cache makes room by dropping the records
//! that would expire first.

use std::collections::HashMap;
use std::sync::Mutex;

use rquickjs::{Ctx, Function, Object};

use crate::Trigger;

/// Longest key, in bytes.
const KEY_BYTES: usize = 64;
/// Longest value, in bytes.
const VALUE_BYTES: usize = 4096;
/// Keys and values of one trigger together, in bytes.
const TOTAL_BYTES: usize = 8192;
/// Records per trigger.
const RECORDS: usize = 20;
/// Longest life of a record, in milliseconds: 24 hours.
const LONGEST_MS: i64 = 24 * 3600 * 1000;
/// A record's life when the Action gives none, in milliseconds: 15 minutes.
pub(crate) const DEFAULT_MS: i64 = 15 * 60 * 1000;

#[derive(Clone)]
struct Record {
    value: String,
    expires_at: i64,
}

/// Every trigger's records.
#[derive(Default)]
pub(crate) struct Cache {
    triggers: Mutex<HashMap<Trigger, HashMap<String, Record>>>,
}

impl Cache {
    /// `key`'s live record for `trigger` at `now`: its value and expiry.
    fn get(&self, trigger: Trigger, key: &str, now: i64) -> Option<(String, i64)> {
        let triggers = self.triggers.lock().ok()?;
        let record = triggers.get(&trigger)?.get(key)?;
        (record.expires_at > now).then(|| (record.value.clone(), record.expires_at))
    }

    /// Keeps `value` at `key` until `expires_at`, or says why not with Auth0's code.
    fn set(
        &self,
        trigger: Trigger,
        key: String,
        value: String,
        expires_at: i64,
        now: i64,
    ) -> Result<(), &'static str> {
        if key.len() > KEY_BYTES {
            return Err("CacheKeySizeExceeded");
        }
        if value.len() > VALUE_BYTES {
            return Err("CacheValueSizeExceeded");
        }
        if expires_at <= now {
            return Err("ItemAlreadyExpired");
        }
        if expires_at > now + LONGEST_MS {
            return Err("InvalidExpiry");
        }
        let Ok(mut triggers) = self.triggers.lock() else {
            return Err("CacheSizeExceeded");
        };
        let records = triggers.entry(trigger).or_default();
        records.retain(|k, r| r.expires_at > now && *k != key);
        let size = |records: &HashMap<String, Record>| -> usize {
            records.iter().map(|(k, r)| k.len() + r.value.len()).sum()
        };
        // Room for the new record: the ones that would expire first go.
        while records.len() + 1 > RECORDS || size(records) + key.len() + value.len() > TOTAL_BYTES {
            let Some(first) = records
                .iter()
                .min_by_key(|(_, r)| r.expires_at)
                .map(|(k, _)| k.clone())
            else {
                return Err("CacheSizeExceeded");
            };
            records.remove(&first);
        }
        records.insert(key, Record { value, expires_at });
        Ok(())
    }

    /// Forgets `key`; whether there was a live record.
    fn delete(&self, trigger: Trigger, key: &str, now: i64) -> bool {
        let Ok(mut triggers) = self.triggers.lock() else {
            return false;
        };
        triggers
            .get_mut(&trigger)
            .and_then(|records| records.remove(key))
            .is_some_and(|r| r.expires_at > now)
    }
}

/// The natives the prelude's `api.cache` calls, for an execution of `trigger` at `now`:
/// `cacheGet(key)` (`[value, expires_at]` as JSON, or null), `cacheSet(key, value, expires_at)` (null
/// or Auth0's error code), `cacheDelete(key)` (whether it was there), and `cacheDefaultMs`.
pub(crate) fn natives<'js>(
    ctx: &Ctx<'js>,
    natives: &Object<'js>,
    cache: &std::sync::Arc<Cache>,
    trigger: Trigger,
    now: i64,
) -> rquickjs::Result<()> {
    natives.set("cacheDefaultMs", DEFAULT_MS as f64)?;
    let c = std::sync::Arc::clone(cache);
    natives.set(
        "cacheGet",
        Function::new(ctx.clone(), move |key: String| {
            c.get(trigger, &key, now)
                .map(|(value, at)| serde_json::json!([value, at]).to_string())
        })?,
    )?;
    let c = std::sync::Arc::clone(cache);
    natives.set(
        "cacheSet",
        Function::new(
            ctx.clone(),
            move |key: String, value: String, expires_at: f64| {
                let expires_at = if expires_at.is_finite() {
                    expires_at as i64
                } else {
                    i64::MAX
                };
                c.set(trigger, key, value, expires_at, now).err()
            },
        )?,
    )?;
    let c = std::sync::Arc::clone(cache);
    natives.set(
        "cacheDelete",
        Function::new(ctx.clone(), move |key: String| c.delete(trigger, &key, now))?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_live_until_they_expire_within_auth0s_limits() {
        let cache = Cache::default();
        let t = Trigger::PostLogin;
        let set = |key: &str, value: &str, at: i64| {
            cache.set(t, key.to_owned(), value.to_owned(), at, 1000)
        };
        assert_eq!(set("k", "v", 2000), Ok(()));
        assert_eq!(cache.get(t, "k", 1500), Some(("v".to_owned(), 2000)));
        assert_eq!(cache.get(t, "k", 2000), None);
        assert_eq!(cache.get(Trigger::CredentialsExchange, "k", 1500), None);
        assert_eq!(set(&"k".repeat(65), "v", 2000), Err("CacheKeySizeExceeded"));
        assert_eq!(
            set("k", &"v".repeat(4097), 2000),
            Err("CacheValueSizeExceeded")
        );
        assert_eq!(set("k", "v", 1000), Err("ItemAlreadyExpired"));
        assert_eq!(set("k", "v", 1001 + LONGEST_MS), Err("InvalidExpiry"));
        // Full: the record expiring first makes room.
        for i in 0..RECORDS {
            assert_eq!(set(&format!("n{i}"), "v", 10_000 + i as i64), Ok(()));
        }
        assert_eq!(cache.get(t, "k", 1500), None);
        assert_eq!(set("big", &"v".repeat(4096), 50_000), Ok(()));
        assert_eq!(set("big2", &"v".repeat(4000), 60_000), Ok(()));
        for (key, kept) in [("n0", false), ("n1", false), ("n2", true), ("big", true)] {
            assert_eq!(cache.get(t, key, 1500).is_some(), kept, "{key}");
        }
        // Over the total, the others go first.
        assert_eq!(set("big3", &"v".repeat(4096), 40_000), Ok(()));
        assert_eq!(cache.get(t, "big", 1500), None);
        assert!(cache.get(t, "big2", 1500).is_some());
        assert!(cache.delete(t, "big2", 1500));
        assert!(!cache.delete(t, "big2", 1500));
    }
}
