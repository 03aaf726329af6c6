//! What [`Db`](crate::db::Db) and [`Tx`](crate::db::Tx) run: any sea-query statement, built
//! with its limits written into the text, or a statement that builds its own text ([`Raw`],
//! [`Explain`]).
//!
//! A bound limit costs each run a new plan: SQLite (since 3.4x, unless built with the
//! planner's stability guarantee) expires its prepared statement on every new binding, and
//! PostgreSQL never settles on a generic plan for it (a generic plan assumes a tenth of the
//! rows wanted) and plans again on every execution: 1.5 ms of planning for the sales board's
//! 0.3 ms read at a million opportunities. So every `LIMIT n` and `OFFSET n` (a statement's
//! own and its subqueries') is written in; every other value stays bound. Limits are few, so
//! the statements the databases keep prepared stay few.

use sea_query::{QueryBuilder, QueryStatementWriter, SelectStatement, Value, Values};
use sea_query_sqlx::SqlxValues;

/// A statement to run: its text for `builder`'s dialect and the values bound to it.
pub trait Statement {
    fn sql<B: QueryBuilder>(&self, builder: B) -> (String, SqlxValues);
}

impl<S: QueryStatementWriter> Statement for S {
    fn sql<B: QueryBuilder>(&self, builder: B) -> (String, SqlxValues) {
        let (placeholder, numbered) = builder.placeholder();
        let mut w = LimitWriter {
            sql: String::with_capacity(256),
            values: Vec::new(),
            placeholder,
            numbered,
        };
        self.build_collect_into(builder, &mut w);
        (w.sql, SqlxValues(Values(w.values)))
    }
}

/// A statement given as text, without values (what sea-query does not build: the plans of
/// [`SearchStore::explain`](crate::search::SearchStore::explain)).
#[derive(Debug, Clone)]
pub struct Raw(pub String);

impl Statement for Raw {
    fn sql<B: QueryBuilder>(&self, _: B) -> (String, SqlxValues) {
        (self.0.clone(), SqlxValues(Values(Vec::new())))
    }
}

/// SQLite's `EXPLAIN QUERY PLAN` of a select, as it runs (limits written in): the rows are
/// `(id, parent, notused, detail)`. The stores' tests read it to check that a list reads an
/// index, never a whole table.
#[derive(Debug, Clone, Copy)]
pub struct Explain<'a>(pub &'a SelectStatement);

impl Statement for Explain<'_> {
    fn sql<B: QueryBuilder>(&self, builder: B) -> (String, SqlxValues) {
        let (sql, values) = self.0.sql(builder);
        (format!("EXPLAIN QUERY PLAN {sql}"), values)
    }
}

/// sea-query's parameter collector, except that an integer pushed right after `LIMIT ` or
/// `OFFSET ` is written as a literal.
struct LimitWriter {
    sql: String,
    values: Vec<Value>,
    placeholder: &'static str,
    numbered: bool,
}

impl std::fmt::Write for LimitWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.sql.push_str(s);
        Ok(())
    }
}

impl std::fmt::Display for LimitWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sql)
    }
}

impl sea_query::SqlWriter for LimitWriter {
    fn push_param<T: QueryBuilder>(&mut self, value: Value, _: &T) {
        use std::fmt::Write as _;
        let limit = self.sql.ends_with(" LIMIT ") || self.sql.ends_with(" OFFSET ");
        if let (true, Value::BigUnsigned(Some(n))) = (limit, &value) {
            let _ = write!(self.sql, "{n}");
            return;
        }
        self.sql.push_str(self.placeholder);
        self.values.push(value);
        if self.numbered {
            let _ = write!(self.sql, "{}", self.values.len());
        }
    }

    fn as_writer(&mut self) -> &mut dyn std::fmt::Write {
        self
    }
}

/// Column `(table, column)` as a value no index answers (`("table"."column" || '')`), for a
/// text column: a condition on it filters the rows another condition reads (an id range, a
/// join) instead of choosing the column's index. Without statistics SQLite takes an equality
/// on an indexed column for a handful of rows and walks that index: a loss scan's batch of
/// 20,000 customers by id read every active customer of the million through the status index
/// (150 ms a batch instead of 45).
pub fn unindexed<T: sea_query::Iden, C: sea_query::Iden>(
    (table, column): (T, C),
) -> sea_query::Expr {
    sea_query::Expr::cust(format!(
        "(\"{}\".\"{}\" || '')",
        table.unquoted(),
        column.unquoted()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use sea_query::{
        Alias, Asterisk, Expr, ExprTrait, PostgresQueryBuilder, Query, SqliteQueryBuilder,
        UnionType,
    };

    use super::*;

    fn part(name: &str, min: i64, limit: u64) -> SelectStatement {
        Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("t"))
            .and_where(Expr::col(Alias::new("name")).eq(name))
            .and_where(Expr::col(Alias::new("n")).gt(min))
            .limit(limit)
            .offset(limit * 2)
            .to_owned()
    }

    #[test]
    fn limits_are_written_in_and_the_other_values_stay_bound_in_order() {
        let mut q = Query::select()
            .column(Asterisk)
            .from_subquery(part("a", 5, 12), Alias::new("p0"))
            .to_owned();
        q.union(
            UnionType::All,
            Query::select()
                .column(Asterisk)
                .from_subquery(part("b", 6, 13), Alias::new("p1"))
                .to_owned(),
        );

        let (sql, values) = q.sql(PostgresQueryBuilder);

        assert!(sql.contains("LIMIT 12 OFFSET 24"), "{sql}");
        assert!(sql.contains("LIMIT 13 OFFSET 26"), "{sql}");
        let at: Vec<Option<usize>> = ["$1", "$2", "$3", "$4"]
            .iter()
            .map(|p| sql.find(p))
            .collect();
        assert!(at.iter().all(Option::is_some) && at.is_sorted(), "{sql}");
        assert!(!sql.contains("$5"), "{sql}");
        let bound: Vec<String> = values.0.0.iter().map(|v| format!("{v:?}")).collect();
        assert_eq!(bound.len(), 4, "{bound:?}");
        assert!(
            bound[0].contains("\"a\"") && bound[2].contains("\"b\""),
            "{bound:?}"
        );
        assert!(
            bound[1].contains('5') && bound[3].contains('6'),
            "{bound:?}"
        );

        let (sql, values) = q.sql(SqliteQueryBuilder);
        assert!(
            sql.contains("LIMIT 12 OFFSET 24") && !sql.contains('$'),
            "{sql}"
        );
        assert_eq!(values.0.0.len(), 4);
    }

    #[test]
    fn a_value_that_only_looks_like_a_limit_stays_bound() {
        // A text value " LIMIT " and an integer after it: the integer is a filter's value.
        let q = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("t"))
            .and_where(Expr::col(Alias::new("note")).eq(" LIMIT "))
            .and_where(Expr::col(Alias::new("n")).eq(7u64))
            .to_owned();

        let (sql, values) = q.sql(PostgresQueryBuilder);

        assert!(!sql.contains('7'), "{sql}");
        assert_eq!(values.0.0.len(), 2);
    }

    #[test]
    fn an_explained_select_keeps_its_values_bound() {
        let q = part("a", 5, 12);
        let (sql, values) = Explain(&q).sql(SqliteQueryBuilder);
        assert!(sql.starts_with("EXPLAIN QUERY PLAN SELECT"), "{sql}");
        assert!(sql.contains("LIMIT 12 OFFSET 24"), "{sql}");
        assert_eq!(values.0.0.len(), 2);
    }
}
