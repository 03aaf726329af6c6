//! The state every handler shares: the stores, the configuration, the metrics. It lives apart
//! from the router (`app.rs`) so handlers import it without importing the application.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kehu_domain::Principal;
use kehu_store::write::{Dependents, Reaction};
use kehu_store::{Store, StoreResult};

use crate::config::Config;
use crate::import::ImportKind;
use crate::jobs::ScheduledJob;
use crate::metrics::Metrics;
use crate::module::{Modules, RecordPanel, Searchable};
use crate::nav::NavEntry;

/// State shared by every handler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub store: Store,
    pub config: Config,
    pub metrics: Metrics,
    /// The navigation of the modules the application runs, in order.
    pub nav: Arc<[NavEntry]>,
    /// What the modules index for the header search, in order.
    pub searchables: Arc<[Searchable]>,
    /// The modules' panels on each other's record pages, in order (`module::record_panels`).
    pub panels: Arc<[RecordPanel]>,
    /// What the modules hang off each other's records (see [`AppState::dependents_of`]).
    pub dependents: Arc<[Dependents]>,
    /// What the modules do on each other's events (see [`AppState::reactions_to`]).
    pub reactions: Arc<[Reaction]>,
    /// The kinds of files the modules import, in order (the import page's choice).
    pub imports: Arc<[ImportKind]>,
    /// The modules' scheduled jobs (see [`crate::jobs`]).
    pub scheduled: Arc<[ScheduledJob]>,
    /// When each API token's `last_used_at` was last written, to write it once a minute.
    token_use: Mutex<HashMap<i64, Instant>>,
}

/// What the modules contribute to the state besides navigation.
#[derive(Default)]
struct Parts {
    searchables: Vec<Searchable>,
    panels: Vec<RecordPanel>,
    dependents: Vec<Dependents>,
    reactions: Vec<Reaction>,
    imports: Vec<ImportKind>,
    scheduled: Vec<ScheduledJob>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// State without navigation (tests that mount bare routes).
    pub fn new(store: Store, config: Config) -> Self {
        Self::with_nav(store, config, Vec::new())
    }

    pub fn with_nav(store: Store, config: Config, nav: Vec<NavEntry>) -> Self {
        Self::with_parts(store, config, nav, Parts::default())
    }

    /// The state of an application running `modules`: their navigation, searchables and
    /// record panels.
    pub fn with_modules(store: Store, config: Config, modules: &Modules) -> Self {
        let parts = Parts {
            searchables: modules.searchables(),
            panels: modules.panels(),
            dependents: modules.dependents(),
            reactions: modules.reactions(),
            imports: modules.imports(),
            scheduled: modules.scheduled(),
        };
        Self::with_parts(store, config, modules.nav(), parts)
    }

    fn with_parts(store: Store, config: Config, nav: Vec<NavEntry>, parts: Parts) -> Self {
        Self(Arc::new(Inner {
            store,
            config,
            metrics: Metrics::new(),
            nav: nav.into(),
            searchables: parts.searchables.into(),
            panels: parts.panels.into(),
            dependents: parts.dependents.into(),
            reactions: parts.reactions.into(),
            imports: parts.imports.into(),
            scheduled: parts.scheduled.into(),
            token_use: Mutex::new(HashMap::new()),
        }))
    }

    /// What other modules hang off a record of kind `record` (`customer`): a delete for good
    /// of one is refused while any of them has some (`kehu_store::write::refuse_with_dependents`).
    pub fn dependents_of(&self, record: &str) -> Vec<Dependents> {
        self.dependents
            .iter()
            .filter(|d| d.record == record)
            .copied()
            .collect()
    }

    /// What the modules do in the transaction of `event` (`kehu_store::write::react`).
    pub fn reactions_to(&self, event: &str) -> Arc<[Reaction]> {
        self.reactions
            .iter()
            .filter(|r| r.event == event)
            .copied()
            .collect()
    }

    /// The kinds of files `user` may import: those whose right they hold.
    pub fn imports_for(&self, user: &Principal) -> Vec<ImportKind> {
        self.imports
            .iter()
            .filter(|k| user.can(k.right))
            .copied()
            .collect()
    }

    /// The kinds of indexed records `user` may find: those whose right they hold.
    pub fn searchables_for(&self, user: &Principal) -> Vec<Searchable> {
        self.searchables
            .iter()
            .filter(|s| user.can(s.right))
            .copied()
            .collect()
    }

    /// The user as the policy sees them, or `None` when missing or disabled.
    pub async fn principal(&self, user_id: i64) -> StoreResult<Option<Principal>> {
        self.store.users.principal(user_id).await
    }

    pub async fn note_token_use(&self, token_id: i64) -> StoreResult<()> {
        let due = {
            let mut map = self.token_use.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            match map.get(&token_id) {
                Some(t) if now.duration_since(*t) < Duration::from_secs(60) => false,
                _ => {
                    map.insert(token_id, now);
                    true
                }
            }
        };
        if due {
            self.store.tokens.mark_used(token_id).await?;
        }
        Ok(())
    }
}
