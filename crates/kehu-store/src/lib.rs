//! kehu's storage layer: one store per aggregate over SQLite or PostgreSQL, one migration tree,
//! and the seed data. Queries are built with sea-query and rendered per backend; the few true
//! dialect differences (advisory locks) are explicit branches.

pub mod audit;
pub mod cache;
pub mod db;
pub mod dictionary;
pub mod error;
pub mod inbox;
pub mod jobs;
pub mod migrations;
pub mod notify;
pub mod page;
pub mod passwords;
pub mod roles;
pub mod saved_filters;
pub mod schema;
pub mod scope;
pub mod search;
pub mod seed;
pub mod sessions;
pub mod statement;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod write;

/// The query builder the stores and migrations use, for module crates to build theirs with the
/// same version.
pub use sea_query;

pub use audit::{Actor, AuditStore};
pub use db::{Backend, Db};
pub use dictionary::DictionaryStore;
pub use error::{StoreError, StoreResult};
pub use page::{Page, PageRequest};
pub use roles::RoleStore;
pub use saved_filters::SavedFilterStore;
pub use search::SearchStore;
pub use sessions::SessionStore;
pub use throttle::ThrottleStore;
pub use tokens::TokenStore;
pub use users::UserStore;
pub use write::LastChange;

/// Every store over one database handle.
#[derive(Clone, Debug)]
pub struct Store {
    pub db: Db,
    pub users: UserStore,
    pub roles: RoleStore,
    pub dictionary: DictionaryStore,
    pub audit: AuditStore,
    pub sessions: SessionStore,
    pub tokens: TokenStore,
    pub saved_filters: SavedFilterStore,
    pub throttle: ThrottleStore,
    pub search: SearchStore,
    pub inbox: inbox::InboxStore,
    pub jobs: jobs::JobStore,
}

impl Store {
    pub fn new(db: Db) -> Self {
        let notifier = notify::Notifier::new(&db);
        let auth = cache::AuthCache::new(notifier.clone());
        let dictionary = DictionaryStore::new(db.clone(), notifier.clone());
        // Another instance changed users, roles, tokens or the dictionary: forget them here.
        let (a, d) = (auth.clone(), dictionary.clone());
        notifier.spawn_listener(move || {
            a.clear_local();
            d.forget_local();
        });
        Self {
            users: UserStore::new(db.clone(), auth.clone()),
            roles: RoleStore::new(db.clone(), auth.clone()),
            dictionary,
            audit: AuditStore::new(db.clone()),
            sessions: SessionStore::new(db.clone()),
            tokens: TokenStore::new(db.clone(), auth),
            saved_filters: SavedFilterStore::new(db.clone()),
            throttle: ThrottleStore::new(db.clone()),
            search: SearchStore::new(db.clone()),
            inbox: inbox::InboxStore::new(db.clone()),
            jobs: jobs::JobStore::new(db.clone()),
            db,
        }
    }

    /// Connects, migrates and seeds: what `serve` does before it listens.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, db::DbOptions::default()).await
    }

    /// [`Store::open`] with options (e.g. SQLite's durability).
    pub async fn open_with(url: &str, options: db::DbOptions) -> anyhow::Result<Self> {
        Self::open_with_migrations(url, options, &[]).await
    }

    /// [`Store::open_with`], also applying the product modules' migrations (after the
    /// platform's). The modules' seeds run in the web layer, once the store is open.
    pub async fn open_with_migrations(
        url: &str,
        options: db::DbOptions,
        modules: &[migrations::Migration],
    ) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let db = Db::connect_with(url, options).await?;
        migrations::migrate_with(&db, modules)
            .await
            .context("migrating the database")?;
        seed::seed(&db).await.context("seeding the database")?;
        Ok(Self::new(db))
    }
}
