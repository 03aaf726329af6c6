//! Password hashing for the web layer: [`kehu_store::passwords`] runs argon2 off the async
//! runtime; here its errors become [`AppError`]s.

use crate::error::AppError;

pub use kehu_store::passwords::verify;

/// Hashes a new password (argon2id, PHC string) on a blocking thread.
pub async fn hash(password: &str) -> Result<String, AppError> {
    Ok(kehu_store::passwords::hash(password).await?)
}
