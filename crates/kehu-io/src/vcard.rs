//! Contacts (联系人) as vCards: written as vCard 4.0 (RFC 6350), read from 4.0, 3.0 and
//! 2.1 with folded lines, through Stalwart's `calcard` parser and writer. Only the properties
//! kehu keeps are mapped: FN, N, TEL (cell / work), EMAIL, ORG, TITLE, NOTE.

use calcard::common::IanaType;
use calcard::vcard::{
    VCard, VCardEntry, VCardParameter, VCardParameterName, VCardProperty, VCardType, VCardValue,
    VCardVersion,
};
use calcard::{Entry, Parser};

/// One contact as a vCard carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// FN: the name as shown (`张三`).
    pub full_name: String,
    /// N's family name (`张`), when known.
    pub family_name: Option<String>,
    /// N's given name (`三`), when known.
    pub given_name: Option<String>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    /// ORG: the customer's name.
    pub org: Option<String>,
    /// TITLE: the position (职务).
    pub title: Option<String>,
    /// NOTE: the memo (备注).
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub number: String,
    pub kind: PhoneKind,
}

/// Which kind of number a TEL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    /// Mobile (手机): `TYPE=cell`.
    Cell,
    /// Office phone (办公电话): `TYPE=work`.
    Work,
    Other,
}

/// A card in a file that could not become a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedCard {
    /// 1-based position of the card in the file.
    pub index: usize,
    /// `missing_name` (neither FN nor N) or `invalid_card` (the parser gave up).
    pub reason: &'static str,
}

/// What reading a `.vcf` file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcardFile {
    pub contacts: Vec<Contact>,
    pub rejected: Vec<RejectedCard>,
    /// The text encoding the file was read in (`UTF-8`, `GBK` …).
    pub encoding: &'static str,
}

/// Writes contacts as vCard 4.0, CRLF line ends, long lines folded.
pub fn write_vcards<'c>(contacts: impl IntoIterator<Item = &'c Contact>) -> String {
    let mut out = String::new();
    for contact in contacts {
        // Writing into a String cannot fail.
        let _ = to_vcard(contact).write_to(&mut out, VCardVersion::V4_0);
    }
    out
}

fn to_vcard(contact: &Contact) -> VCard {
    let mut entries = vec![text_entry(VCardProperty::Fn, &contact.full_name)];
    if contact.family_name.is_some() || contact.given_name.is_some() {
        let part = |p: &Option<String>| VCardValue::Text(p.clone().unwrap_or_default());
        let empty = || VCardValue::Text(String::new());
        entries.push(VCardEntry::new(VCardProperty::N).with_values(vec![
            part(&contact.family_name),
            part(&contact.given_name),
            empty(),
            empty(),
            empty(),
        ]));
    }
    for phone in &contact.phones {
        let mut entry = text_entry(VCardProperty::Tel, &phone.number);
        match phone.kind {
            PhoneKind::Cell => entry.add_param(VCardParameter::typ(VCardType::Cell)),
            PhoneKind::Work => {
                entry.add_param(VCardParameter::typ(VCardType::Work));
                entry.add_param(VCardParameter::typ(VCardType::Voice));
            }
            PhoneKind::Other => {}
        }
        entries.push(entry);
    }
    for email in &contact.emails {
        entries.push(text_entry(VCardProperty::Email, email));
    }
    for (property, value) in [
        (VCardProperty::Org, &contact.org),
        (VCardProperty::Title, &contact.title),
        (VCardProperty::Note, &contact.note),
    ] {
        if let Some(value) = value {
            entries.push(text_entry(property, value));
        }
    }
    VCard { entries }
}

fn text_entry(property: VCardProperty, value: &str) -> VCardEntry {
    VCardEntry::new(property).with_value(value.to_owned())
}

/// Reads every card in a `.vcf` file (any of vCard 2.1, 3.0, 4.0; encoding detected as for
/// CSV). Cards without a name are reported, not dropped silently.
pub fn read_vcards(bytes: &[u8]) -> VcardFile {
    let (text, encoding, _) = crate::sniff::decode_all(bytes);
    let mut parser = Parser::new(&text);
    let mut file = VcardFile {
        contacts: Vec::new(),
        rejected: Vec::new(),
        encoding: encoding.name(),
    };
    let mut index = 0;
    loop {
        match parser.entry() {
            Entry::Eof => break,
            Entry::VCard(card) => {
                index += 1;
                match from_vcard(&card) {
                    Some(contact) => file.contacts.push(contact),
                    None => file.rejected.push(RejectedCard {
                        index,
                        reason: "missing_name",
                    }),
                }
            }
            // Lines outside any card and calendar components are not contacts.
            Entry::InvalidLine(_) | Entry::ICalendar(_) => {}
            _ => {
                index += 1;
                file.rejected.push(RejectedCard {
                    index,
                    reason: "invalid_card",
                });
            }
        }
    }
    file
}

fn from_vcard(card: &VCard) -> Option<Contact> {
    let mut contact = Contact::default();
    for entry in &card.entries {
        let text = || {
            entry
                .values
                .iter()
                .filter_map(VCardValue::as_text)
                .collect::<Vec<_>>()
                .join(",")
                .trim()
                .to_owned()
        };
        let some = |s: String| (!s.is_empty()).then_some(s);
        match &entry.name {
            VCardProperty::Fn => contact.full_name = text(),
            VCardProperty::N => {
                let parts = name_parts(entry);
                contact.family_name = parts.first().cloned().and_then(some);
                contact.given_name = parts.get(1).cloned().and_then(some);
            }
            VCardProperty::Tel => {
                let number = text().trim_start_matches("tel:").to_owned();
                if !number.is_empty() {
                    contact.phones.push(Phone {
                        number,
                        kind: phone_kind(entry),
                    });
                }
            }
            VCardProperty::Email => {
                if let Some(email) = some(text()) {
                    contact.emails.push(email);
                }
            }
            // ORG's units come as components (`Company;Department`): keep the company.
            VCardProperty::Org => contact.org = name_parts(entry).into_iter().next().and_then(some),
            VCardProperty::Title => contact.title = some(text()),
            VCardProperty::Note => contact.note = some(text()),
            _ => {}
        }
    }
    if contact.full_name.is_empty() {
        contact.full_name = joined_name(
            contact.family_name.as_deref(),
            contact.given_name.as_deref(),
        )?;
    }
    Some(contact)
}

/// The `;`-separated parts of N or ORG, however the parser grouped them.
fn name_parts(entry: &VCardEntry) -> Vec<String> {
    let mut parts = Vec::new();
    for value in &entry.values {
        match value {
            VCardValue::Component(items) => parts.push(items.join(" ").trim().to_owned()),
            other => parts.push(other.as_text().unwrap_or_default().trim().to_owned()),
        }
    }
    parts
}

fn phone_kind(entry: &VCardEntry) -> PhoneKind {
    let mut kind = PhoneKind::Other;
    for param in &entry.params {
        if param.name != VCardParameterName::Type {
            continue;
        }
        let typ = param.value.as_type();
        let is = |wanted: VCardType, word: &str| match &typ {
            Some(IanaType::Iana(t)) => **t == wanted,
            Some(IanaType::Other(s)) => s.eq_ignore_ascii_case(word),
            None => false,
        };
        if is(VCardType::Cell, "cell") || is(VCardType::Cell, "mobile") {
            return PhoneKind::Cell;
        }
        if is(VCardType::Work, "work") {
            kind = PhoneKind::Work;
        }
    }
    kind
}

/// FN from N when a card has no FN: Chinese names are family + given without a space,
/// others given + family with one.
fn joined_name(family: Option<&str>, given: Option<&str>) -> Option<String> {
    match (family, given) {
        (None, None) => None,
        (Some(f), None) => Some(f.to_owned()),
        (None, Some(g)) => Some(g.to_owned()),
        (Some(f), Some(g)) if f.chars().chain(g.chars()).any(is_cjk) => Some(format!("{f}{g}")),
        (Some(f), Some(g)) => Some(format!("{g} {f}")),
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}
