//! Cache invalidation across kehu instances sharing one PostgreSQL database: a change that
//! clears this instance's caches (principals, API tokens, the dictionary) is announced with
//! `NOTIFY`, and every other instance clears its own at once. The caches' short lifetime
//! ([`crate::cache::TTL`]) stays as a safety net for a lost notification. SQLite has one
//! instance per file, so there is nothing to announce.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::db::Db;

/// The channel every instance listens on; the payload is the sender's instance id.
pub const CHANNEL: &str = "kehu_invalidate";

/// Announces cache clears to the other instances. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Notifier {
    target: Option<(PgPool, Arc<str>)>,
}

impl Notifier {
    /// A notifier for `db`: silent on SQLite.
    pub fn new(db: &Db) -> Self {
        match db {
            Db::Postgres(pool, _) => Self {
                target: Some((pool.clone(), kehu_domain::secrets::new_token().into())),
            },
            Db::Sqlite(..) => Self::default(),
        }
    }

    /// Tells the other instances to clear their caches, without waiting for it.
    pub fn publish(&self) {
        let Some((pool, me)) = self.target.clone() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(&*me)
                .execute(&pool)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not tell other kehu instances to clear their caches");
            }
        });
    }

    /// Listens for the other instances' announcements and calls `clear` for each, until the
    /// pool closes. After a lost connection (notifications may have been missed) it clears too.
    pub fn spawn_listener(&self, clear: impl Fn() + Send + Sync + 'static) {
        let Some((pool, me)) = self.target.clone() else {
            return;
        };
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
