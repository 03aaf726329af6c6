//! An in-process cache of what every authenticated request needs: the principal (role, rights,
//! scope) by user, and the owner of an API token. Any change to users, roles or tokens made
//! through this process clears it at once; changes made by another kehu process on the same
//! PostgreSQL database are seen after at most [`TTL`].

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kehu_domain::Principal;

/// How long an entry may be served without asking the database again.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most per map; beyond that the map starts over (bounded memory).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
struct TtlMap<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
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

    fn put(&self, k: K, v: V) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
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
pub struct AuthCache(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    principals: TtlMap<i64, Principal>,
    tokens: TtlMap<String, CachedToken>,
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
        Self(Arc::new(Inner {
            principals: TtlMap::new(),
            tokens: TtlMap::new(),
        }))
    }
}

impl AuthCache {
    pub fn principal(&self, user_id: i64) -> Option<Principal> {
        self.0.principals.get(&user_id)
    }

    pub fn put_principal(&self, p: Principal) {
        self.0.principals.put(p.user_id, p);
    }

    /// A live token: an entry whose token has expired since it was cached is not served.
    pub fn token(&self, token_hash: &str) -> Option<CachedToken> {
        let now = Utc::now();
        self.0
            .tokens
            .get(&token_hash.to_owned())
            .filter(|t| t.expires_at.is_none_or(|e| e > now))
    }

    pub fn put_token(&self, token_hash: &str, token: CachedToken) {
        self.0.tokens.put(token_hash.to_owned(), token);
    }

    /// Forgets everything: called after every change to users, roles or tokens.
    pub fn clear(&self) {
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
        c.put_token("h", t);
        assert_eq!(c.token("h"), Some(t));
        c.clear();
        assert_eq!(c.token("h"), None);
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
        c.put_token("h", t);
        assert_eq!(c.token("h"), Some(t));
        std::thread::sleep(std::time::Duration::from_millis(80));
        assert_eq!(c.token("h"), None, "served after the token expired");
    }
}
