//! An in-process cache of what every authenticated request needs: the principal (role, rights,
//! scope) by user, and the owner of an API token. Any change to users, roles or tokens made
//! through this process clears it at once; another kehu process on the same PostgreSQL
//! database is told through `NOTIFY` ([`crate::notify`]) and clears its own, with [`TTL`] as
//! the bound should a notification be lost.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kehu_domain::Principal;

use crate::notify::Notifier;

/// How long an entry may be served without asking the database again.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most per map; beyond that the map starts over (bounded memory).
const MAX_ENTRIES: usize = 10_000;

struct TtlMap<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

/// Only the size: the token map's keys are token hashes, which stay out of logs.
impl<K, V> std::fmt::Debug for TtlMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map_or(0, |m| m.len());
        write!(f, "TtlMap {{ entries: {n} }}")
    }
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, k: &K) -> Option<V> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(k)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, v)| v.clone())
    }

    /// Stores `v` unless the cache was cleared since `generation` was read: a value read from
    /// the database before a change must not come back after the change cleared the cache.
    fn put(&self, k: K, v: V, generation: u64, current: &AtomicU64) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if current.load(Ordering::SeqCst) != generation {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(k, (Instant::now(), v));
    }

    fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Shared by the user, role and token stores. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuthCache(Arc<Inner>, Notifier);

#[derive(Debug)]
struct Inner {
    principals: TtlMap<i64, Principal>,
    tokens: TtlMap<String, CachedToken>,
    /// Bumped by every [`AuthCache::clear`], before the maps are emptied.
    generation: AtomicU64,
}

/// A live API token as the cache keeps it: never served past `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedToken {
    pub id: i64,
    pub user_id: i64,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Default for AuthCache {
    fn default() -> Self {
        Self::new(Notifier::default())
    }
}

impl AuthCache {
    /// A cache whose clears are announced to other instances through `notifier`.
    pub fn new(notifier: Notifier) -> Self {
        Self(
            Arc::new(Inner {
                principals: TtlMap::new(),
                tokens: TtlMap::new(),
                generation: AtomicU64::new(0),
            }),
            notifier,
        )
    }

    /// Read before a database read whose result goes into the cache with `put_*`.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::SeqCst)
    }

    pub fn principal(&self, user_id: i64) -> Option<Principal> {
        self.0.principals.get(&user_id)
    }

    /// Caches a principal read after [`Self::generation`] returned `generation`.
    pub fn put_principal(&self, generation: u64, p: Principal) {
        self.0
            .principals
            .put(p.user_id, p, generation, &self.0.generation);
    }

    /// A live token: an entry whose token has expired since it was cached is not served.
    pub fn token(&self, token_hash: &str) -> Option<CachedToken> {
        let now = Utc::now();
        self.0
            .tokens
            .get(&token_hash.to_owned())
            .filter(|t| t.expires_at.is_none_or(|e| e > now))
    }

    /// Caches a token read after [`Self::generation`] returned `generation`.
    pub fn put_token(&self, generation: u64, token_hash: &str, token: CachedToken) {
        self.0
            .tokens
            .put(token_hash.to_owned(), token, generation, &self.0.generation);
    }

    /// Forgets everything, here and (through `NOTIFY`) on the other instances: called after
    /// every change to users, roles or tokens.
    pub fn clear(&self) {
        self.clear_local();
        self.1.publish();
    }

    /// Forgets everything in this instance. Reads that started before this call can no longer
    /// fill the cache.
    pub fn clear_local(&self) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.principals.clear();
        self.0.tokens.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_served_until_cleared() {
        let c = AuthCache::default();
        let t = CachedToken {
            id: 1,
            user_id: 2,
            expires_at: None,
        };
        c.put_token(c.generation(), "h", t);
        assert_eq!(c.token("h"), Some(t));
        c.clear();
        assert_eq!(c.token("h"), None);
    }

    #[test]
    fn a_read_that_started_before_a_clear_does_not_refill_the_cache() {
        let c = AuthCache::default();
        let t = CachedToken {
            id: 1,
            user_id: 2,
            expires_at: None,
        };
        let before = c.generation();
        // The database is read here, then a change clears the cache before the value is put.
        c.clear();
        c.put_token(before, "h", t);
        assert_eq!(c.token("h"), None);
        c.put_token(c.generation(), "h", t);
        assert_eq!(c.token("h"), Some(t));
    }

    #[test]
    fn a_cached_token_is_not_served_past_its_expiry() {
        let c = AuthCache::default();
        let soon = Utc::now() + chrono::Duration::milliseconds(50);
        let t = CachedToken {
            id: 1,
            user_id: 2,
            expires_at: Some(soon),
        };
        c.put_token(c.generation(), "h", t);
        assert_eq!(c.token("h"), Some(t));
        std::thread::sleep(std::time::Duration::from_millis(80));
        assert_eq!(c.token("h"), None, "served after the token expired");
    }
}
