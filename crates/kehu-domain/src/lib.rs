//! kehu's domain: entities, validated value types, rights and roles, and the access policy.
//! Nothing here knows about HTTP or SQL; every other crate speaks these types.

pub mod dictionary;
pub mod error;
pub mod money;
pub mod opportunity;
pub mod policy;
pub mod rights;
pub mod role;
pub mod schedule;
pub mod secrets;
pub mod service;
pub mod text;
pub mod user;

pub use error::{DomainError, FieldError};
pub use policy::{DataScope, Principal};
pub use rights::Right;
