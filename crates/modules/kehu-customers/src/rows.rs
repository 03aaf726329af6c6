//! Statements on the tables beside the customers (tags, the code counter) and on the platform's
//! (users, dictionary) that the customer store needs. None of them reads a customer: the store
//! reaches these only for a customer it has already found within the caller's scope.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use kehu_domain::DomainError;
use kehu_store::StoreResult;
use kehu_store::db::{Db, Tx};
use kehu_store::schema::{Dictionary, Users};
use kehu_store::write::{self, DayCounter};
use sea_query::{Expr, ExprTrait, Query, SelectStatement};

use crate::domain::{DictValues, customer_code, kinds};
use crate::schema::{CustomerCodes, CustomerTags};

/// The next customer code of `day`. One statement counts the day's sequence up and returns
/// it; the counter's row stays locked until the transaction ends, so two creating customers
/// at once get different numbers on both databases.
pub async fn next_code(tx: &mut Tx, day: NaiveDate) -> StoreResult<String> {
    let seq = write::next_of_day(tx, CODES, day).await?;
    Ok(customer_code(day, seq))
}

/// The day counter of customer codes.
const CODES: DayCounter<CustomerCodes> = DayCounter {
    table: CustomerCodes::Table,
    day: CustomerCodes::Day,
    last: CustomerCodes::Last,
};

/// Replaces the tag rows of customer `id` with `tags`.
pub async fn set_tags(tx: &mut Tx, id: i64, tags: &BTreeSet<String>) -> StoreResult<()> {
    tx.execute(
        Query::delete()
            .from_table(CustomerTags::Table)
            .and_where(Expr::col(CustomerTags::CustomerId).eq(id)),
    )
    .await?;
    if tags.is_empty() {
        return Ok(());
    }
    let mut q = Query::insert()
        .into_table(CustomerTags::Table)
        .columns([CustomerTags::CustomerId, CustomerTags::Tag])
        .to_owned();
    for t in tags {
        q.values_panic([id.into(), t.as_str().into()]);
    }
    tx.execute(&q).await?;
    Ok(())
}

/// The tag row of customer `id` (a column of the outer query) with `tag`, for an `EXISTS`
/// filter: one probe of the table's key.
pub fn tagged(tag: &str, id: Expr) -> SelectStatement {
    Query::select()
        .expr(Expr::cust("1"))
        .from(CustomerTags::Table)
        .and_where(Expr::col((CustomerTags::Table, CustomerTags::CustomerId)).eq(id))
        .and_where(Expr::col((CustomerTags::Table, CustomerTags::Tag)).eq(tag))
        .to_owned()
}

/// Checks that user `id` exists and is not disabled: someone who can manage customers. Else a
/// field error on `owner_id`.
pub async fn check_owner(tx: &mut Tx, id: i64) -> StoreResult<()> {
    let found: Option<(i64,)> = tx
        .fetch_optional(
            Query::select()
                .column(Users::Id)
                .from(Users::Table)
                .and_where(Expr::col(Users::Id).eq(id))
                .and_where(Expr::col(Users::Disabled).eq(false)),
        )
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(DomainError::field("owner_id", "err-owner-unknown").into()),
    }
}

/// The values of the dictionary kinds a customer's coded fields use, as the dictionary holds
/// them now.
pub async fn dict_values(db: &Db) -> StoreResult<DictValues> {
    dict_values_of(
        db,
        &[
            kinds::LEVEL,
            kinds::REGION,
            kinds::INDUSTRY,
            kinds::SOURCE,
            kinds::CHANNEL,
        ],
    )
    .await
}

/// The values of the dictionary's `kinds` now.
pub async fn dict_values_of(db: &Db, kinds: &[&str]) -> StoreResult<DictValues> {
    let rows: Vec<(String, String)> = db
        .fetch_all(
            Query::select()
                .columns([Dictionary::Kind, Dictionary::Value])
                .from(Dictionary::Table)
                .and_where(Expr::col(Dictionary::Kind).is_in(kinds.iter().copied())),
        )
        .await?;
    Ok(DictValues::new(
        rows.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
}

/// Reserves `n` consecutive customer codes of `day` in one statement (an import batch);
/// returns the first sequence number. Locked like [`next_code`] until the transaction ends.
pub async fn reserve_codes(tx: &mut Tx, day: NaiveDate, n: i64) -> StoreResult<i64> {
    write::reserve_of_day(tx, CODES, day, n).await
}

/// The tag rows of many new customers at once (they have none yet).
pub async fn insert_tags(tx: &mut Tx, tagged: &[(i64, &BTreeSet<String>)]) -> StoreResult<()> {
    let rows: Vec<(i64, &str)> = tagged
        .iter()
        .flat_map(|(id, tags)| tags.iter().map(move |t| (*id, t.as_str())))
        .collect();
    for chunk in rows.chunks(5000) {
        let mut q = Query::insert()
            .into_table(CustomerTags::Table)
            .columns([CustomerTags::CustomerId, CustomerTags::Tag])
            .to_owned();
        for (id, tag) in chunk {
            q.values_panic([(*id).into(), (*tag).into()]);
        }
        tx.execute(&q).await?;
    }
    Ok(())
}

/// The entries `(kind, label, value)` of the dictionary kinds a customer uses: an import
/// accepts a coded column by value (`440000`) or by label (`广东省`).
pub async fn dict_entries(db: &Db) -> StoreResult<Vec<(String, String, String)>> {
    Ok(db
        .fetch_all(
            Query::select()
                .columns([Dictionary::Kind, Dictionary::Item, Dictionary::Value])
                .from(Dictionary::Table)
                .and_where(Expr::col(Dictionary::Kind).is_in([
                    kinds::LEVEL,
                    kinds::REGION,
                    kinds::INDUSTRY,
                    kinds::SOURCE,
                ])),
        )
        .await?)
}

/// The users who can manage customers (not disabled) as `(id, user name, display name)`: an
/// import names the account manager by either name.
pub async fn active_users(db: &Db) -> StoreResult<Vec<(i64, String, String)>> {
    Ok(db
        .fetch_all(
            Query::select()
                .columns([Users::Id, Users::Username, Users::DisplayName])
                .from(Users::Table)
                .and_where(Expr::col(Users::Disabled).eq(false)),
        )
        .await?)
}
