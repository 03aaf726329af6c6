//! The store's error: a domain error (not found, conflict, stale version) or a database fault.

use kehu_domain::{DomainError, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// True when the database could not be reached (pool timeout, I/O): the caller answers 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            )
        )
    }
}

/// Turns a unique-constraint violation into a field conflict ("already in use"), by name.
pub(crate) fn unique_as(field: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        let unique = e
            .as_database_error()
            .is_some_and(|d| d.is_unique_violation());
        if unique {
            StoreError::Domain(DomainError::Conflict(FieldError::new(field, "err-taken")))
        } else {
            StoreError::Database(e)
        }
    }
}
