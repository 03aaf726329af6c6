//! Password hashing and verification off the async runtime: argon2 takes tens of
//! milliseconds of CPU, so each call runs on a blocking thread, and a semaphore sized to the
//! cores keeps a burst of sign-ins from starving the runtime (and everything else) of CPU.
//! Here, beside the stores, so a use case that takes a password (e.g.
//! [`crate::UserStore::create_account`]) hashes it the same way whoever calls it.

use std::sync::{Arc, LazyLock};

use kehu_domain::secrets;
use tokio::sync::Semaphore;

use crate::error::{StoreError, StoreResult};

/// One permit per core: more parallel argon2 runs would only queue in the OS scheduler.
static PERMITS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Arc::new(Semaphore::new(cores))
});

/// Runs `f` on a blocking thread once a permit is free. The permit moves into the blocking
/// job, so a request that is abandoned still holds it until its argon2 run ends.
async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let permit = Arc::clone(&PERMITS).acquire_owned().await.ok()?;
    tokio::task::spawn_blocking(move || {
        let out = f();
        drop(permit);
        out
    })
    .await
    .ok()
}

/// Hashes a new password (argon2id, PHC string).
pub async fn hash(password: &str) -> StoreResult<String> {
    let password = password.to_owned();
    match run(move || secrets::hash_password(&password)).await {
        Some(Ok(h)) => Ok(h),
        Some(Err(e)) => Err(StoreError::Other(e.into())),
        None => Err(StoreError::Other(anyhow::anyhow!(
            "the password hashing task failed"
        ))),
    }
}

/// True when `password` matches the stored PHC string `hash`.
pub async fn verify(password: String, hash: String) -> bool {
    run(move || secrets::verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let h = hash("正确的密码123").await.unwrap_or_default();
        assert!(verify("正确的密码123".into(), h.clone()).await);
        assert!(!verify("wrong".into(), h).await);
    }
}
