//! What the header search finds of this module (`kehu_store::search`): one document per
//! customer (title its name, subtitle its code; found by name, code and phone) and per contact
//! (title the name, subtitle the customer's name; found by name, phone, mobile and email),
//! each owned by the customer's account manager so the search keeps to the data scope. The
//! store calls these inside each write's transaction, so the index never disagrees with a
//! committed record: a customer in the trash and its contacts are not found, a transferred one
//! is found by its new manager only.
//!
//! Like `rows.rs`, nothing here reads a customer: the store passes the customer it has already
//! found within the caller's scope; this only reads that customer's contacts.

use kehu_store::StoreResult;
use kehu_store::db::Tx;
use kehu_store::search::{self, SearchDoc};
use sea_query::{Expr, ExprTrait, Query};

use crate::schema::Contacts;
use crate::store::{Contact, Customer};

/// The index's entity of customers (`Module::searchable`).
pub const CUSTOMER: &str = "customer";
/// The index's entity of contacts.
pub const CONTACT: &str = "contact";

/// A document before it is lent to the index (which borrows its texts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc<'a> {
    pub entity: &'static str,
    pub id: i64,
    pub owner_id: i64,
    pub title: &'a str,
    pub subtitle: &'a str,
    pub texts: Vec<String>,
}

impl Doc<'_> {
    fn texts(&self) -> Vec<&str> {
        self.texts.iter().map(String::as_str).collect()
    }
}

/// A phone number as people type it: a Chinese number in its national form (`13812345678`,
/// `075588881234`: the trunk `0` before an area code), others as their E.164 digits. One form
/// only: each costs a dozen index entries.
fn typed_phone(e164: &str) -> String {
    match e164.strip_prefix("+86") {
        Some(rest) if rest.starts_with('1') => rest.to_owned(),
        Some(rest) => format!("0{rest}"),
        None => e164.trim_start_matches('+').to_owned(),
    }
}

/// The search document of customer `c`: found by its name, code and phone.
pub fn customer_doc(c: &Customer) -> Doc<'_> {
    customer_parts_doc(c.id, c.owner_id, &c.name, &c.code, c.phone.as_deref())
}

/// [`customer_doc`] from the parts it reads (an import has them before any read-back).
pub fn customer_parts_doc<'a>(
    id: i64,
    owner_id: i64,
    name: &'a str,
    code: &'a str,
    phone: Option<&str>,
) -> Doc<'a> {
    let mut texts = vec![code.to_owned()];
    texts.extend(phone.map(typed_phone));
    Doc {
        entity: CUSTOMER,
        id,
        owner_id,
        title: name,
        subtitle: code,
        texts,
    }
}

/// The search document of contact `c` of a customer managed by `owner_id`: found by its name,
/// office phone, mobile and email.
pub fn contact_doc<'a>(c: &'a ContactFields<'a>, owner_id: i64) -> Doc<'a> {
    let mut texts: Vec<String> = [c.phone, c.mobile]
        .into_iter()
        .flatten()
        .map(typed_phone)
        .collect();
    texts.extend(c.email.map(str::to_owned));
    Doc {
        entity: CONTACT,
        id: c.id,
        owner_id,
        title: c.name,
        subtitle: c.customer_name,
        texts,
    }
}

/// What a contact's document is made of: a stored [`Contact`]'s fields, or an import's row.
#[derive(Debug, Clone, Copy)]
pub struct ContactFields<'a> {
    pub id: i64,
    pub name: &'a str,
    pub customer_name: &'a str,
    pub phone: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub email: Option<&'a str>,
}

impl<'a> From<&'a Contact> for ContactFields<'a> {
    fn from(c: &'a Contact) -> Self {
        Self {
            id: c.id,
            name: &c.name,
            customer_name: &c.customer_name,
            phone: c.phone.as_deref(),
            mobile: c.mobile.as_deref(),
            email: c.email.as_deref(),
        }
    }
}

/// Writes `docs` in one go (`search::put_many`: a few multi-row statements).
/// Writes `docs` in one batch (an import's batch builds them from what it inserted).
pub(crate) async fn put_docs(tx: &mut Tx, docs: &[Doc<'_>]) -> StoreResult<()> {
    let texts: Vec<Vec<&str>> = docs.iter().map(Doc::texts).collect();
    let docs: Vec<SearchDoc<'_>> = docs
        .iter()
        .zip(&texts)
        .map(|(d, texts)| SearchDoc {
            entity: d.entity,
            entity_id: d.id,
            owner_id: Some(d.owner_id),
            title: d.title,
            subtitle: d.subtitle,
            texts,
        })
        .collect();
    search::put_many(tx, &docs).await
}

/// The ids, names, phones and emails of customer `customer_id`'s contacts.
async fn contacts_of(tx: &mut Tx, customer_id: i64) -> StoreResult<Vec<ContactRow>> {
    let q = Query::select()
        .columns([
            Contacts::Id,
            Contacts::Name,
            Contacts::Phone,
            Contacts::Mobile,
            Contacts::Email,
        ])
        .from(Contacts::Table)
        .and_where(Expr::col(Contacts::CustomerId).eq(customer_id))
        .to_owned();
    Ok(tx.fetch_all(&q).await?)
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    name: String,
    phone: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
}

/// Customer `c` as it now is, in the index with its contacts (created, changed, restored,
/// transferred: the contacts carry its name and manager), or out of it with them when it is
/// in the trash. Returns `c`.
pub async fn customer(tx: &mut Tx, c: Customer) -> StoreResult<Customer> {
    if c.deleted_at.is_some() {
        customer_gone(tx, c.id).await?;
        return Ok(c);
    }
    let rows = contacts_of(tx, c.id).await?;
    let fields: Vec<ContactFields<'_>> = rows
        .iter()
        .map(|r| ContactFields {
            id: r.id,
            name: &r.name,
            customer_name: &c.name,
            phone: r.phone.as_deref(),
            mobile: r.mobile.as_deref(),
            email: r.email.as_deref(),
        })
        .collect();
    let mut docs = vec![customer_doc(&c)];
    docs.extend(fields.iter().map(|f| contact_doc(f, c.owner_id)));
    put_docs(tx, &docs).await?;
    Ok(c)
}

/// Customer `id` out of the index with its contacts (in the trash, or about to be deleted for
/// good).
pub async fn customer_gone(tx: &mut Tx, id: i64) -> StoreResult<()> {
    for r in contacts_of(tx, id).await? {
        search::remove(tx, CONTACT, r.id).await?;
    }
    search::remove(tx, CUSTOMER, id).await
}

/// Contact `c` as it now is, in the index. Returns `c`.
pub async fn contact(tx: &mut Tx, c: Contact) -> StoreResult<Contact> {
    put_docs(tx, &[contact_doc(&ContactFields::from(&c), c.owner_id)]).await?;
    Ok(c)
}

/// Contact `id` out of the index.
pub async fn contact_gone(tx: &mut Tx, id: i64) -> StoreResult<()> {
    search::remove(tx, CONTACT, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_numbers_are_indexed_as_dialled_at_home() {
        assert_eq!(typed_phone("+8613812345678"), "13812345678");
        assert_eq!(typed_phone("+8675588881234"), "075588881234");
        assert_eq!(typed_phone("+14155550123"), "14155550123");
    }
}
