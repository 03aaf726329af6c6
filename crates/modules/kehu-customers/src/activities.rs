//! Interactions (交往记录): what happened between the company and a customer — when, through
//! which channel (dictionary `activity_channel`), where, with which of its contacts, what —
//! and who recorded it. The domain (parsed input) and the store. An interaction is in the data
//! scope through its customer: every select starts from the customer store's scoped select of
//! live customers and joins this table on it, so another manager's interaction is `NotFound`.
//! Writes go through the write kit (version checked, audited) and are linked into the
//! customer's history.

pub mod api;
pub mod pages;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use kehu_domain::error::Errors;
use kehu_domain::policy::OwnerFilter;
use kehu_domain::{DomainError, FieldError};
use kehu_store::audit::Actor;
use kehu_store::db::{Db, Tx};
use kehu_store::page::{self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey};
use kehu_store::schema::Users;
use kehu_store::write::{self, Record, Table};
use kehu_store::{LastChange, StoreResult};
use sea_query::{Alias, Expr, ExprTrait, SelectStatement, SimpleExpr};
use serde::{Deserialize, Serialize};

use crate::domain::{DictValues, kinds, line, memo, opt_line, take};
use crate::schema::{Activities, Contacts};
use crate::store::{self, Contact, contact_by_id, live_customers};

/// The longest title, in characters.
pub const TITLE_MAX: usize = 100;

/// An interaction's fields as entered (a form's fields, the API's strings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityInput {
    /// RFC 3339, or a local `2026-11-23T14:05` (a form's `datetime-local`) in the configured
    /// time zone.
    pub at: String,
    pub channel: String,
    pub place: String,
    /// One of the customer's contacts, or empty.
    pub contact_id: String,
    pub title: String,
    pub description: String,
}

/// An interaction (交往记录), parsed. That the contact is the customer's own is the store's
/// check (it needs the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityDraft {
    pub at: DateTime<Utc>,
    pub channel: String,
    pub place: Option<String>,
    pub contact_id: Option<i64>,
    pub title: String,
    pub description: Option<String>,
}

/// A moment: RFC 3339, or a local date and time in `zone` (`2026-11-23T14:05`,
/// `2026-11-23 14:05:30`).
fn moment<Z: TimeZone>(field: &str, input: &str, zone: &Z) -> Result<DateTime<Utc>, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "err-required"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .and_then(|t| zone.from_local_datetime(&t).earliest())
    .map(|t| t.with_timezone(&Utc))
    .ok_or_else(|| FieldError::new(field, "err-datetime"))
}

fn contact_ref(input: &str) -> Result<Option<i64>, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| FieldError::new("contact_id", "err-contact-other"))
}

impl ActivityDraft {
    /// Parses `i`; the channel must be a value of `activity_channel` in `dict`, a local time is
    /// in `zone`.
    pub fn parse<Z: TimeZone>(
        i: &ActivityInput,
        dict: &DictValues,
        zone: &Z,
    ) -> Result<Self, DomainError> {
        let mut e = Errors::new();
        let channel = take(&mut e, dict.parse("channel", kinds::CHANNEL, &i.channel));
        if channel.is_none() && i.channel.trim().is_empty() {
            e.push(FieldError::new("channel", "err-required"));
        }
        let at = e.check(moment("at", &i.at, zone));
        let draft = Self {
            at: at.unwrap_or_default(),
            channel: channel.unwrap_or_default(),
            place: take(&mut e, opt_line("place", &i.place, 200)),
            contact_id: take(&mut e, contact_ref(&i.contact_id)),
            title: take(&mut e, line("title", &i.title, TITLE_MAX)),
            description: take(&mut e, memo("description", &i.description)),
        };
        e.finish()?;
        Ok(draft)
    }
}

/// An interaction as the store reads it, with its customer's, contact's and recorder's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Activity {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
    pub at: DateTime<Utc>,
    /// Dictionary value of kind `activity_channel`.
    pub channel: String,
    pub place: Option<String>,
    pub title: String,
    pub description: Option<String>,
    /// Who recorded it (记录人).
    pub recorded_by: Option<i64>,
    pub recorded_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// Interactions of the live customers in `scope`.
fn select_activities(scope: OwnerFilter) -> SelectStatement {
    let mut q = live_customers(scope);
    for c in [
        Activities::Id,
        Activities::CustomerId,
        Activities::ContactId,
        Activities::At,
        Activities::Channel,
        Activities::Place,
        Activities::Title,
        Activities::Description,
        Activities::CreatedAt,
        Activities::UpdatedAt,
        Activities::Version,
    ] {
        q.column((Activities::Table, c));
    }
    q.expr_as(store::customer_name(), Alias::new("customer_name"))
        .expr_as(
            Expr::col((Contacts::Table, Contacts::Name)),
            Alias::new("contact_name"),
        )
        .expr_as(
            Expr::col((Activities::Table, Activities::CreatedBy)),
            Alias::new("recorded_by"),
        )
        .expr_as(
            Expr::col((Users::Table, Users::DisplayName)),
            Alias::new("recorded_by_name"),
        )
        .inner_join(
            Activities::Table,
            Expr::col((Activities::Table, Activities::CustomerId)).eq(store::customer_id()),
        )
        .left_join(
            Contacts::Table,
            Expr::col((Contacts::Table, Contacts::Id))
                .equals((Activities::Table, Activities::ContactId)),
        )
        .left_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Activities::Table, Activities::CreatedBy)),
        );
    q
}

fn activity_by_id(scope: OwnerFilter, id: i64) -> SelectStatement {
    select_activities(scope)
        .and_where(Expr::col((Activities::Table, Activities::Id)).eq(id))
        .to_owned()
}

impl Record for Activity {
    type Col = Activities;
    const TABLE: Table<Activities> = Table {
        table: Activities::Table,
        id: Activities::Id,
        version: Activities::Version,
        created_at: Activities::CreatedAt,
        created_by: Activities::CreatedBy,
        updated_at: Activities::UpdatedAt,
        updated_by: Activities::UpdatedBy,
        entity: "activity",
        unique: "id",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_activities(OwnerFilter::system()), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "customer_id": self.customer_id, "contact_id": self.contact_id,
            "at": self.at, "channel": self.channel, "place": self.place,
            "title": self.title, "description": self.description,
        })
    }
}

fn values(d: &ActivityDraft) -> Vec<(Activities, SimpleExpr)> {
    vec![
        (Activities::At, Expr::val(d.at)),
        (Activities::Channel, Expr::val(d.channel.as_str())),
        (Activities::Place, Expr::val(d.place.clone())),
        (Activities::ContactId, Expr::val(d.contact_id)),
        (Activities::Title, Expr::val(d.title.as_str())),
        (Activities::Description, Expr::val(d.description.clone())),
    ]
}

/// The timeline's order: newest first (the only sort; an index on `(customer_id, at, id)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivitySort {
    At,
}

impl SortKey for ActivitySort {
    const ALL: &'static [Self] = &[ActivitySort::At];
    const DEFAULT: Sort<Self> = Sort {
        key: ActivitySort::At,
        dir: Dir::Desc,
    };

    fn code(self) -> &'static str {
        "at"
    }

    fn kind(self) -> KeyKind {
        KeyKind::Time
    }

    fn column(self) -> Expr {
        Expr::col((Activities::Table, Activities::At))
    }

    fn first_dir(self) -> Dir {
        Dir::Desc
    }
}

impl Keyed<ActivitySort> for Activity {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, _: ActivitySort) -> KeyValue {
        KeyValue::Time(self.at)
    }
}

/// The store of interactions.
#[derive(Clone, Debug)]
pub struct ActivityStore {
    db: Db,
}

/// The id of customer `id` if it is live and in `scope`.
fn customer_q(scope: OwnerFilter, id: i64) -> SelectStatement {
    live_customers(scope)
        .expr(store::customer_id())
        .and_where(store::customer_id().eq(id))
        .to_owned()
}

/// Customer `id` is live and in `scope`, or `NotFound`.
async fn find_customer(tx: &mut Tx, scope: OwnerFilter, id: i64) -> StoreResult<()> {
    let _: (i64,) = tx.fetch_found(&customer_q(scope, id)).await?;
    Ok(())
}

/// The contact of `d` is one of customer `customer_id`'s, or a field error on `contact_id`.
async fn check_contact(
    tx: &mut Tx,
    scope: OwnerFilter,
    customer_id: i64,
    d: &ActivityDraft,
) -> StoreResult<()> {
    let Some(id) = d.contact_id else {
        return Ok(());
    };
    let found: Option<Contact> = tx.fetch_optional(&contact_by_id(scope, id)).await?;
    match found {
        Some(k) if k.customer_id == customer_id => Ok(()),
        _ => Err(DomainError::field("contact_id", "err-contact-other").into()),
    }
}

impl ActivityStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// One page of customer `customer_id`'s interactions (in `scope`), newest first, and
    /// their count; `NotFound` when the customer is not in the scope.
    pub async fn of_customer(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
        req: impl Into<ListRequest<ActivitySort>>,
    ) -> StoreResult<Listing<Activity>> {
        let _: (i64,) = self.db.fetch_found(&customer_q(scope, customer_id)).await?;
        self.of_found_customer(scope, customer_id, req).await
    }

    /// [`Self::of_customer`] for a customer the caller has just found in `scope` (the customer
    /// page): the same statements, without reading the customer again.
    pub(crate) async fn of_found_customer(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
        req: impl Into<ListRequest<ActivitySort>>,
    ) -> StoreResult<Listing<Activity>> {
        let of = |mut q: SelectStatement| {
            q.and_where(Expr::col((Activities::Table, Activities::CustomerId)).eq(customer_id));
            q
        };
        let q = of(select_activities(scope));
        let count = of(live_customers(scope)
            .expr(Expr::cust("1"))
            .inner_join(
                Activities::Table,
                Expr::col((Activities::Table, Activities::CustomerId)).eq(store::customer_id()),
            )
            .to_owned());
        let id = Expr::col((Activities::Table, Activities::Id));
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// Interaction `id` if its customer is live and in `scope`; otherwise `NotFound`.
    pub async fn get(&self, scope: OwnerFilter, id: i64) -> StoreResult<Activity> {
        self.db.fetch_found(&activity_by_id(scope, id)).await
    }

    /// Who saved interaction `id` last, and when.
    pub async fn last_change(&self, id: i64) -> StoreResult<LastChange> {
        write::last_change::<Activity>(&self.db, id).await
    }

    /// Records an interaction with customer `customer_id`, by `actor`.
    pub async fn create(
        &self,
        scope: OwnerFilter,
        customer_id: i64,
        d: &ActivityDraft,
        actor: &Actor,
    ) -> StoreResult<Activity> {
        self.db
            .write(async |tx| Self::create_in(tx, scope, customer_id, d, actor).await)
            .await
    }

    /// [`ActivityStore::create`] in `tx` (the demo's history writes many at once).
    pub async fn create_in(
        tx: &mut Tx,
        scope: OwnerFilter,
        customer_id: i64,
        d: &ActivityDraft,
        actor: &Actor,
    ) -> StoreResult<Activity> {
        find_customer(tx, scope, customer_id).await?;
        check_contact(tx, scope, customer_id, d).await?;
        let mut values = values(d);
        values.push((Activities::CustomerId, Expr::val(customer_id)));
        write::create::<Activity>(tx, values, actor, async |tx, id| {
            crate::history::link(tx, customer_id, "activity", id).await
        })
        .await
    }

    /// Changes interaction `id` if it still has `version`.
    pub async fn update(
        &self,
        scope: OwnerFilter,
        id: i64,
        d: &ActivityDraft,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Activity> {
        self.db
            .write(async |tx| {
                let before: Activity = tx.fetch_found(&activity_by_id(scope, id)).await?;
                check_contact(tx, scope, before.customer_id, d).await?;
                write::update(tx, &before, version, values(d), actor, async |_| Ok(())).await
            })
            .await
    }

    /// Deletes interaction `id` if it still has `version`; returns it as it was.
    pub async fn delete(
        &self,
        scope: OwnerFilter,
        id: i64,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<Activity> {
        self.db
            .write(async |tx| {
                let before: Activity = tx.fetch_found(&activity_by_id(scope, id)).await?;
                write::delete(tx, &before, version, actor).await?;
                Ok(before)
            })
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn dict() -> DictValues {
        DictValues::new([("activity_channel", "visit"), ("activity_channel", "phone")])
    }

    fn input() -> ActivityInput {
        ActivityInput {
            at: "2026-11-23T14:05".into(),
            channel: "visit".into(),
            title: "  回访　报价 ".into(),
            ..ActivityInput::default()
        }
    }

    fn errors(r: Result<ActivityDraft, DomainError>) -> Vec<(String, String)> {
        match r {
            Err(DomainError::Invalid(f)) => f.into_iter().map(|f| (f.field, f.code)).collect(),
            other => unreachable!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn a_local_time_is_read_in_the_configured_zone_and_text_is_normalised() {
        let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let d = ActivityDraft::parse(&input(), &dict(), &zone).unwrap();
        assert_eq!(d.at.to_rfc3339(), "2026-11-23T06:05:00+00:00");
        assert_eq!(d.title, "回访 报价");
        assert_eq!((d.contact_id, d.place), (None, None));
        let utc = ActivityInput {
            at: "2026-11-23T14:05:00Z".into(),
            contact_id: " 7 ".into(),
            ..input()
        };
        let d = ActivityDraft::parse(&utc, &dict(), &zone).unwrap();
        assert_eq!(d.at.to_rfc3339(), "2026-11-23T14:05:00+00:00");
        assert_eq!(d.contact_id, Some(7));
    }

    /// The customer page's timeline and its count: a range of `ix_activities_customer_at`,
    /// in the timeline's order, never a scan of the interactions or the customers.
    #[tokio::test]
    async fn the_timeline_reads_a_range_of_its_index_in_order() {
        use sea_query::Order;
        let dir = tempfile::tempdir().unwrap();
        let db = crate::history::tests::db(dir.path()).await;
        let manager = kehu_domain::Principal {
            user_id: 7,
            username: "li".into(),
            display_name: "李".into(),
            role_id: 3,
            role_name: "r".into(),
            rights: Default::default(),
            scope: kehu_domain::DataScope::Own,
            must_change_password: false,
            language: None,
        };
        for scope in [OwnerFilter::system(), manager.owner_filter()] {
            let mut q = select_activities(scope);
            q.and_where(Expr::col((Activities::Table, Activities::CustomerId)).eq(42))
                .order_by((Activities::Table, Activities::At), Order::Desc)
                .order_by((Activities::Table, Activities::Id), Order::Desc)
                .limit(21);
            let plan: Vec<(i64, i64, i64, String)> = db
                .fetch_all(&kehu_store::statement::Explain(&q))
                .await
                .unwrap();
            assert!(
                crate::history::tests::scans(&db, &q).await.is_empty(),
                "{plan:#?}"
            );
            assert!(
                plan.iter()
                    .any(|(.., d)| d.contains("ix_activities_customer_at")),
                "{plan:#?}"
            );
            assert!(
                !plan.iter().any(|(.., d)| d.contains("TEMP B-TREE")),
                "sorted: {plan:#?}"
            );
        }
        db.close().await;
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = ActivityInput {
            at: "yesterday".into(),
            channel: "pigeon".into(),
            contact_id: "x".into(),
            title: String::new(),
            ..ActivityInput::default()
        };
        let got = errors(ActivityDraft::parse(&bad, &dict(), &Utc));
        assert_eq!(
            got,
            [
                ("channel".into(), "err-dict-unknown".into()),
                ("at".into(), "err-datetime".into()),
                ("contact_id".into(), "err-contact-other".into()),
                ("title".into(), "err-required".into()),
            ]
        );
        let empty = errors(ActivityDraft::parse(
            &ActivityInput::default(),
            &dict(),
            &Utc,
        ));
        assert!(empty.contains(&("channel".into(), "err-required".into())));
        assert!(empty.contains(&("at".into(), "err-required".into())));
    }
}
