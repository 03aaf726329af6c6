//! Roles (角色) as an administrator enters them: a name, a description, a data scope and the
//! rights ticked. Parsed once here for the role pages and the API alike.

use crate::error::Errors;
use crate::{DataScope, DomainError, FieldError, Right, text};

/// A validated role: what the role editor and `POST/PATCH /api/v1/roles` store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInput {
    pub name: String,
    pub description: Option<String>,
    pub scope: DataScope,
    pub rights: Vec<Right>,
}

impl RoleInput {
    /// Checks every field and reports all bad ones at once; an unknown right code is an
    /// error on `rights`, never silently dropped.
    pub fn parse(
        name: &str,
        description: &str,
        scope: &str,
        rights: &[String],
    ) -> Result<Self, DomainError> {
        let mut errors = Errors::new();
        let name = errors.check(text::line("name", name, 64));
        let description = errors.check(text::optional("description", description, 500));
        let scope = errors.check(
            DataScope::from_code(scope.trim())
                .ok_or_else(|| FieldError::new("scope", "err-required")),
        );
        let mut parsed = Vec::with_capacity(rights.len());
        for code in rights {
            match Right::from_code(code.trim()) {
                Some(r) if !parsed.contains(&r) => parsed.push(r),
                Some(_) => {}
                None => errors.push(FieldError::new("rights", "err-invalid")),
            }
        }
        errors.finish()?;
        match (name, description, scope) {
            (Some(name), Some(description), Some(scope)) => Ok(Self {
                name,
                description,
                scope,
                rights: parsed,
            }),
            _ => Err(DomainError::field("name", "err-required")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_names_every_bad_field_and_unknown_rights() {
        let err = RoleInput::parse("", "", "some", &["customer.read".into(), "nope".into()]);
        let Err(DomainError::Invalid(fields)) = err else {
            unreachable!("expected field errors, got {err:?}")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["name", "scope", "rights"]);
    }

    #[test]
    fn a_valid_role_keeps_each_right_once() {
        let r = RoleInput::parse(
            " 区域经理 ",
            "",
            "own",
            &["report.read".into(), "report.read".into()],
        );
        assert_eq!(
            r.ok(),
            Some(RoleInput {
                name: "区域经理".into(),
                description: None,
                scope: DataScope::Own,
                rights: vec![Right::ReportRead],
            })
        );
    }
}
