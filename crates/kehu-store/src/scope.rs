//! Scoped queries over owned tables: the one place the owner condition is added. An owned
//! store (records with an owner, e.g. API tokens) builds every SELECT, UPDATE and DELETE on
//! its table through one private builder made here from the caller's [`OwnerFilter`], so a
//! query that forgets the data scope cannot be written; a record outside the scope is simply
//! not there (`NotFound`, never "forbidden": no existence leak). The test at the bottom fails
//! when an owned table is queried any other way.

use kehu_domain::policy::OwnerFilter;
use sea_query::{
    DeleteStatement, Expr, ExprTrait, Iden, IntoIden, Query, SelectStatement, UpdateStatement,
};

/// An owned table: its name and the column holding the owner's user id.
#[derive(Debug, Clone, Copy)]
pub struct Owned<T> {
    pub table: T,
    pub owner: T,
}

/// A table whose rows belong to a record of another owned table (an order to its customer):
/// a row is in a scope when its parent is. `parents` is the parent store's statement of the
/// ids of its records in a scope, selected as `id` (made by that store's own scoped builder);
/// `parent_id` is the row's column naming its parent.
#[derive(Debug, Clone, Copy)]
pub struct OwnedVia<T> {
    pub table: T,
    pub parent_id: T,
    pub parents: fn(OwnerFilter) -> SelectStatement,
}

/// A table whose rows have two owners (a service: who took it, and its handler): a row is in
/// a scope when either column names the scope's user.
#[derive(Debug, Clone, Copy)]
pub struct OwnedByEither<T> {
    pub table: T,
    pub owner: T,
    pub also: T,
}

/// How a table's rows are owned: by a column of their own, by either of two, or through
/// their parent.
#[derive(Debug, Clone, Copy)]
pub enum Ownership<T> {
    Column(Owned<T>),
    Either(OwnedByEither<T>),
    Via(OwnedVia<T>),
}

impl<T> From<OwnedByEither<T>> for Ownership<T> {
    fn from(o: OwnedByEither<T>) -> Self {
        Self::Either(o)
    }
}

impl<T> From<Owned<T>> for Ownership<T> {
    fn from(o: Owned<T>) -> Self {
        Self::Column(o)
    }
}

impl<T> From<OwnedVia<T>> for Ownership<T> {
    fn from(o: OwnedVia<T>) -> Self {
        Self::Via(o)
    }
}

/// Who acts on a module's owned records: their data scope, their name in the audit log, and
/// whether they supervise the module's work (hold its supervising right, e.g.
/// `service.assign`), which its workflow asks.
#[derive(Debug, Clone)]
pub struct Acting {
    pub scope: OwnerFilter,
    pub actor: crate::audit::Actor,
    pub supervisor: bool,
}

impl Acting {
    pub fn of(
        user: &kehu_domain::Principal,
        actor: crate::audit::Actor,
        supervises: kehu_domain::Right,
    ) -> Self {
        Self {
            scope: user.owner_filter(),
            actor,
            supervisor: user.can(supervises),
        }
    }

    /// Their user id; 0 for the system, which acts for nobody.
    pub fn user_id(&self) -> i64 {
        self.actor.user_id.unwrap_or(0)
    }
}

/// Statements over an owned table that already carry the owner condition of `scope`.
#[derive(Debug, Clone, Copy)]
pub struct Scoped<T> {
    owned: Ownership<T>,
    scope: OwnerFilter,
}

impl<T: Iden + Copy + 'static> Scoped<T> {
    pub fn new(owned: impl Into<Ownership<T>>, scope: OwnerFilter) -> Self {
        Self {
            owned: owned.into(),
            scope,
        }
    }

    fn table(&self) -> T {
        match self.owned {
            Ownership::Column(o) => o.table,
            Ownership::Either(o) => o.table,
            Ownership::Via(o) => o.table,
        }
    }

    /// `owner = the scope's user` (or `parent_id IN (the parents in the scope)`), or nothing
    /// when the scope covers every record.
    fn condition(&self) -> Option<Expr> {
        let owner = self.scope.owner()?;
        Some(match self.owned {
            Ownership::Column(o) => Expr::col((o.table.into_iden(), o.owner.into_iden())).eq(owner),
            Ownership::Either(o) => Expr::col((o.table.into_iden(), o.owner.into_iden()))
                .eq(owner)
                .or(Expr::col((o.table.into_iden(), o.also.into_iden())).eq(owner)),
            Ownership::Via(o) => Expr::col((o.table.into_iden(), o.parent_id.into_iden()))
                .in_subquery((o.parents)(self.scope)),
        })
    }

    /// Like [`Scoped::select`], for a page read in a sort index's order: a row owned through
    /// its parent is checked by one probe of its parent (`EXISTS`), so the page walks the sort
    /// index and stops after a page. The `IN` of [`Scoped::select`] makes SQLite read and sort
    /// every row of the scope's parents first (measured: a manager's newest orders at a
    /// million orders, 200 ms against 2); counts and single rows want that one.
    pub fn select_walking(&self) -> SelectStatement {
        let Ownership::Via(o) = self.owned else {
            return self.select();
        };
        let mut q = Query::select().from(o.table).to_owned();
        if self.scope.owner().is_some() {
            let p = sea_query::Alias::new("scope_parent");
            let parent = Query::select()
                .expr(Expr::cust("1"))
                .from_subquery((o.parents)(self.scope), p.clone())
                .and_where(
                    Expr::col((p, sea_query::Alias::new("id")))
                        .equals((o.table.into_iden(), o.parent_id.into_iden())),
                )
                .to_owned();
            q.and_where(Expr::exists(parent));
        }
        q
    }

    /// For a page read in a sort's order of a table owned by either of two columns, with a
    /// scope that names a user: the scope as two arms, `owner = user` and `also = user AND NOT
    /// owner = user` (no row in both), to add the page's filters to and hand to
    /// [`crate::page::fetch_arms`] with [`Scoped::select_all`] as the page's own statement.
    /// Each arm walks its own column's index in the sort's order and stops after a page, where
    /// the `OR` of [`Scoped::select`] makes SQLite gather and sort every row of the user first
    /// (measured: an account manager's newest services at 200,000 services, 416 ms against
    /// 1). `None` for any other table or scope: read those with [`Scoped::select`].
    pub fn arms(&self) -> Option<[SelectStatement; 2]> {
        let Ownership::Either(o) = self.owned else {
            return None;
        };
        let user = self.scope.owner()?;
        let owner = || Expr::col((o.table.into_iden(), o.owner.into_iden()));
        let also = Expr::col((o.table.into_iden(), o.also.into_iden()));
        let arm = |c: Expr| Query::select().from(o.table).and_where(c).to_owned();
        Some([
            arm(owner().eq(user)),
            arm(also.eq(user).and(owner().ne(user))),
        ])
    }

    /// [`Scoped::select`] with the owner columns kept off their indexes (`owner + 0 = user`):
    /// for a filter that has an index of its own and leaves few rows (one customer's, the
    /// open ones), which the database then reads, checking the owner on each — where it
    /// would otherwise walk every row of the user's for the few the filter wants.
    pub fn select_unindexed(&self) -> SelectStatement {
        let mut q = Query::select().from(self.table()).to_owned();
        let Some(user) = self.scope.owner() else {
            return q;
        };
        // `owner + 0`: the same number, which neither database answers from an index. It and
        // the user written out, not bound: a statement with no value bound is planned once
        // per connection on PostgreSQL, where a bound user was planned on every request
        // (its plan for any user is not the one for a few rows).
        let plus = |t: T, c: T| Expr::col((t.into_iden(), c.into_iden())).add(Expr::cust("0"));
        let user = Expr::cust(user.to_string());
        match self.owned {
            Ownership::Column(o) => {
                q.and_where(plus(o.table, o.owner).eq(user));
            }
            Ownership::Either(o) => {
                q.and_where(
                    plus(o.table, o.owner)
                        .eq(user.clone())
                        .or(plus(o.table, o.also).eq(user)),
                );
            }
            Ownership::Via(_) => return self.select(),
        }
        q
    }

    /// `SELECT … FROM table` with no owner condition: the outer statement of a page read by
    /// [`Scoped::arms`] or [`Scoped::select_unindexed`] (`page::fetch_arms`), whose arms carry
    /// the scope (only with them: alone it reads every row).
    pub fn select_all(&self) -> SelectStatement {
        Query::select().from(self.table()).to_owned()
    }

    /// `SELECT … FROM table WHERE <scope>`: add columns, more conditions and order.
    pub fn select(&self) -> SelectStatement {
        let mut q = Query::select().from(self.table()).to_owned();
        if let Some(c) = self.condition() {
            q.and_where(c);
        }
        q
    }

    /// Makes `q` (a select built from this builder) lock the rows it reads of the owned table
    /// until the transaction ends — those only: a joined table may be on the nullable side of
    /// an outer join, which PostgreSQL does not lock.
    pub fn lock(&self, q: &mut SelectStatement) {
        q.lock_with_tables(sea_query::LockType::Update, [self.table()]);
    }

    /// `UPDATE table SET … WHERE <scope>`: add values and more conditions.
    pub fn update(&self) -> UpdateStatement {
        let mut q = Query::update().table(self.table()).to_owned();
        if let Some(c) = self.condition() {
            q.and_where(c);
        }
        q
    }

    /// `DELETE FROM table WHERE <scope>`: add more conditions.
    #[allow(
        dead_code,
        reason = "part of the kit; tokens are revoked, never deleted"
    )]
    pub fn delete(&self) -> DeleteStatement {
        let mut q = Query::delete().from_table(self.table()).to_owned();
        if let Some(c) = self.condition() {
            q.and_where(c);
        }
        q
    }
}

/// The test-time guard: every owned table, with the one store file that may query it. A new
/// owned store — in kehu-store or in a product module's crate — adds its row here (and builds
/// its statements through [`Scoped`]); the guard reads the sources of the whole workspace.
#[cfg(test)]
pub const OWNED_STORES: &[OwnedStore] = &[
    OwnedStore {
        iden: "ApiTokens",
        module: "kehu-store/src/tokens.rs",
    },
    OwnedStore {
        iden: "SavedFilters",
        module: "kehu-store/src/saved_filters.rs",
    },
    OwnedStore {
        iden: "SearchDocs",
        module: "kehu-store/src/search.rs",
    },
    OwnedStore {
        iden: "Customers",
        module: "modules/kehu-customers/src/store.rs",
    },
    OwnedStore {
        iden: "Orders",
        module: "modules/kehu-orders/src/store.rs",
    },
    OwnedStore {
        iden: "CustomerValues",
        module: "modules/kehu-customers/src/values.rs",
    },
    OwnedStore {
        iden: "OrderFigures",
        module: "modules/kehu-orders/src/figures.rs",
    },
    OwnedStore {
        iden: "Opportunities",
        module: "modules/kehu-sales/src/store.rs",
    },
    OwnedStore {
        iden: "OpportunityTotals",
        module: "modules/kehu-sales/src/pipeline.rs",
    },
    OwnedStore {
        iden: "Services",
        module: "modules/kehu-service/src/store.rs",
    },
    OwnedStore {
        iden: "Notices",
        module: "kehu-store/src/inbox.rs",
    },
    OwnedStore {
        iden: "LossRecords",
        module: "modules/kehu-loss/src/store.rs",
    },
];

/// Tables owned through a parent (a customer's interactions belong to the customer's manager),
/// with the one store file that may query them. Such a store builds no scoped builder of its
/// own: every select starts from its parent store's scoped select and joins the table onto it
/// (`inner_join(X::Table, …)`), so it reaches only rows of parents in the caller's scope.
#[cfg(test)]
pub const OWNED_THROUGH_PARENT: &[OwnedStore] = &[
    OwnedStore {
        iden: "Activities",
        module: "modules/kehu-customers/src/activities.rs",
    },
    OwnedStore {
        iden: "PlanItems",
        module: "modules/kehu-sales/src/plan.rs",
    },
    OwnedStore {
        iden: "ServiceSteps",
        module: "modules/kehu-service/src/steps.rs",
    },
    OwnedStore {
        iden: "LossMeasures",
        module: "modules/kehu-loss/src/measures.rs",
    },
];

#[cfg(test)]
#[derive(Debug)]
pub struct OwnedStore {
    /// The table's `Iden` enum in `schema.rs`.
    pub iden: &'static str,
    /// The store's file, relative to `crates/` (e.g. `modules/kehu-customers/src/store.rs`).
    /// Its crate's `schema.rs` and `migrations.rs` beside it may name the table too.
    pub module: &'static str,
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
mod tests {
    use super::*;
    use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    use crate::schema::ApiTokens;

    /// The source without its test module (tests may build whatever they like).
    fn code(src: &str) -> &str {
        src.find("#[cfg(test)]").map_or(src, |i| &src[..i])
    }

    /// What is wrong with how `src` (the owned store's module) queries its table `iden`.
    fn home_violations(iden: &str, src: &str) -> Vec<String> {
        violations(iden, src, false)
    }

    /// [`home_violations`], or for a table owned through its parent (`through`): no builder of
    /// its own, joins onto the parent's scoped select allowed.
    fn violations(iden: &str, src: &str, through: bool) -> Vec<String> {
        let src = code(src);
        let mut out = Vec::new();
        for q in ["Query::select()", "Query::update()", "Query::delete()"] {
            if src.contains(q) {
                out.push(format!("{q} outside the scoped builder"));
            }
        }
        let builders = src.matches("Scoped::new(").count();
        let expected = usize::from(!through);
        if builders != expected {
            out.push(format!("{builders} scoped builders, expected {expected}"));
        }
        let table = format!("{iden}::Table");
        let mut rest = src;
        while let Some(i) = rest.find(&table) {
            let before = rest[..i].trim_end();
            let after = rest[i + table.len()..].trim_start();
            // A qualified column, `(Customers::Table, Customers::Name)` (a store that joins
            // names its columns so), is no table to read from; `inner_join(Customers::Table,`
            // and `from(Customers::Table)` are.
            let column = before
                .strip_suffix('(')
                .is_some_and(|b| !b.ends_with(|c: char| c.is_alphanumeric() || c == '_'))
                && after.starts_with(',');
            let joined = through && before.ends_with("inner_join(");
            let allowed =
                before.ends_with("into_table(") || before.ends_with("table:") || column || joined;
            if !allowed {
                let line = rest[..i].rsplit('\n').next().unwrap_or_default();
                out.push(format!(
                    "{table} used outside the builder: `{}…`",
                    line.trim()
                ));
            }
            rest = &rest[i + table.len()..];
        }
        out
    }

    /// Modules other than the store, the schema and the migrations must not name the table.
    fn stray_use(iden: &str, src: &str) -> bool {
        code(src).contains(&format!("{iden}::"))
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target") {
                    rust_files(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn every_owned_table_is_queried_only_through_its_stores_scoped_builder() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let mut files = Vec::new();
        rust_files(crates, &mut files);
        assert!(files.len() > 20, "the workspace's sources were not found");
        let store_src = crates.join("kehu-store").join("src");
        let mut problems = Vec::new();
        let rows = OWNED_STORES.iter().map(|o| (o, false));
        for (o, through) in rows.chain(OWNED_THROUGH_PARENT.iter().map(|o| (o, true))) {
            let home = crates.join(o.module);
            let src = std::fs::read_to_string(&home).unwrap();
            problems.extend(
                violations(o.iden, &src, through)
                    .into_iter()
                    .map(|v| format!("{}: {v}", o.module)),
            );
            for f in &files {
                let beside = |name: &str| home.parent().is_some_and(|d| *f == d.join(name));
                let allowed = *f == home
                    || beside("schema.rs")
                    || beside("migrations.rs")
                    || *f == store_src.join("schema.rs")
                    || *f == store_src.join("migrations.rs")
                    || *f == store_src.join("scope.rs");
                if !allowed && stray_use(o.iden, &std::fs::read_to_string(f).unwrap()) {
                    problems.push(format!(
                        "{} names {} outside its store",
                        f.display(),
                        o.iden
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn the_guard_catches_an_unscoped_query() {
        let unscoped = r#"
            fn builder(s: OwnerFilter) -> Scoped<ApiTokens> { Scoped::new(Owned { table: ApiTokens::Table, owner: ApiTokens::UserId }, s) }
            async fn leak() { Query::select().from(ApiTokens::Table); }
            async fn ok() { Query::insert().into_table(ApiTokens::Table); }
        "#;
        let v = home_violations("ApiTokens", unscoped);
        assert_eq!(v.len(), 2, "{v:?}");
        let joins = r#"
            fn builder(s: OwnerFilter) -> Scoped<ApiTokens> { Scoped::new(Owned { table: ApiTokens::Table, owner: ApiTokens::UserId }, s) }
            fn cols(q: &mut SelectStatement) { q.column((ApiTokens::Table, ApiTokens::Id)); Expr::col((ApiTokens::Table, ApiTokens::Name)); }
            fn leak(q: &mut SelectStatement) { q.inner_join(ApiTokens::Table, c); q.from(ApiTokens::Table); }
        "#;
        let v = home_violations("ApiTokens", joins);
        assert_eq!(
            v.len(),
            2,
            "qualified columns pass, joins and froms do not: {v:?}"
        );
        let through = r#"
            fn cols(q: &mut SelectStatement) { parent(s).inner_join(ApiTokens::Table, c); }
            fn leak(q: &mut SelectStatement) { q.from(ApiTokens::Table); }
        "#;
        let v = violations("ApiTokens", through, true);
        assert_eq!(
            v.len(),
            1,
            "a child joins its parent, never reads alone: {v:?}"
        );
        assert_eq!(
            violations("ApiTokens", joins, true).len(),
            2,
            "nor builds its own"
        );
        let two_builders = "Scoped::new(a, s); Scoped::new(b, s);";
        assert_eq!(home_violations("ApiTokens", two_builders).len(), 1);
        assert!(stray_use("ApiTokens", "q.from(ApiTokens::Table)"));
        assert!(!stray_use(
            "ApiTokens",
            "#[cfg(test)] q.from(ApiTokens::Table)"
        ));
    }

    /// The owner filter of user `user_id`'s own records: a principal's `own_records()` is how
    /// an owner filter for one user comes to be.
    fn own_records_of(user_id: i64) -> OwnerFilter {
        let p = kehu_domain::Principal {
            user_id,
            username: "li".into(),
            display_name: "李".into(),
            role_id: 3,
            role_name: "r".into(),
            rights: Default::default(),
            scope: kehu_domain::DataScope::All,
            must_change_password: false,
            language: None,
        };
        p.own_records()
    }

    const TOKENS: Owned<ApiTokens> = Owned {
        table: ApiTokens::Table,
        owner: ApiTokens::UserId,
    };

    #[test]
    fn every_statement_carries_the_owner_condition_unless_the_scope_is_everything() {
        let mine = Scoped::new(TOKENS, OwnerFilter::system());
        let all = mine
            .select()
            .column(ApiTokens::Id)
            .to_string(SqliteQueryBuilder);
        assert!(!all.contains("WHERE"), "{all}");
        let own = Scoped::new(TOKENS, own_records_of(42));
        let sql = [
            own.select()
                .column(ApiTokens::Id)
                .to_string(PostgresQueryBuilder),
            own.update()
                .value(ApiTokens::Name, "x")
                .to_string(PostgresQueryBuilder),
            own.delete().to_string(PostgresQueryBuilder),
        ];
        for s in sql {
            assert!(s.contains(r#"WHERE "api_tokens"."user_id" = 42"#), "{s}");
        }
    }

    #[test]
    fn a_table_owned_through_its_parent_is_scoped_by_the_parents_in_the_scope() {
        // Stand-ins: tokens as the parent, a token's `user_id` as the row's parent id.
        fn parents(scope: OwnerFilter) -> SelectStatement {
            Scoped::new(TOKENS, scope)
                .select()
                .column((ApiTokens::Table, ApiTokens::Id))
                .to_owned()
        }
        let via = OwnedVia {
            table: ApiTokens::Table,
            parent_id: ApiTokens::UserId,
            parents,
        };
        let all = Scoped::new(via, OwnerFilter::system())
            .select()
            .column(ApiTokens::Id)
            .to_string(SqliteQueryBuilder);
        assert!(!all.contains("WHERE"), "{all}");
        let own = Scoped::new(via, own_records_of(7));
        let sql = [
            own.select()
                .column(ApiTokens::Id)
                .to_string(PostgresQueryBuilder),
            own.update()
                .value(ApiTokens::Name, "x")
                .to_string(PostgresQueryBuilder),
            own.delete().to_string(PostgresQueryBuilder),
        ];
        for s in sql {
            assert!(
                s.contains(r#""api_tokens"."user_id" IN (SELECT "api_tokens"."id" FROM "api_tokens" WHERE "api_tokens"."user_id" = 7)"#),
                "{s}"
            );
        }
        let walking = own
            .select_walking()
            .column(ApiTokens::Id)
            .to_string(PostgresQueryBuilder);
        assert!(
            walking.contains(r#"WHERE EXISTS(SELECT 1 FROM (SELECT "api_tokens"."id" FROM "api_tokens" WHERE "api_tokens"."user_id" = 7) AS "scope_parent" WHERE "scope_parent"."id" = "api_tokens"."user_id")"#),
            "{walking}"
        );
        let everything = Scoped::new(via, OwnerFilter::system())
            .select_walking()
            .column(ApiTokens::Id)
            .to_string(PostgresQueryBuilder);
        assert!(!everything.contains("WHERE"), "{everything}");
    }
}
