//! Free text from users: trimmed, bounded, and free of control characters.

use crate::error::FieldError;

/// Trims `input` and checks it is 1..=max characters without control characters.
pub fn required(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    let s = optional(field, input, max)?;
    s.ok_or_else(|| FieldError::new(field, "err-required"))
}

/// Like [`required`] but an empty input is `None`.
pub fn optional(field: &str, input: &str, max: usize) -> Result<Option<String>, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(FieldError::new(field, "err-too-long"));
    }
    // Tabs and newlines are fine in long text; other control characters never are.
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(field, "err-control-chars"));
    }
    Ok(Some(s.to_owned()))
}

/// Single-line text: like [`required`] and no line breaks or tabs.
pub fn line(field: &str, input: &str, max: usize) -> Result<String, FieldError> {
    let s = required(field, input, max)?;
    if s.contains(['\n', '\r', '\t']) {
        return Err(FieldError::new(field, "err-control-chars"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_by_characters_not_bytes() {
        assert_eq!(required("n", "  客户  ", 2).as_deref(), Ok("客户"));
        assert_eq!(
            required("n", "客户们", 2).map_err(|e| e.code),
            Err("err-too-long".into())
        );
    }

    #[test]
    fn control_characters_and_empty_input_are_rejected() {
        assert_eq!(
            required("n", "a\u{0}b", 10).map_err(|e| e.code),
            Err("err-control-chars".into())
        );
        assert_eq!(
            line("n", "a\nb", 10).map_err(|e| e.code),
            Err("err-control-chars".into())
        );
        assert_eq!(
            required("n", "   ", 10).map_err(|e| e.code),
            Err("err-required".into())
        );
        assert_eq!(optional("n", "  ", 10), Ok(None));
        assert_eq!(
            optional("n", "多行\n文本", 10).ok().flatten().as_deref(),
            Some("多行\n文本")
        );
    }
}
