//! Header mapping (表头映射): which column of an imported file is which field of a module.
//!
//! A module describes its importable fields as [`FieldSpec`]s (the labels come from its
//! Fluent messages, so the file's header may use the zh-CN or the English column title).
//! A header cell matches a field by its name, either label or an alias, ignoring case,
//! full-width/half-width forms, surrounding whitespace and a trailing `*` (templates mark
//! required columns that way). Missing required fields are an error before any row is read.

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

/// One importable field of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// The stable field name (`name`, `mobile`), also accepted as a header.
    pub name: String,
    /// The zh-CN column title (`客户名称`).
    pub label_zh: String,
    /// The English column title (`Customer name`).
    pub label_en: String,
    /// Other titles seen in the wild (`手机号`, `phone`).
    pub aliases: Vec<String>,
    /// The file must have a column for this field.
    pub required: bool,
}

impl FieldSpec {
    pub fn new(
        name: impl Into<String>,
        label_zh: impl Into<String>,
        label_en: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            label_zh: label_zh.into(),
            label_en: label_en.into(),
            aliases: Vec::new(),
            required: false,
        }
    }

    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    #[must_use]
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.aliases.push(alias.into());
        self
    }
}

/// A header cell that matched no field: shown to the user, ignored by the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownHeader {
    /// 0-based column index.
    pub column: usize,
    pub header: String,
}

/// The result of mapping: for each field (in the order of the specs) the column it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    fields: Vec<(String, Option<usize>)>,
    unknown: Vec<UnknownHeader>,
}

impl HeaderMap {
    /// The 0-based column of a field, `None` when the file has no such column.
    pub fn column(&self, field: &str) -> Option<usize> {
        self.fields
            .iter()
            .find(|(name, _)| name == field)
            .and_then(|(_, column)| *column)
    }

    /// A field's cell in a row; `None` when the column is absent. Cells are as in the file
    /// (not trimmed): normalising values is the importer's job.
    pub fn value<'r>(&self, cells: &'r [String], field: &str) -> Option<&'r str> {
        self.column(field)
            .and_then(|c| cells.get(c))
            .map(String::as_str)
    }

    /// Every field with its column, in the order of the specs.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Option<usize>)> {
        self.fields
            .iter()
            .map(|(name, column)| (name.as_str(), *column))
    }

    /// Header cells that matched no field (empty header cells are not listed).
    pub fn unknown(&self) -> &[UnknownHeader] {
        &self.unknown
    }
}

/// Why a header cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("required columns missing: {}", .0.join(", "))]
    MissingRequired(Vec<String>),
    #[error("field {field} appears in more than one column: {columns:?}")]
    DuplicateColumn { field: String, columns: Vec<usize> },
}

impl HeaderError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingRequired(_) => "missing_required_column",
            Self::DuplicateColumn { .. } => "duplicate_column",
        }
    }
}

impl HeaderMap {
    /// The columns a person chose for each field (on an import's mapping page) instead of
    /// matching the header: the same checks as [`map_headers`] (every required field has a
    /// column, no column serves two fields). Fields not listed have no column.
    pub fn chosen(
        specs: &[FieldSpec],
        chosen: &[(String, Option<usize>)],
    ) -> Result<Self, HeaderError> {
        let column_of = |name: &str| {
            chosen
                .iter()
                .find(|(field, _)| field == name)
                .and_then(|(_, column)| *column)
        };
        let fields: Vec<(String, Option<usize>)> = specs
            .iter()
            .map(|spec| (spec.name.clone(), column_of(&spec.name)))
            .collect();
        for (i, (name, column)) in fields.iter().enumerate() {
            let Some(column) = column else { continue };
            if fields[..i].iter().any(|(_, c)| c == &Some(*column)) {
                let columns = vec![*column];
                return Err(HeaderError::DuplicateColumn {
                    field: name.clone(),
                    columns,
                });
            }
        }
        let missing: Vec<String> = specs
            .iter()
            .zip(&fields)
            .filter(|(spec, (_, column))| spec.required && column.is_none())
            .map(|(spec, _)| spec.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(HeaderError::MissingRequired(missing));
        }
        Ok(Self {
            fields,
            unknown: Vec::new(),
        })
    }
}

/// Maps a file's header row onto a module's fields.
pub fn map_headers(specs: &[FieldSpec], headers: &[String]) -> Result<HeaderMap, HeaderError> {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, spec) in specs.iter().enumerate() {
        let titles = [&spec.name, &spec.label_zh, &spec.label_en]
            .into_iter()
            .chain(&spec.aliases);
        for title in titles {
            let key = fold(title);
            if !key.is_empty() {
                by_key.entry(key).or_insert(i);
            }
        }
    }
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); specs.len()];
    let mut unknown = Vec::new();
    for (column, header) in headers.iter().enumerate() {
        let key = fold(header);
        match by_key.get(&key) {
            Some(&field) => columns[field].push(column),
            None if key.is_empty() => {}
            None => unknown.push(UnknownHeader {
                column,
                header: header.clone(),
            }),
        }
    }
    if let Some((spec, found)) = specs.iter().zip(&columns).find(|(_, c)| c.len() > 1) {
        return Err(HeaderError::DuplicateColumn {
            field: spec.name.clone(),
            columns: found.clone(),
        });
    }
    let missing: Vec<String> = specs
        .iter()
        .zip(&columns)
        .filter(|(spec, found)| spec.required && found.is_empty())
        .map(|(spec, _)| spec.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(HeaderError::MissingRequired(missing));
    }
    let fields = specs
        .iter()
        .zip(columns)
        .map(|(spec, found)| (spec.name.clone(), found.first().copied()))
        .collect();
    Ok(HeaderMap { fields, unknown })
}

/// The comparison form of a title: NFKC (full-width `ＭＯＢＩＬＥ` → `MOBILE`, the ideographic
/// space → a space), lower case, trimmed, without a trailing required-marker `*`.
fn fold(title: &str) -> String {
    let folded: String = title.nfkc().flat_map(char::to_lowercase).collect();
    folded.trim().trim_end_matches('*').trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer_fields() -> Vec<FieldSpec> {
        vec![
            FieldSpec::new("name", "客户名称", "Customer name").required(),
            FieldSpec::new("mobile", "手机", "Mobile").alias("手机号"),
            FieldSpec::new("region", "地区", "Region"),
        ]
    }

    fn headers(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn headers_match_by_name_or_either_label_ignoring_case_width_and_spaces()
    -> Result<(), HeaderError> {
        let map = map_headers(
            &customer_fields(),
            &headers(&[" 客户名称* ", "ＭＯＢＩＬＥ", "REGION", "备注"]),
        )?;
        assert_eq!(map.column("name"), Some(0));
        assert_eq!(map.column("mobile"), Some(1));
        assert_eq!(map.column("region"), Some(2));
        assert_eq!(
            map.unknown(),
            &[UnknownHeader {
                column: 3,
                header: "备注".into()
            }]
        );
        let row = headers(&["张三", "13800138000", "440000", "x"]);
        assert_eq!(map.value(&row, "mobile"), Some("13800138000"));
        Ok(())
    }

    #[test]
    fn an_alias_and_the_english_label_work_too() -> Result<(), HeaderError> {
        let map = map_headers(&customer_fields(), &headers(&["Customer Name", "手机号"]))?;
        assert_eq!(map.column("name"), Some(0));
        assert_eq!(map.column("mobile"), Some(1));
        assert_eq!(map.column("region"), None);
        Ok(())
    }

    #[test]
    fn a_missing_required_column_is_an_error_naming_the_field() {
        let err = map_headers(&customer_fields(), &headers(&["手机", "地区"]));
        assert_eq!(err, Err(HeaderError::MissingRequired(vec!["name".into()])));
        assert_eq!(err.err().map(|e| e.code()), Some("missing_required_column"));
    }

    #[test]
    fn the_same_field_in_two_columns_is_an_error() {
        let err = map_headers(&customer_fields(), &headers(&["name", "客户名称"]));
        assert_eq!(
            err,
            Err(HeaderError::DuplicateColumn {
                field: "name".into(),
                columns: vec![0, 1]
            })
        );
    }
}
