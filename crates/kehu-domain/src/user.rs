//! Users (系统用户): validated sign-in names, display names, passwords and UI languages.

use crate::{FieldError, text};

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

/// A new password: 8–128 characters, not all the same kind of trivial input.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub fn parse(field: &str, input: &str) -> Result<Self, FieldError> {
        let n = input.chars().count();
        if n < 8 {
            return Err(FieldError::new(field, "err-password-short"));
        }
        if n > 128 {
            return Err(FieldError::new(field, "err-too-long"));
        }
        if input.chars().any(char::is_control) {
            return Err(FieldError::new(field, "err-control-chars"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
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
    fn passwords_need_eight_characters_and_are_not_printed() {
        assert!(NewPassword::parse("password", "short").is_err());
        let p = NewPassword::parse("password", "长一点的密码口令").map(|p| format!("{p:?}"));
        assert_eq!(p, Ok("NewPassword(***)".into()));
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
    fn language_tags_round_trip() {
        for l in Language::ALL {
            assert_eq!(Language::from_tag(l.tag()), Some(l));
        }
        assert_eq!(Language::from_tag("fr"), None);
    }
}
