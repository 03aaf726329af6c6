//! The customer store: customers (客户) and their contacts (联系人), owned by their account
//! manager. Every statement on the customers table comes from the one scoped builder
//! [`customers`] with the caller's [`OwnerFilter`]; contacts are reached only through their
//! customer (joined on that builder's select), so a manager's scope covers both and anything
//! outside it is `NotFound`. Writes go through the write kit (version checked, audited);
//! deleting moves a customer to the trash (`deleted_at`), from which it is restored or, by an
//! administrator, deleted for good.

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use kehu_domain::DomainError;
use kehu_domain::policy::OwnerFilter;
use kehu_store::audit::Actor;
use kehu_store::db::{Backend, Db, Tx};
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use kehu_store::schema::Users;
use kehu_store::scope::{Owned, Scoped};
use kehu_store::statement::unindexed;
use kehu_store::write::{self, Record, Table};
use kehu_store::{LastChange, StoreResult};
use sea_query::{Alias, Expr, ExprTrait, Iden, Order, Query, SelectStatement, SimpleExpr};
use serde::Serialize;

use crate::domain::{ContactDraft, CustomerDraft, DictValues, Status};
use crate::schema::{Contacts, Customers};
use crate::{indexing, rows};

/// The one builder of every statement on `customers` except the insert: the owner condition
/// of `scope` is already in it (see `kehu_store::scope`).
fn customers(scope: OwnerFilter) -> Scoped<Customers> {
    Scoped::new(
        Owned {
            table: Customers::Table,
            owner: Customers::OwnerId,
        },
        scope,
    )
}

const CUSTOMER_COLUMNS: &[Customers] = &[
    Customers::Id,
    Customers::Code,
    Customers::Name,
    Customers::OwnerId,
    Customers::Region,
    Customers::Level,
    Customers::Industry,
    Customers::Source,
    Customers::Satisfaction,
    Customers::Credit,
    Customers::Address,
    Customers::Postcode,
    Customers::Phone,
    Customers::Fax,
    Customers::Website,
    Customers::LicenceNo,
    Customers::LegalRep,
    Customers::RegisteredCapital,
    Customers::AnnualTurnover,
    Customers::Bank,
    Customers::BankAccount,
    Customers::LocalTaxNo,
    Customers::NationalTaxNo,
    Customers::Size,
    Customers::Gender,
    Customers::Birthday,
    Customers::IncomeBand,
    Customers::Tags,
    Customers::Memo,
    Customers::Status,
    Customers::LastOrderAt,
    Customers::DeletedAt,
    Customers::CreatedAt,
    Customers::UpdatedAt,
    Customers::Version,
];

/// Customers in `scope` (in the trash or not) with their manager's name.
fn select_any(scope: OwnerFilter) -> SelectStatement {
    let mut q = customers(scope).select();
    for c in CUSTOMER_COLUMNS {
        q.column((Customers::Table, *c));
    }
    q.expr_as(
        Expr::col((Users::Table, Users::DisplayName)),
        Alias::new("owner_name"),
    )
    .inner_join(
        Users::Table,
        Expr::col((Users::Table, Users::Id)).equals((Customers::Table, Customers::OwnerId)),
    );
    q
}

fn not_deleted() -> Expr {
    Expr::col((Customers::Table, Customers::DeletedAt)).is_null()
}

fn deleted() -> Expr {
    Expr::col((Customers::Table, Customers::DeletedAt)).is_not_null()
}

/// The customers in `scope` that are not in the trash, nothing selected yet: where this
/// crate's stores of records owned through their customer (interactions) start, joining their
/// table on [`customer_id`].
pub(crate) fn live_customers(scope: OwnerFilter) -> SelectStatement {
    customers(scope)
        .select()
        .and_where(not_deleted())
        .to_owned()
}

/// The customer's id and name, as [`live_customers`] selects them.
pub(crate) fn customer_id() -> Expr {
    Expr::col((Customers::Table, Customers::Id))
}

pub(crate) fn customer_name() -> Expr {
    Expr::col((Customers::Table, Customers::Name))
}

/// Customers in `scope` that are not in the trash.
fn select_live(scope: OwnerFilter) -> SelectStatement {
    select_any(scope).and_where(not_deleted()).to_owned()
}

fn by_id(mut q: SelectStatement, id: i64) -> SelectStatement {
    q.and_where(Expr::col((Customers::Table, Customers::Id)).eq(id));
    q
}

/// A customer (客户) as the store reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Customer {
    pub id: i64,
    /// 客户编号, `KH20261123000042`.
    pub code: String,
    pub name: String,
    /// The account manager (客户经理).
    pub owner_id: i64,
    pub owner_name: String,
    /// Dictionary values (`region` 440000, `customer_level` key_account …).
    pub region: Option<String>,
    pub level: Option<String>,
    pub industry: Option<String>,
    pub source: Option<String>,
    pub satisfaction: Option<i16>,
    pub credit: Option<i16>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub fax: Option<String>,
    pub website: Option<String>,
    pub licence_no: Option<String>,
    pub legal_rep: Option<String>,
    /// Fen.
    pub registered_capital: Option<i64>,
    pub annual_turnover: Option<i64>,
    pub bank: Option<String>,
    pub bank_account: Option<String>,
    pub local_tax_no: Option<String>,
    pub national_tax_no: Option<String>,
    pub size: Option<String>,
    pub gender: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub income_band: Option<String>,
    /// Comma-joined; see [`Customer::tag_list`].
    pub tags: String,
    pub memo: Option<String>,
    /// `active`, `loss_warned` or `lost` ([`Status`]).
    pub status: String,
    pub last_order_at: Option<DateTime<Utc>>,
    /// Set while the customer is in the trash.
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl Customer {
    pub fn tag_list(&self) -> Vec<&str> {
        self.tags.split(',').filter(|t| !t.is_empty()).collect()
    }
}

impl Record for Customer {
    type Col = Customers;
    const TABLE: Table<Customers> = Table {
        table: Customers::Table,
        id: Customers::Id,
        version: Customers::Version,
        created_at: Customers::CreatedAt,
        created_by: Customers::CreatedBy,
        updated_at: Customers::UpdatedAt,
        updated_by: Customers::UpdatedBy,
        entity: "customer",
        unique: "code",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_any(OwnerFilter::system()), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    /// Every field people change; not the bookkeeping the audit entry has anyway.
    fn snapshot(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            for k in ["id", "owner_name", "created_at", "updated_at", "version"] {
                o.remove(k);
            }
        }
        v
    }
}

/// The stored columns of a parsed customer (not the owner: see [`CustomerStore::owner_for`]).
fn draft_values(d: &CustomerDraft) -> Vec<(Customers, SimpleExpr)> {
    let s = |v: &Option<String>| Expr::val(v.clone());
    vec![
        (Customers::Name, Expr::val(d.name.as_str())),
        (Customers::Region, s(&d.region)),
        (Customers::Level, s(&d.level)),
        (Customers::Industry, s(&d.industry)),
        (Customers::Source, s(&d.source)),
        (Customers::Satisfaction, Expr::val(d.satisfaction)),
        (Customers::Credit, Expr::val(d.credit)),
        (Customers::Address, s(&d.address)),
        (Customers::Postcode, s(&d.postcode)),
        (
            Customers::Phone,
            Expr::val(d.phone.as_ref().map(|p| p.as_str().to_owned())),
        ),
        (
            Customers::Fax,
            Expr::val(d.fax.as_ref().map(|p| p.as_str().to_owned())),
        ),
        (Customers::Website, s(&d.website)),
        (Customers::LicenceNo, s(&d.licence_no)),
        (Customers::LegalRep, s(&d.legal_rep)),
        (
            Customers::RegisteredCapital,
            Expr::val(d.registered_capital),
        ),
        (Customers::AnnualTurnover, Expr::val(d.annual_turnover)),
        (Customers::Bank, s(&d.bank)),
        (Customers::BankAccount, s(&d.bank_account)),
        (Customers::LocalTaxNo, s(&d.local_tax_no)),
        (Customers::NationalTaxNo, s(&d.national_tax_no)),
        (
            Customers::Size,
            Expr::val(d.size.map(|v| v.code().to_owned())),
        ),
        (
            Customers::Gender,
            Expr::val(d.gender.map(|v| v.code().to_owned())),
        ),
        (Customers::Birthday, Expr::val(d.birthday)),
        (Customers::IncomeBand, s(&d.income_band)),
        (
            Customers::Tags,
            Expr::val(d.tags.iter().cloned().collect::<Vec<_>>().join(",")),
        ),
        (Customers::Memo, s(&d.memo)),
    ]
}

/// The longest name or code prefix a list filter uses; the rest is ignored.
pub const MAX_SEARCH: usize = 64;

/// Filters of the customer list, composed in [`CustomerFilter::apply`]; each is a range on an
/// index (see the migration).
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// The beginning of the name, or of the code (`KH2026…`).
    pub q: Option<String>,
    pub region: Option<String>,
    pub level: Option<String>,
    pub industry: Option<String>,
    pub owner_id: Option<i64>,
    pub status: Option<Status>,
    pub tag: Option<String>,
    /// What the customer-value analysis found: a segment (`champions` …), a value class
    /// (`high` …) — see [`crate::values`].
    pub segment: Option<String>,
    pub value_class: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
}

/// `col` starts with `prefix`: a range on the column's index on both databases (a `LIKE`
/// prefix uses an index on neither without special collations). The upper bound is the prefix
/// followed by the greatest code point.
fn starts_with(col: Customers, prefix: &str) -> Expr {
    let col = Expr::col((Customers::Table, col));
    col.clone()
        .gte(prefix)
        .and(col.lt(format!("{prefix}\u{10FFFF}")))
}

impl CustomerFilter {
    fn apply(&self, q: &mut SelectStatement) {
        self.apply_keyed(q, false);
    }

    /// Whether the list sorted by `sort` under this filter has an index that begins with a
    /// filtered column and goes on with the sort's (see `migrations.rs`); without one it is
    /// read with [`page::fetch_dense`].
    fn indexed_for(&self, sort: CustomerSort) -> bool {
        // The status has no index by name (migration 1004): it moves in bulk.
        let by_name = self.region.is_some()
            || self.level.is_some()
            || self.industry.is_some()
            || self.owner_id.is_some();
        let equalities = by_name || self.status.is_some();
        match sort {
            CustomerSort::Name => by_name || !equalities,
            CustomerSort::Created => true,
            _ => !equalities,
        }
    }

    /// [`Self::apply`]; with `unindexed`, the equality filters are written `+column = value`,
    /// which SQLite cannot answer from an index, so it walks the sort's index instead.
    fn apply_keyed(&self, q: &mut SelectStatement, unindexed: bool) {
        let column = |col: Customers| {
            let c = Expr::col((Customers::Table, col));
            if unindexed {
                // SQLite's placeholder (`$1` is PostgreSQL's: SQLite read it as a parameter
                // of its own and compared the wrong values).
                Expr::cust_with_expr("+?", c)
            } else {
                c
            }
        };
        let eq = |q: &mut SelectStatement, col: Customers, v: &Option<String>| {
            if let Some(v) = v {
                q.and_where(column(col).eq(v.as_str()));
            }
        };
        if let Some(text) = self.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let text: String = text.chars().take(MAX_SEARCH).collect();
            let code = text.to_ascii_uppercase();
            q.and_where(
                starts_with(Customers::Name, &text).or(starts_with(Customers::Code, &code)),
            );
        }
        eq(q, Customers::Region, &self.region);
        eq(q, Customers::Level, &self.level);
        eq(q, Customers::Industry, &self.industry);
        eq(
            q,
            Customers::Status,
            &self.status.map(|s| s.code().to_owned()),
        );
        if let Some(o) = self.owner_id {
            q.and_where(column(Customers::OwnerId).eq(o));
        }
        if let Some(tag) = &self.tag {
            // Per row of the sort's index, one probe of the tag table's key: measured at a
            // million customers, `id IN (tagged)` sorted every tagged customer instead.
            let id = Expr::col((Customers::Table, Customers::Id));
            q.and_where(Expr::exists(rows::tagged(tag, id)));
        }
        let id = Expr::col((Customers::Table, Customers::Id));
        if let Some(found) =
            crate::values::matching(self.segment.as_deref(), self.value_class.as_deref(), id)
        {
            q.and_where(Expr::exists(found));
        }
        let created = Expr::col((Customers::Table, Customers::CreatedAt));
        if let Some(from) = self.created_from {
            q.and_where(created.clone().gte(from));
        }
        if let Some(to) = self.created_to {
            q.and_where(created.lt(to));
        }
    }
}

/// The customer list's sorts, each with an index on `(column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSort {
    Name,
    Code,
    Created,
    Updated,
    /// Never ordered sorts as the oldest.
    LastOrder,
}

impl SortKey for CustomerSort {
    const ALL: &'static [Self] = &[
        CustomerSort::Name,
        CustomerSort::Code,
        CustomerSort::Created,
        CustomerSort::Updated,
        CustomerSort::LastOrder,
    ];
    const DEFAULT: Sort<Self> = Sort {
        key: CustomerSort::Created,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        match self {
            CustomerSort::Name => "name",
            CustomerSort::Code => "code",
            CustomerSort::Created => "created_at",
            CustomerSort::Updated => "updated_at",
            CustomerSort::LastOrder => "last_order_at",
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            CustomerSort::Name | CustomerSort::Code => KeyKind::Text,
            _ => KeyKind::Time,
        }
    }

    fn column(self) -> Expr {
        let col = match self {
            CustomerSort::Name => Customers::Name,
            CustomerSort::Code => Customers::Code,
            CustomerSort::Created => Customers::CreatedAt,
            CustomerSort::Updated => Customers::UpdatedAt,
            CustomerSort::LastOrder => Customers::LastOrderAt,
        };
        Expr::col((Customers::Table, col))
    }

    fn nullable(self) -> bool {
        self == CustomerSort::LastOrder
    }

    fn first_dir(self) -> Dir {
        match self {
            CustomerSort::Name | CustomerSort::Code => Dir::Asc,
            _ => Dir::Desc,
        }
    }
}

impl Keyed<CustomerSort> for Customer {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: CustomerSort) -> KeyValue {
        match key {
            CustomerSort::Name => KeyValue::Text(self.name.clone()),
            CustomerSort::Code => KeyValue::Text(self.code.clone()),
            CustomerSort::Created => KeyValue::Time(self.created_at),
            CustomerSort::Updated => KeyValue::Time(self.updated_at),
            CustomerSort::LastOrder => self.last_order_at.into(),
        }
    }
}

/// A contact (联系人) with its customer's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Contact {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub name: String,
    pub gender: Option<String>,
    pub position: Option<String>,
    /// Office phone, E.164.
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub memo: Option<String>,
    /// The customer's one primary contact (主联系人).
    pub is_primary: bool,
    /// The customer's account manager (the contact's owner for the data scope).
    pub owner_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// Contacts of the customers in `scope` that are not in the trash.
fn select_contacts(scope: OwnerFilter) -> SelectStatement {
    let mut q = customers(scope).select();
    for c in [
        Contacts::Id,
        Contacts::CustomerId,
        Contacts::Name,
        Contacts::Gender,
        Contacts::Position,
        Contacts::Phone,
        Contacts::Mobile,
        Contacts::Email,
        Contacts::Memo,
        Contacts::IsPrimary,
        Contacts::CreatedAt,
        Contacts::UpdatedAt,
        Contacts::Version,
    ] {
        q.column((Contacts::Table, c));
    }
    q.expr_as(
        Expr::col((Customers::Table, Customers::Name)),
        Alias::new("customer_name"),
    )
    .column((Customers::Table, Customers::OwnerId))
    .inner_join(
        Contacts::Table,
        Expr::col((Contacts::Table, Contacts::CustomerId))
            .equals((Customers::Table, Customers::Id)),
    )
    .and_where(not_deleted());
    q
}

pub(crate) fn contact_by_id(scope: OwnerFilter, id: i64) -> SelectStatement {
    select_contacts(scope)
        .and_where(Expr::col((Contacts::Table, Contacts::Id)).eq(id))
        .to_owned()
}

impl Record for Contact {
    type Col = Contacts;
    const TABLE: Table<Contacts> = Table {
        table: Contacts::Table,
        id: Contacts::Id,
        version: Contacts::Version,
        created_at: Contacts::CreatedAt,
        created_by: Contacts::CreatedBy,
        updated_at: Contacts::UpdatedAt,
        updated_by: Contacts::UpdatedBy,
        entity: "contact",
        // The one unique index: a second primary contact written at the same moment.
        unique: "is_primary",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_contacts(OwnerFilter::system()), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "customer_id": self.customer_id, "name": self.name, "gender": self.gender,
            "position": self.position, "phone": self.phone, "mobile": self.mobile,
            "email": self.email, "memo": self.memo, "is_primary": self.is_primary,
        })
    }
}

pub(crate) fn contact_values(d: &ContactDraft) -> Vec<(Contacts, SimpleExpr)> {
    let phone =
        |p: &Option<crate::domain::Phone>| Expr::val(p.as_ref().map(|p| p.as_str().to_owned()));
    vec![
        (Contacts::Name, Expr::val(d.name.as_str())),
        (
            Contacts::Gender,
            Expr::val(d.gender.map(|g| g.code().to_owned())),
        ),
        (Contacts::Position, Expr::val(d.position.clone())),
        (Contacts::Phone, phone(&d.phone)),
        (Contacts::Mobile, phone(&d.mobile)),
        (Contacts::Email, Expr::val(d.email.clone())),
        (Contacts::Memo, Expr::val(d.memo.clone())),
    ]
}

/// Filters of the contact list.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub customer_id: Option<i64>,
    /// The beginning of the contact's name.
    pub q: Option<String>,
}

impl ContactFilter {
    fn apply(&self, q: &mut SelectStatement) {
        if let Some(c) = self.customer_id {
            q.and_where(Expr::col((Contacts::Table, Contacts::CustomerId)).eq(c));
        }
        if let Some(text) = self.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let text: String = text.chars().take(MAX_SEARCH).collect();
            let col = Expr::col((Contacts::Table, Contacts::Name));
            q.and_where(
                col.clone()
                    .gte(text.as_str())
                    .and(col.lt(format!("{text}\u{10FFFF}"))),
            );
        }
    }
}

/// The contact list's sorts, each with an index on `(column, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactSort {
    Name,
    Created,
}

impl SortKey for ContactSort {
    const ALL: &'static [Self] = &[ContactSort::Name, ContactSort::Created];
    const DEFAULT: Sort<Self> = Sort {
        key: ContactSort::Name,
        dir: Dir::Asc,
    };

    fn code(self) -> &'static str {
        match self {
            ContactSort::Name => "name",
            ContactSort::Created => "created_at",
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            ContactSort::Name => KeyKind::Text,
            ContactSort::Created => KeyKind::Time,
        }
    }

    fn column(self) -> Expr {
        let col = match self {
            ContactSort::Name => Contacts::Name,
            ContactSort::Created => Contacts::CreatedAt,
        };
        Expr::col((Contacts::Table, col))
    }

    fn first_dir(self) -> Dir {
        match self {
            ContactSort::Name => Dir::Asc,
            ContactSort::Created => Dir::Desc,
        }
    }
}

impl Keyed<ContactSort> for Contact {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: ContactSort) -> KeyValue {
        match key {
            ContactSort::Name => KeyValue::Text(self.name.clone()),
            ContactSort::Created => KeyValue::Time(self.created_at),
        }
    }
}

/// The most customers one transfer moves.
pub const TRANSFER_MAX: usize = 1000;

#[derive(Clone, Debug)]
pub struct CustomerStore {
    db: Db,
    /// The offset of the time zone whose day a new customer code carries.
    utc_offset: FixedOffset,
}

impl CustomerStore {
    pub fn new(db: Db, utc_offset: FixedOffset) -> Self {
        Self { db, utc_offset }
    }

    /// The configured time zone's offset from UTC.
    pub fn utc_offset(&self) -> FixedOffset {
        self.utc_offset
    }

    /// The dictionary values a customer's coded fields are checked against.
    pub async fn dictionary(&self) -> StoreResult<DictValues> {
        rows::dict_values(&self.db).await
    }

    /// One page of the customers in `scope` (not in the trash) and their capped count.
    pub async fn list(
        &self,
        scope: OwnerFilter,
        f: &CustomerFilter,
        req: impl Into<ListRequest<CustomerSort>>,
    ) -> StoreResult<Listing<Customer>> {
        self.page(scope, f, req.into(), not_deleted()).await
    }

    /// One page of the customers in `scope` in the trash (most recently deleted first unless
    /// `req` sorts otherwise: trashing a customer updates it).
    pub async fn trash(
        &self,
        scope: OwnerFilter,
        f: &CustomerFilter,
        req: impl Into<ListRequest<CustomerSort>>,
    ) -> StoreResult<Listing<Customer>> {
        self.page(scope, f, req.into(), deleted()).await
    }

    async fn page(
        &self,
        scope: OwnerFilter,
        f: &CustomerFilter,
        req: ListRequest<CustomerSort>,
        which: Expr,
    ) -> StoreResult<Listing<Customer>> {
        let select = |unindexed| {
            let mut q = select_any(scope).and_where(which.clone()).to_owned();
            f.apply_keyed(&mut q, unindexed);
            q
        };
        let mut count = customers(scope)
            .select()
            .expr(Expr::cust("1"))
            .and_where(which.clone())
            .to_owned();
        f.apply(&mut count);
        let id = Expr::col((Customers::Table, Customers::Id));
        // PostgreSQL's planner weighs the sort's index against the filter's itself.
        if f.indexed_for(req.sort.key) || self.db.backend() == Backend::Postgres {
            page::fetch(&self.db, &select(false), count, id, &req).await
        } else {
            page::fetch_dense(&self.db, select, count, id, &req).await
        }
    }

    /// Customer `id` if it is in `scope` and not in the trash; otherwise `NotFound`.
    pub async fn get(&self, scope: OwnerFilter, id: i64) -> StoreResult<Customer> {
        self.db.fetch_found(&by_id(select_live(scope), id)).await
    }

    /// How many customers there are, the trash included (`kehu demo` continues from there).
    pub async fn count_all(&self) -> StoreResult<u64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                customers(OwnerFilter::system())
                    .select()
                    .expr(Expr::col((Customers::Table, Customers::Id)).count()),
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Who saved customer `id` last, and when (the edit form shows it after a conflict).
    pub async fn last_change(&self, id: i64) -> StoreResult<LastChange> {
        write::last_change::<Customer>(&self.db, id).await
    }

    /// The manager a customer gets: a user whose scope is their own records manages only
    /// their own customers (another owner is a field error); otherwise the one asked for, or
    /// the user entering it.
    pub(crate) fn owner_for(
        scope: OwnerFilter,
        asked: Option<i64>,
        actor: &Actor,
    ) -> StoreResult<i64> {
        match (scope.owner(), asked) {
            (Some(me), Some(o)) if o != me => {
                Err(DomainError::field("owner_id", "err-owner-scope").into())
            }
            (Some(me), _) => Ok(me),
            (None, Some(o)) => Ok(o),
            (None, None) => actor
                .user_id
                .ok_or_else(|| DomainError::field("owner_id", "err-required").into()),
        }
    }

    /// Creates a customer with the next code of today, status `active`.
    pub async fn create(
        &self,
        scope: OwnerFilter,
        d: &CustomerDraft,
        actor: &Actor,
    ) -> StoreResult<Customer> {
        let owner = Self::owner_for(scope, d.owner_id, actor)?;
        let today = self.today();
        self.db
            .write(async |tx| create_in(tx, owner, d, actor, today).await)
            .await
    }

    /// Changes customer `id` (in `scope`, not in the trash) if it still has `version`.
    pub async fn update(
        &self,
        scope: OwnerFilter,
        id: i64,
        d: &CustomerDraft,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Customer> {
        self.db
            .write(async |tx| update_tx(tx, scope, id, d, Some(version), None, actor).await)
            .await
    }

    /// Moves customer `id` to the trash (its contacts go with it).
    pub async fn delete(
        &self,
        scope: OwnerFilter,
        id: i64,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Customer> {
        self.set_deleted(select_live(scope), id, version, Some(Utc::now()), actor)
            .await
    }

    /// Takes customer `id` out of the trash.
    pub async fn restore(
        &self,
        scope: OwnerFilter,
        id: i64,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Customer> {
        let trashed = select_any(scope).and_where(deleted()).to_owned();
        self.set_deleted(trashed, id, version, None, actor).await
    }

    async fn set_deleted(
        &self,
        from: SelectStatement,
        id: i64,
        version: i32,
        at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> StoreResult<Customer> {
        self.db
            .write(async |tx| {
                let before: Customer = tx.fetch_found(&by_id(from, id)).await?;
                let values = vec![(Customers::DeletedAt, Expr::val(at))];
                let c =
                    write::update(tx, &before, version, values, actor, async |_| Ok(())).await?;
                indexing::customer(tx, c).await
            })
            .await
    }

    /// Deletes customer `id` for good, with its contacts and tags (the caller holds
    /// `customer.delete`, an administrator's right); refused while other modules' records
    /// hang off it (`dependents`: its orders …), which would go with it.
    pub async fn purge(
        &self,
        scope: OwnerFilter,
        id: i64,
        version: i32,
        actor: &Actor,
        dependents: &[write::Dependents],
    ) -> StoreResult<()> {
        self.db
            .write(async |tx| {
                let before: Customer = tx.fetch_found(&by_id(select_any(scope), id)).await?;
                write::refuse_with_dependents(tx, dependents, id).await?;
                indexing::customer_gone(tx, id).await?;
                write::delete(tx, &before, version, actor).await
            })
            .await
    }

    /// Gives customers `ids` (in `scope`, not in the trash) to manager `to`, each change in
    /// the audit log. All or nothing: one id outside the scope is `NotFound` and nothing
    /// moves. Returns how many changed hands (those already `to`'s stay as they are).
    pub async fn transfer(
        &self,
        scope: OwnerFilter,
        ids: &[i64],
        to: i64,
        actor: &Actor,
    ) -> StoreResult<usize> {
        if ids.is_empty() || ids.len() > TRANSFER_MAX {
            return Err(DomainError::field("ids", "err-transfer-count").into());
        }
        self.db
            .write(async |tx| {
                rows::check_owner(tx, to).await?;
                let mut moved = 0;
                for &id in ids {
                    let before: Customer = tx.fetch_found(&by_id(select_live(scope), id)).await?;
                    if before.owner_id == to {
                        continue;
                    }
                    let values = vec![(Customers::OwnerId, Expr::val(to))];
                    let c =
                        write::update(tx, &before, before.version, values, actor, async |_| Ok(()))
                            .await?;
                    indexing::customer(tx, c).await?;
                    moved += 1;
                }
                Ok(moved)
            })
            .await
    }

    /// The contacts of customer `customer_id` (in `scope`), the primary first.
    pub async fn contacts_of(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
    ) -> StoreResult<Vec<Contact>> {
        self.get(scope, customer_id).await?;
        self.contacts_of_found(scope, customer_id).await
    }

    /// [`Self::contacts_of`] for a customer the caller has just found in `scope` (the customer
    /// page): the same statement, without reading the customer again.
    pub(crate) async fn contacts_of_found(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
    ) -> StoreResult<Vec<Contact>> {
        let q = select_contacts(scope)
            .and_where(Expr::col((Contacts::Table, Contacts::CustomerId)).eq(customer_id))
            .order_by((Contacts::Table, Contacts::IsPrimary), Order::Desc)
            .order_by((Contacts::Table, Contacts::Id), Order::Asc)
            .limit(500)
            .to_owned();
        Ok(self.db.fetch_all(&q).await?)
    }

    /// One page of the contacts of the customers in `scope`.
    pub async fn contact_list(
        &self,
        scope: OwnerFilter,
        f: &ContactFilter,
        req: impl Into<ListRequest<ContactSort>>,
    ) -> StoreResult<Listing<Contact>> {
        let mut q = select_contacts(scope);
        f.apply(&mut q);
        let mut count = select_contacts(scope);
        f.apply(&mut count);
        let id = Expr::col((Contacts::Table, Contacts::Id));
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// Contact `id` if its customer is in `scope` and not in the trash; otherwise `NotFound`.
    pub async fn contact(&self, scope: OwnerFilter, id: i64) -> StoreResult<Contact> {
        self.db.fetch_found(&contact_by_id(scope, id)).await
    }

    /// Who saved contact `id` last, and when.
    pub async fn contact_last_change(&self, id: i64) -> StoreResult<LastChange> {
        write::last_change::<Contact>(&self.db, id).await
    }

    /// Adds a contact to customer `customer_id`. The first contact is the primary whatever
    /// was asked; a new primary takes over from the old one.
    pub async fn add_contact(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
        d: &ContactDraft,
        actor: &Actor,
    ) -> StoreResult<Contact> {
        self.db
            .write(async |tx| {
                get_in(tx, scope, customer_id).await?;
                add_contact_in(tx, customer_id, d, actor).await
            })
            .await
    }

    /// Changes contact `id` if it still has `version`. Making it primary takes over from the
    /// old primary; the primary cannot stop being one (make another primary instead).
    pub async fn update_contact(
        &self,
        scope: OwnerFilter,
        id: i64,
        d: &ContactDraft,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Contact> {
        self.db
            .write(async |tx| {
                let before: Contact = tx.fetch_found(&contact_by_id(scope, id)).await?;
                if before.is_primary && !d.is_primary {
                    return Err(DomainError::field("is_primary", "err-primary-needed").into());
                }
                if d.is_primary
                    && !before.is_primary
                    && let Some(old) = primary_of(tx, before.customer_id).await?
                {
                    set_primary(tx, &old, false, actor).await?;
                }
                let mut values = contact_values(d);
                values.push((Contacts::IsPrimary, Expr::val(d.is_primary)));
                let c =
                    write::update(tx, &before, version, values, actor, async |_| Ok(())).await?;
                indexing::contact(tx, c).await
            })
            .await
    }

    /// Deletes contact `id` if it still has `version`; when it was the primary, the oldest
    /// remaining contact becomes the primary.
    pub async fn delete_contact(
        &self,
        scope: OwnerFilter,
        id: i64,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<()> {
        self.db
            .write(async |tx| {
                let before: Contact = tx.fetch_found(&contact_by_id(scope, id)).await?;
                write::delete(tx, &before, version, actor).await?;
                indexing::contact_gone(tx, id).await?;
                if before.is_primary {
                    let oldest = select_contacts(OwnerFilter::system())
                        .and_where(
                            Expr::col((Contacts::Table, Contacts::CustomerId))
                                .eq(before.customer_id),
                        )
                        .order_by((Contacts::Table, Contacts::Id), Order::Asc)
                        .limit(1)
                        .to_owned();
                    if let Some(next) = tx.fetch_optional::<Contact>(&oldest).await? {
                        set_primary(tx, &next, true, actor).await?;
                    }
                }
                Ok(())
            })
            .await
    }
}

/// Creates a customer owned by `owner` within `tx` (another module's transaction: an
/// opportunity won): the next code of `today`, status `active`, tags, audit entry and search
/// documents, as [`CustomerStore::create`].
pub async fn create_in(
    tx: &mut Tx,
    owner: i64,
    d: &CustomerDraft,
    actor: &Actor,
    today: NaiveDate,
) -> StoreResult<Customer> {
    rows::check_owner(tx, owner).await?;
    let code = rows::next_code(tx, today).await?;
    let mut values = draft_values(d);
    values.extend([
        (Customers::Code, Expr::val(code)),
        (Customers::OwnerId, Expr::val(owner)),
        (Customers::Status, Expr::val(Status::Active.code())),
    ]);
    let c = write::create::<Customer>(tx, values, actor, async |tx, id| {
        rows::set_tags(tx, id, &d.tags).await
    })
    .await?;
    indexing::customer(tx, c).await
}

/// Customer `id` (not in the trash) if it is in `scope`, read within `tx`.
pub async fn get_in(tx: &mut Tx, scope: OwnerFilter, id: i64) -> StoreResult<Customer> {
    tx.fetch_found(&by_id(select_live(scope), id)).await
}

/// The values of the dictionary's `kinds` now: what another module's coded fields (a
/// service's type and channel) are checked against.
pub async fn dictionary_of(db: &Db, kinds: &[&str]) -> StoreResult<DictValues> {
    rows::dict_values_of(db, kinds).await
}

/// The customer of contact `id` if it is in `scope`, read within `tx` (another module checks
/// that a contact it is given is one of its customer's).
pub async fn contact_of_in(tx: &mut Tx, scope: OwnerFilter, id: i64) -> StoreResult<i64> {
    let c: Contact = tx.fetch_found(&contact_by_id(scope, id)).await?;
    Ok(c.customer_id)
}

/// Adds a contact to customer `customer_id` within `tx`, as [`CustomerStore::add_contact`]
/// (the caller has found the customer in its scope).
pub async fn add_contact_in(
    tx: &mut Tx,
    customer_id: i64,
    d: &ContactDraft,
    actor: &Actor,
) -> StoreResult<Contact> {
    let current = primary_of(tx, customer_id).await?;
    let primary = d.is_primary || current.is_none();
    if let (true, Some(old)) = (primary, &current) {
        set_primary(tx, old, false, actor).await?;
    }
    let mut values = contact_values(d);
    values.extend([
        (Contacts::CustomerId, Expr::val(customer_id)),
        (Contacts::IsPrimary, Expr::val(primary)),
    ]);
    let c = write::create::<Contact>(tx, values, actor, async |tx, id| {
        crate::history::link(tx, customer_id, "contact", id).await
    })
    .await?;
    indexing::contact(tx, c).await
}

/// A live customer that has `name`, or `phone` (E.164) as its phone or a contact's mobile:
/// (id, code, name) of each, whoever manages it. What a new customer from outside an import
/// (an opportunity won) is checked against.
pub async fn same_name_or_phone(
    tx: &mut Tx,
    name: &str,
    phone: Option<&str>,
) -> StoreResult<Vec<(i64, String, String)>> {
    let keys = MatchKeys {
        names: vec![name.to_owned()],
        phones: phone.map(str::to_owned).into_iter().collect(),
        ..MatchKeys::default()
    };
    let mut found: Vec<(i64, String, String)> = find_matches(tx, &keys)
        .await?
        .into_iter()
        .map(|m| (m.id, m.code, m.name))
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// The ids of the customers in `scope` (in the trash or not): what the records of another
/// module that belong to a customer (orders …) are scoped by (`scope::OwnedVia`).
pub fn ids_in_scope(scope: OwnerFilter) -> SelectStatement {
    customers(scope)
        .select()
        .column((Customers::Table, Customers::Id))
        .to_owned()
}

/// What the composition report (客户构成分析) counts customers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    Level,
    Credit,
    Satisfaction,
    Region,
    Industry,
}

impl Breakdown {
    pub const ALL: &'static [Breakdown] = &[
        Breakdown::Level,
        Breakdown::Credit,
        Breakdown::Satisfaction,
        Breakdown::Region,
        Breakdown::Industry,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Breakdown::Level => "level",
            Breakdown::Credit => "credit",
            Breakdown::Satisfaction => "satisfaction",
            Breakdown::Region => "region",
            Breakdown::Industry => "industry",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|b| b.code() == code)
    }

    fn column(self) -> Customers {
        match self {
            Breakdown::Level => Customers::Level,
            Breakdown::Credit => Customers::Credit,
            Breakdown::Satisfaction => Customers::Satisfaction,
            Breakdown::Region => Customers::Region,
            Breakdown::Industry => Customers::Industry,
        }
    }
}

/// How many customers in `scope`, not in the trash, have each value of `by` (as text; `None`:
/// not filled in), most first. Counted over the column's index, all rows, less those in the
/// trash (a few, by the trash's index): the trash test on every row would read the table.
pub async fn composition(
    db: &Db,
    scope: OwnerFilter,
    by: Breakdown,
) -> StoreResult<Vec<(Option<String>, i64)>> {
    let col = by.column();
    let counts = |trash: bool| {
        let mut q = customers(scope)
            .select()
            .expr_as(
                Expr::col((Customers::Table, col)).cast_as("TEXT"),
                Alias::new("k"),
            )
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .group_by_col((Customers::Table, col))
            .to_owned();
        if trash {
            q.and_where(deleted());
        }
        q
    };
    // Counted once between two writes (a million customers' index each time otherwise).
    let all: Vec<(Option<String>, i64)> = page::rows_remembered(db, &counts(false)).await?;
    let trashed: Vec<(Option<String>, i64)> = page::rows_remembered(db, &counts(true)).await?;
    let mut out: Vec<(Option<String>, i64)> = all
        .into_iter()
        .map(|(k, n)| {
            let gone: i64 = trashed
                .iter()
                .filter(|(t, _)| *t == k)
                .map(|(_, n)| n)
                .sum();
            (k, n - gone)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    // Most first; of as many, "not filled in" last.
    out.sort_by_key(|(k, n)| (std::cmp::Reverse(*n), k.is_none(), k.clone()));
    Ok(out)
}

/// The ids of the customers in `scope`, not in the trash, that pass `filter` (the customer
/// list's filters: a name or code prefix, manager, region …): what another module's figures
/// keep to when a report is filtered by its customers.
pub fn ids_matching(scope: OwnerFilter, filter: &CustomerFilter) -> SelectStatement {
    let mut q = customers(scope)
        .select()
        .column((Customers::Table, Customers::Id))
        .and_where(not_deleted())
        .to_owned();
    filter.apply(&mut q);
    q
}

/// Every customer's `id`, `code` and `name`: what another module joins (as a subquery) to show
/// the customer beside its own records, which it has scoped with [`ids_in_scope`].
pub fn labels() -> SelectStatement {
    customers(OwnerFilter::system())
        .select()
        .columns([
            (Customers::Table, Customers::Id),
            (Customers::Table, Customers::Code),
            (Customers::Table, Customers::Name),
        ])
        .to_owned()
}

/// Every customer not in the trash: `id` and `credit` (信用度, 1–5 or `NULL`): what another
/// module joins (as a subquery) to sum its own records, which it has scoped with
/// [`ids_in_scope`], by the customer's credit (the credit overview of the reports).
pub fn credits() -> SelectStatement {
    customers(OwnerFilter::system())
        .select()
        .columns([
            (Customers::Table, Customers::Id),
            (Customers::Table, Customers::Credit),
        ])
        .and_where(not_deleted())
        .to_owned()
}

/// Sets customer `id`'s last order (最近下单时间) in `tx`: a value another module computes (the
/// latest date of the customer's orders that are not cancelled). Audited; the version stays,
/// as this is no edit of the customer and must not stale a form someone has open.
pub async fn set_last_order_at(
    tx: &mut Tx,
    id: i64,
    at: Option<DateTime<Utc>>,
    actor: &Actor,
) -> StoreResult<()> {
    let before: Customer = tx
        .fetch_found(&by_id(select_any(OwnerFilter::system()), id))
        .await?;
    if before.last_order_at == at {
        return Ok(());
    }
    let q = customers(OwnerFilter::system())
        .update()
        .value(Customers::LastOrderAt, Expr::val(at))
        .and_where(Expr::col((Customers::Table, Customers::Id)).eq(id))
        .to_owned();
    tx.execute(&q).await?;
    let (b, a) = (
        serde_json::json!({ "last_order_at": before.last_order_at }),
        serde_json::json!({ "last_order_at": at }),
    );
    let action = kehu_store::audit::Action::Update;
    kehu_store::audit::record(tx, actor, action, "customer", id, Some(&b), Some(&a)).await
}

/// What the loss scan (kehu-loss) reads of one batch of customers: the active ones not in
/// the trash with an id in `(after, upto]` whose last order lies before `cutoff` (or, never
/// ordered and `never_ordered` set, that were created before it), as `id`, `owner_id`,
/// `last_order_at`. A range of the primary key: a batch reads its own rows and no index.
pub fn stale(after: i64, upto: i64, cutoff: DateTime<Utc>, never_ordered: bool) -> SelectStatement {
    let col = |c: Customers| Expr::col((Customers::Table, c));
    let before = col(Customers::LastOrderAt).lt(cutoff);
    let never = col(Customers::LastOrderAt)
        .is_null()
        .and(col(Customers::CreatedAt).lt(cutoff));
    customers(OwnerFilter::system())
        .select()
        .columns([
            (Customers::Table, Customers::Id),
            (Customers::Table, Customers::OwnerId),
            (Customers::Table, Customers::LastOrderAt),
        ])
        .and_where(col(Customers::Id).gt(after))
        .and_where(col(Customers::Id).lte(upto))
        .and_where(not_deleted())
        // By the id range, not the status index (every active customer of the book).
        .and_where(unindexed((Customers::Table, Customers::Status)).eq(Status::Active.code()))
        .and_where(if never_ordered {
            before.or(never)
        } else {
            before
        })
        .to_owned()
}

/// Every customer's `id`, `code`, `name`, `owner_id`, `region` and `last_order_at`: what the
/// loss records join (as a subquery) to show their customer and follow its manager and last
/// order.
pub fn loss_facts() -> SelectStatement {
    customers(OwnerFilter::system())
        .select()
        .columns([
            (Customers::Table, Customers::Id),
            (Customers::Table, Customers::Code),
            (Customers::Table, Customers::Name),
            (Customers::Table, Customers::OwnerId),
            (Customers::Table, Customers::Region),
            (Customers::Table, Customers::LastOrderAt),
        ])
        .to_owned()
}

/// How many customers not in the trash have an id in `(after, upto]`: what a scan's batch
/// looked at.
pub fn count_between(after: i64, upto: i64) -> SelectStatement {
    let id = || Expr::col((Customers::Table, Customers::Id));
    customers(OwnerFilter::system())
        .select()
        .expr(Expr::cust("COUNT(*)"))
        .and_where(id().gt(after))
        .and_where(id().lte(upto))
        .and_where(not_deleted())
        .to_owned()
}

/// The ids of the customers of region `region` (a dictionary value).
pub fn ids_in_region(region: &str) -> SelectStatement {
    customers(OwnerFilter::system())
        .select()
        .column((Customers::Table, Customers::Id))
        .and_where(Expr::col((Customers::Table, Customers::Region)).eq(region))
        .to_owned()
}

/// The highest customer id (`NULL` without customers): where a scan by id ranges ends.
pub fn max_id() -> SelectStatement {
    customers(OwnerFilter::system())
        .select()
        .expr(Expr::col((Customers::Table, Customers::Id)).max())
        .to_owned()
}

/// Moves the status (客户状态) of those of customers `ids` whose status is one of `from` to
/// `to`, in `tx`: what the loss workflow does (warned, lost, active again). Audited per
/// customer; the version stays, as this is no edit of the customer and must not stale a form
/// someone has open. Answers how many moved.
pub async fn set_status(
    tx: &mut Tx,
    ids: &[i64],
    from: &[Status],
    to: Status,
    actor: &Actor,
) -> StoreResult<u64> {
    let mut moved = 0;
    for chunk in ids.chunks(1000) {
        let chunk = customers(OwnerFilter::system())
            .select()
            .column((Customers::Table, Customers::Id))
            .and_where(Expr::col((Customers::Table, Customers::Id)).is_in(chunk.iter().copied()))
            .to_owned();
        moved += set_status_of(tx, chunk, from, to, actor).await?;
    }
    Ok(moved)
}

/// [`set_status`] of the customers whose ids `ids` selects (a subquery: a scan's batch of
/// thousands moves in a few statements, its audit entries written by one).
pub async fn set_status_of(
    tx: &mut Tx,
    ids: SelectStatement,
    from: &[Status],
    to: Status,
    actor: &Actor,
) -> StoreResult<u64> {
    let id = || Expr::col((Customers::Table, Customers::Id));
    // By the ids, not the status index (every customer of that status).
    let status = || unindexed((Customers::Table, Customers::Status));
    let mut moved = 0;
    // One move per status it starts from: the audit says which.
    for from in from {
        let changes = serde_json::json!({
            "status": {"before": from.code(), "after": to.code()}
        });
        let entries = customers(OwnerFilter::system())
            .select()
            .expr_as(id().cast_as(Alias::new("TEXT")), Alias::new("entity_id"))
            .expr_as(Expr::val(changes.to_string()), Alias::new("changes"))
            .and_where(id().in_subquery(ids.clone()))
            .and_where(status().eq(from.code()))
            .to_owned();
        kehu_store::audit::record_each(
            tx,
            actor,
            kehu_store::audit::Action::Update,
            "customer",
            entries,
        )
        .await?;
        let q = customers(OwnerFilter::system())
            .update()
            .value(Customers::Status, Expr::val(to.code()))
            .and_where(id().in_subquery(ids.clone()))
            .and_where(status().eq(from.code()))
            .to_owned();
        moved += tx.execute(&q).await?;
    }
    Ok(moved)
}

/// The primary contact of customer `customer_id`, if it has contacts.
pub(crate) async fn primary_of(tx: &mut Tx, customer_id: i64) -> StoreResult<Option<Contact>> {
    let q = select_contacts(OwnerFilter::system())
        .and_where(Expr::col((Contacts::Table, Contacts::CustomerId)).eq(customer_id))
        .and_where(Expr::col((Contacts::Table, Contacts::IsPrimary)).eq(true))
        .to_owned();
    Ok(tx.fetch_optional(&q).await?)
}

/// Makes `c` the primary contact or not, audited like any change.
pub(crate) async fn set_primary(
    tx: &mut Tx,
    c: &Contact,
    primary: bool,
    actor: &Actor,
) -> StoreResult<()> {
    let values = vec![(Contacts::IsPrimary, Expr::val(primary))];
    write::update(tx, c, c.version, values, actor, async |_| Ok(())).await?;
    Ok(())
}

// Import and export: the bulk reads and writes that `import.rs` and `export.rs` drive, here
// because every statement on the customers table comes from this file's scoped builder.

/// Changes customer `id` (in `scope`, not in the trash) to `d`; at `version`, or at whatever
/// version it has when `None` (an import's update of a duplicate).
pub(crate) async fn update_tx(
    tx: &mut Tx,
    scope: OwnerFilter,
    id: i64,
    d: &CustomerDraft,
    version: Option<i32>,
    only: Option<&HashSet<String>>,
    actor: &Actor,
) -> StoreResult<Customer> {
    let before: Customer = tx.fetch_found(&by_id(select_live(scope), id)).await?;
    let owner = CustomerStore::owner_for(scope, d.owner_id.or(Some(before.owner_id)), actor)?;
    if owner != before.owner_id {
        rows::check_owner(tx, owner).await?;
    }
    let mut values = draft_values(d);
    // An import's file sets only the fields it has columns for (named as the columns are).
    values.retain(|(col, _)| only.is_none_or(|o| o.contains(col.unquoted())));
    values.push((Customers::OwnerId, Expr::val(owner)));
    let version = version.unwrap_or(before.version);
    let tags = only.is_none_or(|o| o.contains("tags"));
    let c = write::update(tx, &before, version, values, actor, async |tx| {
        if tags {
            rows::set_tags(tx, id, &d.tags).await?;
        }
        Ok(())
    })
    .await?;
    indexing::customer(tx, c).await
}

/// A stored customer (not in the trash) that an imported row may duplicate, with the
/// contact's mobile or e-mail when that is what matched.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Match {
    pub id: i64,
    pub owner_id: i64,
    pub code: String,
    pub name: String,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

/// What an import batch looks for among the stored customers.
#[derive(Debug, Default)]
pub(crate) struct MatchKeys {
    pub codes: Vec<String>,
    pub names: Vec<String>,
    /// E.164: matched against the customer's phone and the contacts' mobiles.
    pub phones: Vec<String>,
    pub emails: Vec<String>,
}

/// Values per `IN (…)` list: within both databases' limits on bound values.
const IN_CHUNK: usize = 5000;

/// Every live customer (any owner: a duplicate is one whoever manages it) with the same
/// code, name or phone as one of `keys`, or a contact with one of its mobiles or e-mails.
/// One indexed lookup per kind of key.
pub(crate) async fn find_matches(tx: &mut Tx, keys: &MatchKeys) -> StoreResult<Vec<Match>> {
    let no_text = || Expr::cust("CAST(NULL AS TEXT)");
    let base = || {
        let mut q = customers(OwnerFilter::system()).select();
        for c in [
            Customers::Id,
            Customers::OwnerId,
            Customers::Code,
            Customers::Name,
            Customers::Phone,
        ] {
            q.column((Customers::Table, c));
        }
        q.and_where(not_deleted());
        q
    };
    let mut out = Vec::new();
    let on_customers = [
        (Customers::Code, &keys.codes),
        (Customers::Name, &keys.names),
        (Customers::Phone, &keys.phones),
    ];
    for (col, values) in on_customers {
        for chunk in values.chunks(IN_CHUNK) {
            let q = base()
                .expr_as(no_text(), Alias::new("mobile"))
                .expr_as(no_text(), Alias::new("email"))
                .and_where(Expr::col((Customers::Table, col)).is_in(chunk.iter().cloned()))
                .to_owned();
            out.extend(tx.fetch_all::<Match>(&q).await?);
        }
    }
    for (col, values) in [
        (Contacts::Mobile, &keys.phones),
        (Contacts::Email, &keys.emails),
    ] {
        for chunk in values.chunks(IN_CHUNK) {
            let q = base()
                .expr_as(
                    Expr::col((Contacts::Table, Contacts::Mobile)),
                    Alias::new("mobile"),
                )
                .expr_as(
                    Expr::col((Contacts::Table, Contacts::Email)),
                    Alias::new("email"),
                )
                .inner_join(
                    Contacts::Table,
                    Expr::col((Contacts::Table, Contacts::CustomerId))
                        .equals((Customers::Table, Customers::Id)),
                )
                .and_where(Expr::col((Contacts::Table, col)).is_in(chunk.iter().cloned()))
                .to_owned();
            out.extend(tx.fetch_all::<Match>(&q).await?);
        }
    }
    Ok(out)
}

/// A new customer of an import batch: the parsed row and its manager.
pub(crate) struct NewCustomer<'a> {
    pub draft: &'a CustomerDraft,
    pub owner: i64,
}

/// What the audit log keeps of a customer just created from `d` (the fields
/// [`Customer::snapshot`] has), without reading it back.
fn created_snapshot(code: &str, owner: i64, d: &CustomerDraft) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    o.insert("code".into(), code.into());
    o.insert("owner_id".into(), owner.into());
    o.insert("status".into(), Status::Active.code().into());
    for (col, value) in draft_values(d) {
        let v = match value {
            SimpleExpr::Value(v) => sea_value_json(v),
            _ => serde_json::Value::Null,
        };
        o.insert(col.unquoted().to_owned(), v);
    }
    serde_json::Value::Object(o)
}

fn sea_value_json(v: sea_query::Value) -> serde_json::Value {
    use sea_query::Value as V;
    match v {
        V::String(Some(s)) => s.into(),
        V::SmallInt(Some(n)) => n.into(),
        V::BigInt(Some(n)) => n.into(),
        V::ChronoDate(Some(d)) => d.format("%Y-%m-%d").to_string().into(),
        _ => serde_json::Value::Null,
    }
}

/// Inserts a batch of new customers with the next codes of `day` (one counter update for
/// the batch), their tags and one audit entry each; returns their ids and codes in order.
pub(crate) async fn insert_customers(
    tx: &mut Tx,
    day: NaiveDate,
    new: &[NewCustomer<'_>],
    actor: &Actor,
) -> StoreResult<Vec<(i64, String)>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(new.len()).unwrap_or(i64::MAX);
    let first = rows::reserve_codes(tx, day, n).await?;
    let codes: Vec<String> = (0..n)
        .map(|i| crate::domain::customer_code(day, first + i))
        .collect();
    let now = Utc::now();
    let mut ids = Vec::with_capacity(new.len());
    // About 32 values a row: 500 rows stay under SQLite's 32,766 bound values.
    for (chunk, chunk_codes) in new.chunks(500).zip(codes.chunks(500)) {
        let mut q = Query::insert().into_table(Customers::Table).to_owned();
        let mut columns = None;
        for (c, code) in chunk.iter().zip(chunk_codes) {
            let mut values = draft_values(c.draft);
            values.extend([
                (Customers::Code, Expr::val(code.as_str())),
                (Customers::OwnerId, Expr::val(c.owner)),
                (Customers::Status, Expr::val(Status::Active.code())),
                (Customers::CreatedAt, Expr::val(now)),
                (Customers::CreatedBy, actor.user_id.into()),
                (Customers::UpdatedAt, Expr::val(now)),
                (Customers::UpdatedBy, actor.user_id.into()),
            ]);
            let (cols, vals): (Vec<Customers>, Vec<SimpleExpr>) = values.into_iter().unzip();
            if columns.is_none() {
                q.columns(cols.clone());
                columns = Some(cols);
            }
            q.values_panic(vals);
        }
        q.returning(Query::returning().columns([Customers::Id, Customers::Code]));
        let rows: Vec<(i64, String)> = tx.fetch_all(&q).await?;
        ids.extend(rows);
    }
    // RETURNING promises no order: put the ids back in the batch's order by their codes.
    let by_code: std::collections::HashMap<&str, i64> =
        ids.iter().map(|(id, code)| (code.as_str(), *id)).collect();
    let ordered: Vec<(i64, String)> = codes
        .iter()
        .filter_map(|code| by_code.get(code.as_str()).map(|id| (*id, code.clone())))
        .collect();
    if ordered.len() != new.len() {
        return Err(anyhow::anyhow!("an imported customer was not read back").into());
    }
    let tagged: Vec<(i64, &std::collections::BTreeSet<String>)> = ordered
        .iter()
        .zip(new)
        .map(|((id, _), c)| (*id, &c.draft.tags))
        .collect();
    rows::insert_tags(tx, &tagged).await?;
    let audited: Vec<(i64, serde_json::Value)> = ordered
        .iter()
        .zip(new)
        .map(|((id, code), c)| (*id, created_snapshot(code, c.owner, c.draft)))
        .collect();
    kehu_store::audit::record_created(tx, actor, "customer", &audited).await?;
    Ok(ordered)
}

/// The live customers in `scope` with one of `codes` or `names`: whom an imported contact
/// belongs to.
pub async fn customers_by_code_or_name(
    tx: &mut Tx,
    scope: OwnerFilter,
    codes: &[String],
    names: &[String],
) -> StoreResult<Vec<Customer>> {
    let mut out = Vec::new();
    for (col, values) in [(Customers::Code, codes), (Customers::Name, names)] {
        for chunk in values.chunks(IN_CHUNK) {
            let q = select_live(scope)
                .and_where(Expr::col((Customers::Table, col)).is_in(chunk.iter().cloned()))
                .to_owned();
            out.extend(tx.fetch_all::<Customer>(&q).await?);
        }
    }
    Ok(out)
}

/// The contacts of customers `ids` (found in scope before).
pub(crate) async fn contacts_of_many(tx: &mut Tx, ids: &[i64]) -> StoreResult<Vec<Contact>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let q = select_contacts(OwnerFilter::system())
            .and_where(
                Expr::col((Contacts::Table, Contacts::CustomerId)).is_in(chunk.iter().copied()),
            )
            .to_owned();
        out.extend(tx.fetch_all::<Contact>(&q).await?);
    }
    Ok(out)
}

impl CustomerStore {
    /// Up to `limit` customers in `scope` (not in the trash) matching `f` with an id above
    /// `after`, by id: an export walks the whole filtered list this way, a page at a time.
    pub async fn export_page(
        &self,
        scope: OwnerFilter,
        f: &CustomerFilter,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<Customer>> {
        let mut q = select_live(scope);
        f.apply(&mut q);
        q.and_where(Expr::col((Customers::Table, Customers::Id)).gt(after))
            .order_by((Customers::Table, Customers::Id), Order::Asc)
            .limit(limit);
        Ok(self.db.fetch_all(&q).await?)
    }

    /// Up to `limit` contacts in `scope` matching `f` with an id above `after`, by id.
    pub async fn export_contacts_page(
        &self,
        scope: OwnerFilter,
        f: &ContactFilter,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<Contact>> {
        let mut q = select_contacts(scope);
        f.apply(&mut q);
        q.and_where(Expr::col((Contacts::Table, Contacts::Id)).gt(after))
            .order_by((Contacts::Table, Contacts::Id), Order::Asc)
            .limit(limit);
        Ok(self.db.fetch_all(&q).await?)
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Today in the configured time zone: the day new customer codes carry.
    pub fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.utc_offset).date_naive()
    }
}

/// The customer a form is for, or the ones to pick from: `current` (an id as entered) when it
/// is a customer in `scope`, its id and name; otherwise the first 200 of `scope` by name as
/// options ("华强电子（KH20261123-0001）"). What an order's or a service's form offers.
pub async fn customer_choice(
    store: &CustomerStore,
    scope: OwnerFilter,
    current: &str,
) -> StoreResult<(Option<(i64, String)>, Vec<kehu_web::views::Opt>)> {
    let fixed = match current.trim().parse::<i64>() {
        Ok(id) => store.get(scope, id).await.ok().map(|c| (c.id, c.name)),
        Err(_) => None,
    };
    if fixed.is_some() {
        return Ok((fixed, Vec::new()));
    }
    let sort = kehu_store::page::Sort::new(CustomerSort::Name, kehu_store::page::Dir::Asc);
    let req = ListRequest::new(sort, None, kehu_store::PageRequest::new(None, Some(200)));
    let l = store.list(scope, &CustomerFilter::default(), req).await?;
    let options = kehu_web::views::Opt::list(
        l.items
            .into_iter()
            .map(|c| (c.id, format!("{}（{}）", c.name, c.code))),
        current,
    );
    Ok((None, options))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use kehu_store::statement::Explain;

    use super::*;

    /// A SQLite database in a directory of its own, with the customers' tables.
    async fn migrated() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        kehu_store::migrations::migrate_with(&db, crate::migrations::MIGRATIONS)
            .await
            .unwrap();
        (dir, db)
    }

    /// Every filter, alone and with each sort, as the list builds it: SQLite reads a range of
    /// an index (or walks one in the sort's order), never the whole customers table.
    #[tokio::test]
    async fn every_filter_and_sort_of_the_list_reads_an_index_not_the_table() {
        let (_dir, db) = migrated().await;
        let none = CustomerFilter::default;
        let filters = [
            ("none", none()),
            (
                "q",
                CustomerFilter {
                    q: Some("华强".into()),
                    ..none()
                },
            ),
            (
                "region",
                CustomerFilter {
                    region: Some("440000".into()),
                    ..none()
                },
            ),
            (
                "level",
                CustomerFilter {
                    level: Some("partner".into()),
                    ..none()
                },
            ),
            (
                "industry",
                CustomerFilter {
                    industry: Some("finance".into()),
                    ..none()
                },
            ),
            (
                "status",
                CustomerFilter {
                    status: Some(Status::Lost),
                    ..none()
                },
            ),
            (
                "owner",
                CustomerFilter {
                    owner_id: Some(7),
                    ..none()
                },
            ),
            (
                "tag",
                CustomerFilter {
                    tag: Some("VIP".into()),
                    ..none()
                },
            ),
            (
                "created",
                CustomerFilter {
                    created_from: Some(Utc::now()),
                    ..none()
                },
            ),
        ];
        let mut scans = Vec::new();
        let (mut sorts, mut dense) = (Vec::new(), 0);
        // The check itself: a condition on a column without an index is a scan.
        let mut unindexed = select_live(OwnerFilter::system());
        unindexed.and_where(Expr::col((Customers::Table, Customers::Postcode)).eq("510000"));
        let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&unindexed)).await.unwrap();
        assert!(plan.iter().any(|(.., d)| d == "SCAN customers"), "{plan:?}");
        for (name, f) in &filters {
            for sort in CustomerSort::ALL {
                let mut q = select_live(OwnerFilter::system());
                f.apply(&mut q);
                q.order_by_expr(sort.column(), Order::Desc).limit(51);
                let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&q)).await.unwrap();
                // `SCAN customers USING INDEX …` walks an index in order; bare, it is the table.
                if plan.iter().any(|(.., d)| d == "SCAN customers") {
                    scans.push(format!("{name} by {}: {plan:?}", sort.code()));
                }
                if f.indexed_for(*sort) {
                    continue;
                }
                // A dense match without an index of its own: the sort's index, walked in
                // order (no sorting of every match), is what `fetch_dense` reads.
                let mut q = select_live(OwnerFilter::system());
                f.apply_keyed(&mut q, true);
                q.order_by_expr(sort.column(), Order::Desc).limit(51);
                let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&q)).await.unwrap();
                let walks = plan
                    .iter()
                    .any(|(.., d)| d.starts_with("SCAN customers USING"))
                    && !plan.iter().any(|(.., d)| d.contains("TEMP B-TREE"));
                if !walks {
                    sorts.push(format!("{name} by {}: {plan:?}", sort.code()));
                }
                dense += 1;
            }
        }
        assert!(scans.is_empty(), "table scans: {scans:#?}");
        assert!(sorts.is_empty(), "dense matches sorted: {sorts:#?}");
        // Kept off its index, a filter still compares its own column with its own value (a
        // placeholder SQLite took for a parameter of its own once compared neither).
        let mut q = select_live(OwnerFilter::system());
        let partner = CustomerFilter {
            level: Some("partner".into()),
            ..none()
        };
        partner.apply_keyed(&mut q, true);
        let sql = q.to_string(sea_query::SqliteQueryBuilder);
        assert!(
            sql.contains(r#"(+"customers"."level") = 'partner'"#),
            "{sql}"
        );
        assert!(dense >= 9, "{dense} filter and sort pairs read dense");
        db.close().await;
    }

    /// The loss scan's batch of customers by id: SQLite reads the id range (a few thousand
    /// rows), not the status index (every active customer of the book; three times as slow
    /// at a million).
    #[tokio::test]
    async fn a_loss_scans_batch_reads_its_id_range_not_the_status_index() {
        let (_dir, db) = migrated().await;
        for never_ordered in [true, false] {
            let q = stale(20_000, 40_000, Utc::now(), never_ordered);
            let plan: Vec<(i64, i64, i64, String)> = db.fetch_all(&Explain(&q)).await.unwrap();
            assert!(
                plan.iter()
                    .any(|(.., d)| d.starts_with("SEARCH customers USING INTEGER PRIMARY KEY")),
                "{plan:?}"
            );
        }
        db.close().await;
    }
}
