//! Users (系统用户): validated sign-in names, display names, passwords and UI languages.

use crate::error::Errors;
use crate::{DomainError, FieldError, text};

/// A sign-in name: 3–32 of `a-z 0-9 _ . -`, starting with a letter or digit, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_lowercase();
        let err = |code| FieldError::new("username", code);
        if s.is_empty() {
            return Err(err("err-required"));
        }
        if !(3..=32).contains(&s.chars().count()) {
            return Err(err("err-username-length"));
        }
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
        if !s.chars().all(ok_char) || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(err("err-username-chars"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as shown in lists, e.g. 张伟.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        text::line("display_name", input, 64).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 12–128 characters, no control characters, and not one of the 100,000 most
/// common passwords (the list the `passwords` crate embeds, checked case-insensitively too).
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(field: &str, input: &str) -> Result<Self, FieldError> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(field, "err-password-short"));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(field, "err-too-long"));
        }
        if input.chars().any(char::is_control) {
            return Err(FieldError::new(field, "err-control-chars"));
        }
        if is_common_password(input) {
            return Err(FieldError::new(field, "err-password-common"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Why a password was refused, in English for operators (CLI and environment variables);
    /// users see the Fluent message of the error code instead.
    pub fn refusal(code: &str) -> &'static str {
        match code {
            "err-password-short" => "it needs at least 12 characters",
            "err-password-common" => "it is one of the most common passwords",
            "err-too-long" => "it has more than 128 characters",
            _ => "it contains control characters",
        }
    }
}

/// True when `input` (or its lower-case form: `Password1234` is as weak as `password1234`)
/// is on the list of common passwords.
pub fn is_common_password(input: &str) -> bool {
    passwords::analyzer::is_common_password(input)
        || passwords::analyzer::is_common_password(input.to_lowercase())
}

/// An optional e-mail address, checked by the `email_address` crate.
pub fn parse_email(input: &str) -> Result<Option<String>, FieldError> {
    let Some(s) = text::optional("email", input, 254)? else {
        return Ok(None);
    };
    if email_address::EmailAddress::is_valid(&s) {
        Ok(Some(s))
    } else {
        Err(FieldError::new("email", "err-email"))
    }
}

/// A new account as an administrator enters it (page or API). Whether the role exists is
/// for the store to say.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: Username,
    pub display_name: DisplayName,
    pub email: Option<String>,
    pub role_id: i64,
    pub password: NewPassword,
}

impl NewAccount {
    /// Checks every field and reports all bad ones at once.
    pub fn parse(
        username: &str,
        display_name: &str,
        email: &str,
        role_id: Option<i64>,
        password: &str,
    ) -> Result<Self, DomainError> {
        let mut errors = Errors::new();
        let username = errors.check(Username::parse(username));
        let display_name = errors.check(DisplayName::parse(display_name));
        let email = errors.check(parse_email(email));
        let role_id =
            errors.check(role_id.ok_or_else(|| FieldError::new("role_id", "err-required")));
        let password = errors.check(NewPassword::parse("password", password));
        errors.finish()?;
        match (username, display_name, email, role_id, password) {
            (Some(username), Some(display_name), Some(email), Some(role_id), Some(password)) => {
                Ok(Self {
                    username,
                    display_name,
                    email,
                    role_id,
                    password,
                })
            }
            _ => Err(DomainError::field("username", "err-required")),
        }
    }
}

/// An administrator's edit of an account (page or API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChanges {
    pub display_name: DisplayName,
    pub email: Option<String>,
    pub role_id: i64,
    pub disabled: bool,
}

/// The account being edited as it is now, and whether the editor is its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditedAccount {
    pub role_id: i64,
    pub is_self: bool,
}

impl AccountChanges {
    /// Checks every field; nobody disables themselves or changes their own role by accident.
    pub fn parse(
        display_name: &str,
        email: &str,
        role_id: Option<i64>,
        disabled: bool,
        current: EditedAccount,
    ) -> Result<Self, DomainError> {
        let mut errors = Errors::new();
        let display_name = errors.check(DisplayName::parse(display_name));
        let email = errors.check(parse_email(email));
        let role_id =
            errors.check(role_id.ok_or_else(|| FieldError::new("role_id", "err-required")));
        if current.is_self && (disabled || role_id.is_some_and(|r| r != current.role_id)) {
            errors.push(FieldError::new("role_id", "err-self-change"));
        }
        errors.finish()?;
        match (display_name, email, role_id) {
            (Some(display_name), Some(email), Some(role_id)) => Ok(Self {
                display_name,
                email,
                role_id,
                disabled,
            }),
            _ => Err(DomainError::field("display_name", "err-required")),
        }
    }
}

/// The UI languages kehu speaks; zh-CN first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Language {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::ZhCn, Language::En];

    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "zh-CN" | "zh" | "zh-Hans" | "zh-Hans-CN" => Some(Language::ZhCn),
            "en" | "en-US" | "en-GB" => Some(Language::En),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_restricted() {
        assert_eq!(
            Username::parse(" Zhang.Wei ").map(|u| u.0),
            Ok("zhang.wei".into())
        );
        assert_eq!(
            Username::parse("ab").map_err(|e| e.code),
            Err("err-username-length".into())
        );
        assert_eq!(
            Username::parse("张伟abc").map_err(|e| e.code),
            Err("err-username-chars".into())
        );
        assert_eq!(
            Username::parse("-abc").map_err(|e| e.code),
            Err("err-username-chars".into())
        );
    }

    #[test]
    fn passwords_need_twelve_characters_and_are_not_printed() {
        assert_eq!(
            NewPassword::parse("password", "elf-chars-1").map_err(|e| e.code),
            Err("err-password-short".into())
        );
        assert!(NewPassword::parse("password", "twelve-chars").is_ok());
        let p = NewPassword::parse("password", "长一点的密码口令也要十二个字")
            .map(|p| format!("{p:?}"));
        assert_eq!(p, Ok("NewPassword(***)".into()));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["password1234", "Password1234", "123456789012"] {
            assert_eq!(
                NewPassword::parse("new", common).map_err(|e| e.code),
                Err("err-password-common".into()),
                "{common}"
            );
        }
        assert!(NewPassword::parse("new", "kehu-客户-2026-长").is_ok());
    }

    #[test]
    fn emails_are_optional_but_valid_when_given() {
        assert_eq!(parse_email(""), Ok(None));
        assert_eq!(
            parse_email("li@example.cn"),
            Ok(Some("li@example.cn".into()))
        );
        assert!(parse_email("not an email").is_err());
    }

    #[test]
    fn a_new_account_reports_every_bad_field() {
        let err = NewAccount::parse("x", "", "nope", None, "short");
        let Err(DomainError::Invalid(fields)) = err else {
            unreachable!("expected field errors, got {err:?}")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            ["username", "display_name", "email", "role_id", "password"]
        );
        assert!(
            NewAccount::parse("li.na", "李娜", "", Some(3), "长一点的密码口令也要十二个字").is_ok()
        );
    }

    #[test]
    fn nobody_disables_themselves_or_changes_their_own_role() {
        let me = EditedAccount {
            role_id: 1,
            is_self: true,
        };
        let codes = |r: Result<AccountChanges, DomainError>| match r {
            Err(DomainError::Invalid(f)) => f.into_iter().map(|f| f.code).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        assert_eq!(
            codes(AccountChanges::parse("甲", "", Some(1), true, me)),
            ["err-self-change"]
        );
        assert_eq!(
            codes(AccountChanges::parse("甲", "", Some(2), false, me)),
            ["err-self-change"]
        );
        assert!(AccountChanges::parse("甲", "", Some(1), false, me).is_ok());
        let other = EditedAccount {
            role_id: 1,
            is_self: false,
        };
        assert!(AccountChanges::parse("甲", "", Some(2), true, other).is_ok());
    }

    #[test]
    fn language_tags_round_trip() {
        for l in Language::ALL {
            assert_eq!(Language::from_tag(l.tag()), Some(l));
        }
        assert_eq!(Language::from_tag("fr"), None);
    }
}
