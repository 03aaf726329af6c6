//! A record page's history (变更记录): the audit entries of the record and of the records that
//! hang off it, newest first — who, when, what, and each field's value before and after by its
//! label, values by their names ([`Names`]). `templates/history.html` shows a `history`.

use kehu_store::audit::AuditEntry;

use crate::i18n::Tr;
use crate::views::when;

/// One change in a history.
#[derive(Debug, Clone)]
pub struct Change {
    /// `create`, `update` or `delete` (a create shows the values set, a delete those it had).
    pub kind: String,
    pub at: String,
    pub by: String,
    pub action: String,
    /// The record changed when it is not the page's own: "联系人 张三".
    pub subject: String,
    /// Label, before, after.
    pub fields: Vec<(String, String, String)>,
}

/// A changed field's name in the page's language: the form's label
/// ([`crate::views::field_label`]), else `audit-field-<field>` (what only the audit trail
/// names: an order's `order_date`), else the field as stored.
fn field_label(tr: &Tr, field: &str) -> String {
    let form = crate::views::field_label(tr, field);
    let own = format!("audit-field-{field}");
    if form == field && tr.has(&own) {
        tr.t(&own)
    } else {
        form
    }
}

/// How a page names what its history shows. The defaults show fields by their shared labels
/// and values as stored.
pub trait Names {
    /// The entity of the page's own record (`customer`): its entries have no subject.
    fn entity(&self) -> &str;

    /// A field's label.
    fn label(&self, tr: &Tr, field: &str) -> String {
        field_label(tr, field)
    }

    /// A non-empty value of `field` as shown (a dictionary value by its label, a user by name).
    fn shown(&self, _tr: &Tr, _field: &str, value: String) -> String {
        value
    }

    /// The name of record `id` of `entity` when its entries do not name it.
    fn named(&self, _entity: &str, _id: &str) -> Option<String> {
        None
    }

    /// Whether `field` of another record's entry is left out (the page's record's own id).
    fn hidden(&self, _field: &str) -> bool {
        false
    }
}

/// A JSON value as text: nothing for null, strings without quotes.
pub fn show_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The fields a record's entry may name it by.
const NAMING: &[&str] = &["name", "title", "todo", "number"];

/// Entry `e` as the page shows it; fields that were and stay empty left out, yes/no by their
/// words.
pub fn change(tr: &Tr, n: &impl Names, e: &AuditEntry) -> Change {
    let changes = e.changes_json();
    let own = e.entity == n.entity();
    let shown = |field: &str, v: &serde_json::Value| -> String {
        if let serde_json::Value::Bool(b) = v {
            return tr.t(if *b { "audit-yes" } else { "audit-no" });
        }
        let s = show_value(v);
        if s.is_empty() {
            s
        } else {
            n.shown(tr, field, s)
        }
    };
    let subject = if own {
        String::new()
    } else {
        let named = NAMING.iter().find_map(|k| {
            let v = &changes[*k];
            [&v["after"], &v["before"]]
                .into_iter()
                .map(show_value)
                .find(|s| !s.is_empty())
        });
        let name = named
            .or_else(|| n.named(&e.entity, &e.entity_id))
            .unwrap_or_else(|| format!("#{}", e.entity_id));
        let key = format!("audit-entity-{}", e.entity);
        let kind = if tr.has(&key) {
            tr.t(&key)
        } else {
            e.entity.clone()
        };
        format!("{kind} {name}")
    };
    let fields = changes
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| own || !n.hidden(k))
                .map(|(k, v)| {
                    (
                        n.label(tr, k),
                        shown(k, &v["before"]),
                        shown(k, &v["after"]),
                    )
                })
                .filter(|(_, before, after)| !(before.is_empty() && after.is_empty()))
                .collect()
        })
        .unwrap_or_default();
    Change {
        kind: e.action.clone(),
        at: when(tr, &e.at),
        by: e.username.clone(),
        action: tr.t(&format!("audit-action-{}", e.action)),
        subject,
        fields,
    }
}
