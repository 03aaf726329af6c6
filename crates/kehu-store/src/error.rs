//! The store's error: a domain error (not found, conflict, stale version) or a database fault.

use kehu_domain::{DomainError, FieldError};

use crate::db::{StorageState, classify};

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
    /// What the error says about the storage: full (disk or size limit), or unavailable (not
    /// reachable, read-only, I/O error). The caller answers 503 and the client retries later.
    pub fn storage(&self) -> Option<StorageState> {
        match self {
            StoreError::Database(e) => classify(e),
            _ => None,
        }
    }

    /// True when the database could not be reached (pool timeout, I/O): the caller answers 503.
    pub fn is_unavailable(&self) -> bool {
        self.storage() == Some(StorageState::Unavailable)
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
