//! The domain error: what can go wrong in a use case, independent of how it is shown.
//! The web crate maps it to problem+json (API) and to an HTML page (UI) in one place each.

use serde::Serialize;

/// A problem with one input field: the field's name and a message key in the Fluent files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    /// Fluent message id, e.g. `err-too-long`; the web layer translates it.
    pub code: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// One or more fields are invalid.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// A unique value is already taken (field, code).
    #[error("conflict on {0:?}")]
    Conflict(FieldError),
    /// The record was changed by someone else since it was read.
    #[error("the record was changed by someone else")]
    StaleVersion,
    #[error("not found")]
    NotFound,
    /// The user lacks the right, or the record is outside their data scope.
    #[error("forbidden")]
    Forbidden,
    /// The action is not allowed in the record's current state (message key).
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// The delegation policy refused an administrative change (see [`crate::policy::authorize`]).
    #[error("refused: {}", .0.code())]
    Refused(crate::policy::Refusal),
}

impl DomainError {
    pub fn field(field: &str, code: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code)])
    }
}

impl From<FieldError> for DomainError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(vec![e])
    }
}

/// Collects field errors while parsing a form, so the user sees all of them at once.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value when it parsed, remembers the error otherwise.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was collected.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}
