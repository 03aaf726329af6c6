//! Importing customers (客户导入) and contacts (联系人导入) on the kit's import runner
//! (`kehu_web::import`): the columns a file may have (by field name or zh-CN / English title),
//! how a row becomes a [`CustomerDraft`] (dictionary columns by value or label, the account
//! manager by user name) and how a batch is stored: duplicates found among the stored
//! customers (same code, phone or mobile, e-mail, or name) and in the batch itself, new
//! customers inserted together with their codes, tags, primary contact and audit entries.
//!
//! A customer row may carry its primary contact (`联系人`, `手机`, `电子邮件`). On a duplicate
//! with `update`, the customer's fields that the file has columns for change, and the row's
//! contact becomes its primary contact (see [`put_contact`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{NaiveDate, Utc};
use kehu_domain::policy::OwnerFilter;
use kehu_domain::user::Language;
use kehu_domain::{DomainError, FieldError};
use kehu_io::vcard::{PhoneKind, VcardFile};
use kehu_io::{FieldSpec, HeaderMap};
use kehu_store::audit::Actor;
use kehu_store::db::Tx;
use kehu_store::write;
use kehu_store::{StoreError, StoreResult};
use kehu_web::i18n::Tr;
use kehu_web::import::{ImportError, ImportOptions, ImportRows, OnDuplicate, Outcome, Pending};
use sea_query::{Expr, Iden, Query};

use crate::domain::{
    ContactDraft, ContactInput, CustomerDraft, CustomerInput, DictValues, normalize,
};
use crate::indexing::{self, ContactFields, Doc};
use crate::rows;
use crate::schema::Contacts;
use crate::store::{self, Contact, CustomerStore, Match, MatchKeys, NewCustomer};

/// A field spec titled by Fluent keys in both languages.
pub fn spec(name: &str, key: &str, aliases: &[&str]) -> FieldSpec {
    let (zh, en) = (Tr::new(Language::ZhCn), Tr::new(Language::En));
    aliases
        .iter()
        .fold(FieldSpec::new(name, zh.t(key), en.t(key)), |spec, alias| {
            spec.alias(*alias)
        })
}

/// The columns of a customer file.
pub fn customer_fields() -> Vec<FieldSpec> {
    vec![
        spec("code", "field-code", &["编号"]),
        spec(
            "name",
            "field-customer-name",
            &["客户", "公司名称", "customer"],
        )
        .required(),
        spec("owner", "field-owner-id", &["owner_id", "负责人"]),
        spec("region", "field-region", &["省份", "所在地区"]),
        spec("level", "field-level", &["等级"]),
        spec("industry", "field-industry", &["所属行业"]),
        spec("source", "field-source", &["来源"]),
        spec("satisfaction", "field-satisfaction", &["满意度"]),
        spec("credit", "field-credit", &["信用度"]),
        spec("address", "field-address", &["地址", "详细地址"]),
        spec("postcode", "field-postcode", &["邮编"]),
        spec("phone", "field-phone", &["公司电话", "联系电话"]),
        spec("fax", "field-fax", &[]),
        spec("website", "field-website", &["网站"]),
        spec("licence_no", "field-licence-no", &["营业执照号"]),
        spec("legal_rep", "field-legal-rep", &["法人"]),
        spec(
            "registered_capital",
            "field-registered-capital",
            &["注册资金"],
        ),
        spec("annual_turnover", "field-annual-turnover", &["年营业额"]),
        spec("bank", "field-bank", &[]),
        spec("bank_account", "field-bank-account", &[]),
        spec("local_tax_no", "field-local-tax-no", &[]),
        spec("national_tax_no", "field-national-tax-no", &[]),
        spec("size", "field-size", &[]),
        spec("gender", "field-gender", &[]),
        spec("birthday", "field-birthday", &[]),
        spec("income_band", "field-income-band", &[]),
        spec("tags", "field-tags", &[]),
        spec("memo", "field-memo", &[]),
        spec(
            "contact_name",
            "import-field-contact",
            &["联系人姓名", "contact"],
        ),
        spec("mobile", "field-mobile", &["手机号", "手机号码"]),
        spec("email", "field-email", &["邮箱", "e-mail"]),
    ]
}

/// The columns of a contact file.
pub fn contact_fields() -> Vec<FieldSpec> {
    vec![
        spec(
            "customer",
            "field-customer-id",
            &["客户名称", "客户编号", "customer_code", "customer_name"],
        )
        .required(),
        spec("name", "field-contact-name", &["联系人", "联系人姓名"]).required(),
        spec("gender", "field-gender", &[]),
        spec("position", "field-position", &["职务"]),
        spec("phone", "field-office-phone", &["电话"]),
        spec("mobile", "field-mobile", &["手机号", "手机号码"]),
        spec("email", "field-email", &["邮箱", "e-mail"]),
        spec("memo", "field-memo", &[]),
        spec("is_primary", "field-is-primary", &[]),
    ]
}

/// A comparison form of a label or name: NFKC-like folding of our `normalize`, lower case.
fn fold(s: &str) -> String {
    normalize(s).to_lowercase()
}

/// Who imports, for whom, and with what the rows are checked against: loaded once per run.
pub struct Context {
    pub scope: OwnerFilter,
    pub actor: Actor,
    /// The account manager of rows without an owner column (the importing user, `--owner`).
    pub default_owner: i64,
    dict: DictValues,
    /// Per dictionary kind: folded label → value.
    labels: HashMap<String, HashMap<String, String>>,
    /// Folded user name and display name → user id.
    users: HashMap<String, i64>,
    today: NaiveDate,
}

impl Context {
    pub async fn load(
        store: &CustomerStore,
        scope: OwnerFilter,
        actor: Actor,
        default_owner: i64,
    ) -> StoreResult<Self> {
        let dict = store.dictionary().await?;
        let mut labels: HashMap<String, HashMap<String, String>> = HashMap::new();
        for (kind, label, value) in rows::dict_entries(store.db()).await? {
            labels
                .entry(kind)
                .or_default()
                .entry(fold(&label))
                .or_insert(value);
        }
        let mut users = HashMap::new();
        for (id, username, display) in rows::active_users(store.db()).await? {
            users.insert(fold(&username), id);
            users.entry(fold(&display)).or_insert(id);
        }
        Ok(Self {
            scope,
            actor,
            default_owner,
            dict,
            labels,
            users,
            today: store.today(),
        })
    }

    /// A dictionary column's value: the label's value when the cell is a label of `kind`,
    /// else the cell as it is (then checked as a value).
    fn dict_value(&self, kind: &str, cell: &str) -> String {
        self.labels
            .get(kind)
            .and_then(|m| m.get(&fold(cell)))
            .cloned()
            .unwrap_or_else(|| cell.to_owned())
    }
}

/// A code's cell in a column of codes that also takes the zh-CN label (`男`, `中型`).
fn coded(cell: &str, labels: &[(&str, &str)]) -> String {
    let s = normalize(cell);
    labels
        .iter()
        .find(|(label, _)| s.starts_with(label))
        .map_or(s.clone(), |(_, code)| (*code).to_owned())
}

const GENDERS: &[(&str, &str)] = &[("男", "male"), ("女", "female")];
const SIZES: &[(&str, &str)] = &[
    ("微型", "micro"),
    ("小型", "small"),
    ("中型", "medium"),
    ("大型", "large"),
];

fn invalid(e: DomainError) -> Vec<FieldError> {
    match e {
        DomainError::Invalid(f) => f,
        _ => vec![FieldError::new("name", "err-invalid")],
    }
}

/// One customer row, parsed.
#[derive(Debug)]
pub struct CustomerRow {
    code: Option<String>,
    draft: CustomerDraft,
    contact: Option<ContactDraft>,
}

/// The customer import: [`ImportRows`] for the runner.
pub struct CustomerImport {
    cx: Context,
    fields: Vec<FieldSpec>,
    mapped: OnceLock<HashSet<String>>,
}

/// The fields the file has a column for: what `update` sets on a duplicate (a field without a
/// column keeps its stored value).
fn mapped_fields(fields: &[FieldSpec], map: &HeaderMap) -> HashSet<String> {
    fields
        .iter()
        .filter(|f| map.column(&f.name).is_some())
        .map(|f| f.name.clone())
        .collect()
}

impl CustomerImport {
    pub fn new(cx: Context) -> Self {
        Self {
            cx,
            fields: customer_fields(),
            mapped: OnceLock::new(),
        }
    }

    fn owner(&self, cell: &str) -> Result<i64, FieldError> {
        let owner = if cell.trim().is_empty() {
            self.cx.default_owner
        } else {
            *self
                .cx
                .users
                .get(&fold(cell))
                .ok_or_else(|| FieldError::new("owner", "err-owner-unknown"))?
        };
        CustomerStore::owner_for(self.cx.scope, Some(owner), &self.cx.actor).map_err(|e| match e {
            StoreError::Domain(DomainError::Invalid(mut f)) if !f.is_empty() => {
                let mut f = f.remove(0);
                f.field = "owner".into();
                f
            }
            _ => FieldError::new("owner", "err-owner-scope"),
        })
    }
}

impl From<Context> for CustomerImport {
    fn from(cx: Context) -> Self {
        Self::new(cx)
    }
}

impl ImportRows for CustomerImport {
    type Row = CustomerRow;

    fn tables(&self) -> &'static [&'static str] {
        &["customers", "contacts", "customer_tags", "search_docs"]
    }

    fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    fn parse(&self, map: &HeaderMap, cells: &[String]) -> Result<CustomerRow, Vec<FieldError>> {
        self.mapped.get_or_init(|| mapped_fields(&self.fields, map));
        let get = |field: &str| map.value(cells, field).unwrap_or_default();
        let mut errors = Vec::new();
        let owner = self.owner(get("owner")).map_err(|e| errors.push(e)).ok();
        let dict = |field: &str, kind: &str| self.cx.dict_value(kind, get(field));
        let input = CustomerInput {
            name: get("name").into(),
            owner_id: owner.map(|o| o.to_string()).unwrap_or_default(),
            region: dict("region", crate::domain::kinds::REGION),
            level: dict("level", crate::domain::kinds::LEVEL),
            industry: dict("industry", crate::domain::kinds::INDUSTRY),
            source: dict("source", crate::domain::kinds::SOURCE),
            satisfaction: get("satisfaction").into(),
            credit: get("credit").into(),
            address: get("address").into(),
            postcode: get("postcode").into(),
            phone: get("phone").into(),
            fax: get("fax").into(),
            website: get("website").into(),
            licence_no: get("licence_no").into(),
            legal_rep: get("legal_rep").into(),
            registered_capital: get("registered_capital").into(),
            annual_turnover: get("annual_turnover").into(),
            bank: get("bank").into(),
            bank_account: get("bank_account").into(),
            local_tax_no: get("local_tax_no").into(),
            national_tax_no: get("national_tax_no").into(),
            size: coded(get("size"), SIZES),
            gender: coded(get("gender"), GENDERS),
            birthday: get("birthday").into(),
            income_band: get("income_band").into(),
            tags: get("tags").into(),
            memo: get("memo").into(),
        };
        let draft = CustomerDraft::parse(&input, &self.cx.dict)
            .map_err(|e| errors.extend(invalid(e)))
            .ok();
        let (contact_name, mobile, email) = (get("contact_name"), get("mobile"), get("email"));
        let contact = if [contact_name, mobile, email]
            .iter()
            .all(|c| c.trim().is_empty())
        {
            None
        } else {
            let input = ContactInput {
                name: contact_name.into(),
                mobile: mobile.into(),
                email: email.into(),
                is_primary: true,
                ..ContactInput::default()
            };
            ContactDraft::parse(&input)
                .map_err(|e| {
                    errors.extend(invalid(e).into_iter().map(|mut f| {
                        if f.field == "name" {
                            f.field = "contact_name".into();
                        }
                        f
                    }));
                })
                .ok()
        };
        match draft {
            Some(draft) if errors.is_empty() => {
                let code =
                    Some(normalize(get("code")).to_ascii_uppercase()).filter(|c| !c.is_empty());
                Ok(CustomerRow {
                    code,
                    draft,
                    contact,
                })
            }
            _ => Err(errors),
        }
    }

    async fn commit(
        &self,
        tx: &mut Tx,
        rows: &[Pending<CustomerRow>],
        on_duplicate: OnDuplicate,
    ) -> Result<Vec<Outcome>, StoreError> {
        commit_customers(&self.cx, tx, rows, on_duplicate, self.mapped.get()).await
    }
}

/// What makes two customers the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Code(String),
    Phone(String),
    Email(String),
    Name(String),
}

fn keys_of(r: &CustomerRow) -> Vec<Key> {
    let mut keys = Vec::with_capacity(5);
    if let Some(c) = &r.code {
        keys.push(Key::Code(c.clone()));
    }
    if let Some(p) = &r.draft.phone {
        keys.push(Key::Phone(p.as_str().to_owned()));
    }
    if let Some(c) = &r.contact {
        if let Some(m) = &c.mobile {
            keys.push(Key::Phone(m.as_str().to_owned()));
        }
        if let Some(e) = &c.email {
            keys.push(Key::Email(e.to_lowercase()));
        }
    }
    keys.push(Key::Name(r.draft.name.clone()));
    keys
}

fn match_keys(m: &Match) -> Vec<Key> {
    let mut keys = vec![Key::Code(m.code.clone()), Key::Name(m.name.clone())];
    keys.extend(
        m.phone
            .iter()
            .chain(&m.mobile)
            .map(|p| Key::Phone(p.clone())),
    );
    keys.extend(m.email.iter().map(|e| Key::Email(e.to_lowercase())));
    keys
}

async fn commit_customers(
    cx: &Context,
    tx: &mut Tx,
    rows: &[Pending<CustomerRow>],
    on_duplicate: OnDuplicate,
    mapped: Option<&HashSet<String>>,
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes = vec![Outcome::Imported; rows.len()];
    let mut stored: HashMap<Key, (i64, i64)> = HashMap::new();
    if on_duplicate != OnDuplicate::Create {
        let mut keys = MatchKeys::default();
        for p in rows {
            for k in keys_of(&p.row) {
                match k {
                    Key::Code(c) => keys.codes.push(c),
                    Key::Phone(p) => keys.phones.push(p),
                    Key::Email(e) => keys.emails.push(e),
                    Key::Name(n) => keys.names.push(n),
                }
            }
        }
        for m in store::find_matches(tx, &keys).await? {
            for k in match_keys(&m) {
                stored.entry(k).or_insert((m.id, m.owner_id));
            }
        }
    }
    // Rows to create (indexes into `rows`), and the batch's own keys → position there.
    let mut create: Vec<usize> = Vec::new();
    let mut local: HashMap<Key, usize> = HashMap::new();
    for (i, p) in rows.iter().enumerate() {
        let keys = keys_of(&p.row);
        if on_duplicate != OnDuplicate::Create {
            if let Some(&(id, owner)) = keys.iter().find_map(|k| stored.get(k)) {
                outcomes[i] = match on_duplicate {
                    OnDuplicate::Update => {
                        update_existing(cx, tx, id, owner, &p.row, mapped).await?
                    }
                    _ => Outcome::Skipped,
                };
                continue;
            }
            if let Some(&at) = keys.iter().find_map(|k| local.get(k)) {
                if on_duplicate == OnDuplicate::Update {
                    // A later row of the file about the same customer: its values win.
                    create[at] = i;
                    outcomes[i] = Outcome::Updated;
                } else {
                    outcomes[i] = Outcome::Skipped;
                }
                continue;
            }
        }
        for k in keys {
            local.entry(k).or_insert(create.len());
        }
        create.push(i);
    }
    let new: Vec<NewWithContacts<'_>> = create
        .iter()
        .map(|&i| {
            let row = &rows[i].row;
            NewWithContacts {
                draft: &row.draft,
                owner: row.draft.owner_id.unwrap_or(cx.default_owner),
                contacts: row.contact.as_slice(),
            }
        })
        .collect();
    insert_new(tx, cx.today, &cx.actor, &new).await?;
    Ok(outcomes)
}

/// A customer to create with its contacts (the first its primary).
pub(crate) struct NewWithContacts<'a> {
    pub draft: &'a CustomerDraft,
    pub owner: i64,
    pub contacts: &'a [ContactDraft],
}

/// Creates `new` in `tx` (codes of `today`), with their contacts, all audited, and puts them
/// in the header search's index from what was just written (no read-back): an import's and
/// the demo's batches. Answers the new customers' ids, in order.
pub(crate) async fn insert_new(
    tx: &mut Tx,
    today: NaiveDate,
    actor: &Actor,
    new: &[NewWithContacts<'_>],
) -> StoreResult<Vec<i64>> {
    let customers: Vec<NewCustomer<'_>> = new
        .iter()
        .map(|n| NewCustomer {
            draft: n.draft,
            owner: n.owner,
        })
        .collect();
    let created = store::insert_customers(tx, today, &customers, actor).await?;
    // The k-th contacts of every customer in one round: one contact per customer in each
    // statement, so the ids it returns are told apart by their customer.
    let rounds = new.iter().map(|n| n.contacts.len()).max().unwrap_or(0);
    let mut contacts: Vec<(ContactFields<'_>, i64)> = Vec::new();
    for k in 0..rounds {
        // The round's contacts, and beside each the customer it belongs to.
        let (round, whose): (Vec<(i64, &ContactDraft)>, Vec<&NewWithContacts<'_>>) = created
            .iter()
            .zip(new)
            .filter_map(|((id, _), n)| n.contacts.get(k).map(|c| ((*id, c), n)))
            .unzip();
        let ids = insert_contacts(tx, &round, k == 0, actor).await?;
        for ((customer, d), n) in round.iter().zip(whose) {
            let Some(id) = ids.get(customer) else {
                continue;
            };
            let f = ContactFields {
                id: *id,
                name: &d.name,
                customer_name: &n.draft.name,
                phone: d.phone.as_ref().map(|p| p.as_str()),
                mobile: d.mobile.as_ref().map(|p| p.as_str()),
                email: d.email.as_deref(),
            };
            contacts.push((f, n.owner));
        }
    }
    let mut docs: Vec<Doc<'_>> = Vec::with_capacity(created.len() + contacts.len());
    for ((id, code), n) in created.iter().zip(new) {
        let phone = n.draft.phone.as_ref().map(|p| p.as_str());
        docs.push(indexing::customer_parts_doc(
            *id,
            n.owner,
            &n.draft.name,
            code,
            phone,
        ));
    }
    docs.extend(contacts.iter().map(|(f, o)| indexing::contact_doc(f, *o)));
    indexing::put_docs(tx, &docs).await?;
    Ok(created.into_iter().map(|(id, _)| id).collect())
}

/// `update` on a duplicate: the stored customer takes the row's values of the fields the file
/// has (`mapped`; all when `None`), and the row's contact becomes its primary contact (the
/// same one, by mobile, e-mail or name, updated; else added) — if the importer may change it.
async fn update_existing(
    cx: &Context,
    tx: &mut Tx,
    id: i64,
    owner: i64,
    row: &CustomerRow,
    mapped: Option<&HashSet<String>>,
) -> StoreResult<Outcome> {
    if cx.scope.owner().is_some_and(|me| me != owner) {
        return Ok(Outcome::Rejected(vec![FieldError::new(
            "name",
            "err-import-duplicate-other-owner",
        )]));
    }
    match store::update_tx(tx, cx.scope, id, &row.draft, None, mapped, &cx.actor).await {
        Ok(_) => {}
        Err(StoreError::Domain(DomainError::Invalid(f))) => return Ok(Outcome::Rejected(f)),
        Err(e) => return Err(e),
    }
    if let Some(contact) = &row.contact {
        // The contact's columns in a customer file, as the contact's own fields.
        let only: Option<HashSet<String>> = mapped.map(|m| {
            [
                ("contact_name", "name"),
                ("mobile", "mobile"),
                ("email", "email"),
            ]
            .into_iter()
            .filter(|(column, _)| m.contains(*column))
            .map(|(_, field)| field.to_owned())
            .collect()
        });
        let mut known = store::contacts_of_many(tx, &[id]).await?;
        put_contact(
            cx,
            tx,
            id,
            &mut known,
            contact,
            OnDuplicate::Update,
            only.as_ref(),
        )
        .await?;
    }
    Ok(Outcome::Updated)
}

/// Contacts of customers just created, at most one per customer (each `primary` or not),
/// audited; answers the new contacts' ids by customer.
async fn insert_contacts(
    tx: &mut Tx,
    contacts: &[(i64, &ContactDraft)],
    primary: bool,
    actor: &Actor,
) -> StoreResult<HashMap<i64, i64>> {
    let now = Utc::now();
    let mut inserted = HashMap::with_capacity(contacts.len());
    for chunk in contacts.chunks(1000) {
        let mut q = Query::insert().into_table(Contacts::Table).to_owned();
        let mut first = true;
        for (customer, draft) in chunk {
            let mut values = store::contact_values(draft);
            values.extend([
                (Contacts::CustomerId, Expr::val(*customer)),
                (Contacts::IsPrimary, Expr::val(primary)),
                (Contacts::CreatedAt, Expr::val(now)),
                (Contacts::CreatedBy, actor.user_id.into()),
                (Contacts::UpdatedAt, Expr::val(now)),
                (Contacts::UpdatedBy, actor.user_id.into()),
            ]);
            let (cols, vals): (Vec<Contacts>, Vec<_>) = values.into_iter().unzip();
            if first {
                q.columns(cols);
                first = false;
            }
            q.values_panic(vals);
        }
        q.returning(Query::returning().columns([Contacts::Id, Contacts::CustomerId]));
        let ids: Vec<(i64, i64)> = tx.fetch_all(&q).await?;
        let by_customer: HashMap<i64, i64> = ids.into_iter().map(|(id, c)| (c, id)).collect();
        let audited: Vec<(i64, serde_json::Value)> = chunk
            .iter()
            .filter_map(|(customer, d)| {
                by_customer.get(customer).map(|id| {
                    let snap = serde_json::json!({
                        "customer_id": customer, "name": d.name,
                        "gender": d.gender.map(|g| g.code()), "position": d.position,
                        "phone": d.phone.as_ref().map(|p| p.as_str()),
                        "mobile": d.mobile.as_ref().map(|p| p.as_str()),
                        "email": d.email, "memo": d.memo, "is_primary": primary,
                    });
                    (*id, snap)
                })
            })
            .collect();
        kehu_store::audit::record_created(tx, actor, "contact", &audited).await?;
        inserted.extend(by_customer);
    }
    Ok(inserted)
}

/// Puts `draft` among customer `customer`'s contacts (`known`, kept as they are stored): one
/// that is the same (mobile, e-mail or name) is a duplicate — `skip` leaves it, `update` gives
/// it the draft's values — else the draft is added, the primary when it asks to be or the
/// customer has none. Audited and in the header search like a contact entered by hand.
async fn put_contact(
    cx: &Context,
    tx: &mut Tx,
    customer: i64,
    known: &mut Vec<Contact>,
    draft: &ContactDraft,
    on_duplicate: OnDuplicate,
    only: Option<&HashSet<String>>,
) -> StoreResult<Outcome> {
    let dup = known.iter().position(|c| same_contact(draft, c));
    if let (Some(_), OnDuplicate::Skip) = (dup, on_duplicate) {
        return Ok(Outcome::Skipped);
    }
    // The contact written is `update`'s duplicate, else a new one (`create` too).
    let target = dup.filter(|_| on_duplicate == OnDuplicate::Update);
    // The primary stays primary; a row asking to be primary, or the first contact, takes over.
    let current = known.iter().position(|c| c.is_primary);
    let primary = draft.is_primary || target.map_or(current.is_none(), |at| known[at].is_primary);
    let demote = current.filter(|&at| primary && Some(at) != target);
    if let Some(at) = demote {
        store::set_primary(tx, &known[at], false, &cx.actor).await?;
    }
    let mut values = store::contact_values(draft);
    let outcome = match target {
        Some(at) => {
            // Only the fields the file has: one without a column keeps its stored value.
            values.retain(|(col, _)| only.is_none_or(|o| o.contains(col.unquoted())));
            values.push((Contacts::IsPrimary, Expr::val(primary)));
            let before = &known[at];
            let after = write::update(tx, before, before.version, values, &cx.actor, async |_| {
                Ok(())
            })
            .await?;
            known[at] = indexing::contact(tx, after).await?;
            Outcome::Updated
        }
        None => {
            values.extend([
                (Contacts::CustomerId, Expr::val(customer)),
                (Contacts::IsPrimary, Expr::val(primary)),
            ]);
            let created =
                write::create::<Contact>(tx, values, &cx.actor, async |_, _| Ok(())).await?;
            known.push(indexing::contact(tx, created).await?);
            Outcome::Imported
        }
    };
    // The customer's contacts are kept here as they are stored, read again only when the
    // primary moved (reading them after every contact made a file of one customer's contacts
    // quadratic).
    if demote.is_some() {
        *known = store::contacts_of_many(tx, &[customer]).await?;
    }
    Ok(outcome)
}

/// Whom a contact row belongs to: a customer's code or name as written in the file.
#[derive(Debug)]
pub struct ContactRow {
    customer: String,
    draft: ContactDraft,
}

/// The contact import: [`ImportRows`] for the runner (and the vCard import).
pub struct ContactImport {
    cx: Context,
    fields: Vec<FieldSpec>,
    mapped: OnceLock<HashSet<String>>,
}

impl ContactImport {
    pub fn new(cx: Context) -> Self {
        Self {
            cx,
            fields: contact_fields(),
            mapped: OnceLock::new(),
        }
    }
}

fn yes(cell: &str) -> bool {
    matches!(
        fold(cell).as_str(),
        "是" | "y" | "yes" | "true" | "1" | "主联系人" | "√"
    )
}

impl From<Context> for ContactImport {
    fn from(cx: Context) -> Self {
        Self::new(cx)
    }
}

impl ImportRows for ContactImport {
    type Row = ContactRow;

    fn tables(&self) -> &'static [&'static str] {
        &["contacts", "search_docs"]
    }

    fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    fn parse(&self, map: &HeaderMap, cells: &[String]) -> Result<ContactRow, Vec<FieldError>> {
        self.mapped.get_or_init(|| mapped_fields(&self.fields, map));
        let get = |field: &str| map.value(cells, field).unwrap_or_default();
        let mut errors = Vec::new();
        let customer = normalize(get("customer"));
        if customer.is_empty() {
            errors.push(FieldError::new("customer", "err-required"));
        }
        let input = ContactInput {
            name: get("name").into(),
            gender: coded(get("gender"), GENDERS),
            position: get("position").into(),
            phone: get("phone").into(),
            mobile: get("mobile").into(),
            email: get("email").into(),
            memo: get("memo").into(),
            is_primary: yes(get("is_primary")),
        };
        let draft = ContactDraft::parse(&input)
            .map_err(|e| errors.extend(invalid(e)))
            .ok();
        match draft {
            Some(draft) if errors.is_empty() => Ok(ContactRow { customer, draft }),
            _ => Err(errors),
        }
    }

    async fn commit(
        &self,
        tx: &mut Tx,
        rows: &[Pending<ContactRow>],
        on_duplicate: OnDuplicate,
    ) -> Result<Vec<Outcome>, StoreError> {
        commit_contacts(&self.cx, tx, rows, on_duplicate, self.mapped.get()).await
    }
}

fn same_contact(a: &ContactDraft, b: &Contact) -> bool {
    let mobile = a.mobile.as_ref().map(|p| p.as_str());
    let email = a.email.as_deref().map(str::to_lowercase);
    (mobile.is_some() && mobile == b.mobile.as_deref())
        || (email.is_some() && email == b.email.as_deref().map(str::to_lowercase))
        || a.name == b.name
}

async fn commit_contacts(
    cx: &Context,
    tx: &mut Tx,
    rows: &[Pending<ContactRow>],
    on_duplicate: OnDuplicate,
    only: Option<&HashSet<String>>,
) -> Result<Vec<Outcome>, StoreError> {
    let refs: Vec<String> = rows.iter().map(|p| p.row.customer.clone()).collect();
    let codes: Vec<String> = refs.iter().map(|r| r.to_ascii_uppercase()).collect();
    let customers = store::customers_by_code_or_name(tx, cx.scope, &codes, &refs).await?;
    let mut by_code = HashMap::new();
    let mut by_name: HashMap<&str, Vec<i64>> = HashMap::new();
    for c in &customers {
        by_code.insert(c.code.as_str(), c.id);
        let ids = by_name.entry(c.name.as_str()).or_default();
        if !ids.contains(&c.id) {
            ids.push(c.id);
        }
    }
    let ids: Vec<i64> = customers.iter().map(|c| c.id).collect();
    let mut existing: HashMap<i64, Vec<Contact>> = HashMap::new();
    for c in store::contacts_of_many(tx, &ids).await? {
        existing.entry(c.customer_id).or_default().push(c);
    }
    let mut outcomes = Vec::with_capacity(rows.len());
    for p in rows {
        let r = &p.row;
        let customer = match by_code.get(r.customer.to_ascii_uppercase().as_str()) {
            Some(id) => *id,
            None => match by_name.get(r.customer.as_str()).map(Vec::as_slice) {
                Some([id]) => *id,
                Some(_) => {
                    outcomes.push(Outcome::Rejected(vec![FieldError::new(
                        "customer",
                        "err-import-customer-ambiguous",
                    )]));
                    continue;
                }
                None => {
                    outcomes.push(Outcome::Rejected(vec![FieldError::new(
                        "customer",
                        "err-import-customer-unknown",
                    )]));
                    continue;
                }
            },
        };
        let known = existing.entry(customer).or_default();
        let outcome = put_contact(cx, tx, customer, known, &r.draft, on_duplicate, only).await?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// What to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customers,
    Contacts,
}

/// Imports a customer or contact file to the end with the kit's runner.
pub async fn import_file(
    store: &CustomerStore,
    kind: Kind,
    cx: Context,
    path: &Path,
    options: &ImportOptions,
    progress: impl FnMut(&kehu_web::import::Progress),
) -> Result<kehu_web::import::Summary, ImportError> {
    let db = store.db().clone();
    match kind {
        Kind::Customers => {
            let importer = Arc::new(CustomerImport::new(cx));
            kehu_web::import::run(&db, importer, path, options, progress).await
        }
        Kind::Contacts => {
            let importer = Arc::new(ContactImport::new(cx));
            kehu_web::import::run(&db, importer, path, options, progress).await
        }
    }
}

/// Counts of a vCard import.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct VcardSummary {
    pub imported: u64,
    pub updated: u64,
    pub skipped: u64,
    pub rejected: u64,
}

/// Imports the contacts of a `.vcf` file to customer `customer` (a code or name; each card's
/// ORG when `None`), in one transaction.
pub async fn import_vcards(
    store: &CustomerStore,
    cx: Context,
    file: &VcardFile,
    customer: Option<&str>,
    on_duplicate: OnDuplicate,
) -> StoreResult<VcardSummary> {
    let mut summary = VcardSummary {
        rejected: file.rejected.len() as u64,
        ..VcardSummary::default()
    };
    let mut rows = Vec::new();
    for (i, card) in file.contacts.iter().enumerate() {
        let number = |kind: PhoneKind| {
            card.phones
                .iter()
                .find(|p| p.kind == kind)
                .map(|p| p.number.clone())
                .unwrap_or_default()
        };
        let mobile = number(PhoneKind::Cell);
        let input = ContactInput {
            name: card.full_name.clone(),
            position: card.title.clone().unwrap_or_default(),
            phone: number(PhoneKind::Work),
            mobile,
            email: card.emails.first().cloned().unwrap_or_default(),
            memo: card.note.clone().unwrap_or_default(),
            ..ContactInput::default()
        };
        let owner = customer.map(str::to_owned).or_else(|| card.org.clone());
        match (ContactDraft::parse(&input), owner) {
            (Ok(draft), Some(customer)) => rows.push(Pending {
                line: i as u64 + 1,
                cells: Vec::new(),
                row: ContactRow {
                    customer: normalize(&customer),
                    draft,
                },
            }),
            _ => summary.rejected += 1,
        }
    }
    let outcomes = store
        .db()
        // A card is a whole contact: all its fields.
        .write(async |tx| commit_contacts(&cx, tx, &rows, on_duplicate, None).await)
        .await?;
    for o in outcomes {
        match o {
            Outcome::Imported => summary.imported += 1,
            Outcome::Updated => summary.updated += 1,
            Outcome::Skipped => summary.skipped += 1,
            Outcome::Rejected(_) => summary.rejected += 1,
        }
    }
    Ok(summary)
}
