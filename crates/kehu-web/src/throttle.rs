//! Sign-in throttling by client address (per account it is in the database, so that it holds
//! across kehu processes): after too many failures in a window, further attempts wait.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per address within [`WINDOW`].
pub const MAX_PER_IP: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures that lock an account, and for how long.
pub const MAX_PER_ACCOUNT: i32 = 5;
pub const ACCOUNT_LOCK_MINUTES: i64 = 5;

#[derive(Debug, Default)]
pub struct Throttle {
    by_ip: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Throttle {
    /// Minutes to wait when this address is blocked, `None` when it may try.
    pub fn blocked(&self, ip: IpAddr) -> Option<u64> {
        let map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        let (n, since) = map.get(&ip)?;
        let left = WINDOW.checked_sub(since.elapsed())?;
        (*n >= MAX_PER_IP).then(|| left.as_secs().div_ceil(60).max(1))
    }

    pub fn fail(&self, ip: IpAddr) {
        let mut map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let e = map.entry(ip).or_insert((0, now));
        if now.duration_since(e.1) > WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
        // Bounded memory: forget expired entries now and then.
        if map.len() > 10_000 {
            map.retain(|_, (_, t)| now.duration_since(*t) <= WINDOW);
        }
    }

    pub fn succeed(&self, ip: IpAddr) {
        self.by_ip
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_too_many_failures() {
        let t = Throttle::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..MAX_PER_IP - 1 {
            t.fail(ip);
        }
        assert_eq!(t.blocked(ip), None);
        t.fail(ip);
        assert_eq!(t.blocked(ip), Some(15));
        t.succeed(ip);
        assert_eq!(t.blocked(ip), None);
    }
}
