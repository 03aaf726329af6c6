//! Cache invalidation across kehu instances sharing one PostgreSQL database: a change that
//! clears this instance's caches (principals, API tokens, the dictionary) is announced with
//! `NOTIFY`, and every other instance clears its own at once. The caches' short lifetime
//! ([`crate::cache::TTL`]) stays as a safety net for a lost notification. SQLite has one
//! instance per file, so there is nothing to announce.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::db::Db;

/// The channel every instance listens on; the payload is the sender's instance id.
pub const CHANNEL: &str = "kehu_invalidate";

/// Announces cache clears to the other instances. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Notifier {
    target: Option<Arc<Target>>,
}

#[derive(Debug)]
struct Target {
    pool: PgPool,
    /// This instance's id, the payload: an instance ignores its own announcements.
    me: Arc<str>,
    /// Wakes the one sender task. A wake while it is sending is kept (one permit), so any
    /// number of clears during a send cost one more `NOTIFY`, not one each: every
    /// announcement clears all caches, so one sent after the last clear covers them all.
    wake: Arc<tokio::sync::Notify>,
    sender: OnceLock<()>,
}

impl Notifier {
    /// A notifier for `db`: silent on SQLite.
    pub fn new(db: &Db) -> Self {
        match db {
            Db::Postgres(pool, _) => Self {
                target: Some(Arc::new(Target {
                    pool: pool.clone(),
                    me: kehu_domain::secrets::new_token().into(),
                    wake: Arc::default(),
                    sender: OnceLock::new(),
                })),
            },
            Db::Sqlite(..) => Self::default(),
        }
    }

    /// Tells the other instances to clear their caches, without waiting for it. Under a burst
    /// of writes the announcements coalesce (see [`Target::wake`]) instead of each taking a
    /// pooled connection from the writers.
    pub fn publish(&self) {
        let Some(t) = &self.target else {
            return;
        };
        t.wake.notify_one();
        t.sender.get_or_init(|| {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(send_announcements(
                    t.pool.clone(),
                    t.me.clone(),
                    t.wake.clone(),
                ));
            }
        });
    }

    /// Listens for the other instances' announcements and calls `clear` for each, until the
    /// pool closes. After a lost connection (notifications may have been missed) it clears too.
    pub fn spawn_listener(&self, clear: impl Fn() + Send + Sync + 'static) {
        let Some(t) = &self.target else {
            return;
        };
        let (pool, me) = (t.pool.clone(), t.me.clone());
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match listen(&pool, &me, &clear).await {
                    Ok(()) => return,
                    Err(e) => {
                        if pool.is_closed() {
                            return;
                        }
                        tracing::warn!(error = %e, "cache invalidation listener failed; retrying");
                        clear();
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        });
    }
}

/// The sender task: one `NOTIFY` per wake, until the pool closes.
async fn send_announcements(pool: PgPool, me: Arc<str>, wake: Arc<tokio::sync::Notify>) {
    loop {
        wake.notified().await;
        if pool.is_closed() {
            return;
        }
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&*me)
            .execute(&pool)
            .await;
        match sent {
            Ok(_) => {}
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not tell other kehu instances to clear their caches");
            }
        }
    }
}

/// One listening session: `Ok` when the pool was closed (shutdown).
async fn listen(pool: &PgPool, me: &str, clear: &impl Fn()) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) if n.payload() != me => clear(),
            Ok(Some(_)) => {}
            // The connection was lost and re-established: announcements may be lost.
            Ok(None) => clear(),
            Err(sqlx::Error::PoolClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
