//! The module kit: a [`Module`] is everything one product area contributes to the application —
//! page routes, API routes with their part of the OpenAPI document, the rights it defines, its
//! navigation entries, its migrations, its seed and its background jobs. The binary lists the
//! modules it runs ([`Modules`]); the router, the navigation and the OpenAPI document are built
//! from that list, so adding a module never edits the platform.
//!
//! The platform's own modules are in `platform.rs`; a product module is a crate under
//! `crates/modules/` that exports one `Module` (see ARCHITECTURE.md).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use kehu_domain::Right;
use kehu_store::Store;
use kehu_store::migrations::Migration;
use kehu_store::write::{Dependents, Reaction};
use utoipa::OpenApi as _;

use crate::config::Config;
use crate::context::Ctx;
use crate::error::AppError;
use crate::import::ImportKind;
use crate::jobs::ScheduledJob;
use crate::nav::NavEntry;
use crate::state::AppState;
use kehu_domain::Principal;

/// A boxed future that can move between threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Adds what the module needs to a database (dictionary kinds, default records). Runs at every
/// start, after the platform's seed and every migration, so it must only add what is missing.
pub type Seed = for<'a> fn(&'a Store) -> BoxFuture<'a, anyhow::Result<()>>;

/// Work done now and then while the server runs (purging expired rows, reminders). Every kehu
/// process runs it, so it must be safe to run concurrently (idempotent deletes, locked claims).
#[derive(Clone, Copy)]
pub struct Job {
    pub name: &'static str,
    /// The first run comes one period after start: starting is busy enough.
    pub every: Duration,
    pub run: fn(AppState) -> BoxFuture<'static, anyhow::Result<()>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("every", &self.every)
            .finish()
    }
}

/// A section one module adds to another module's record page (the orders on the customer
/// page), without the page's crate depending on it: the page asks the application for the
/// panels of its `record` kind and shows those that render, smallest `order` first.
#[derive(Clone, Copy)]
pub struct RecordPanel {
    /// The kind of record page, e.g. `customer`.
    pub record: &'static str,
    /// Where it goes among the page's panels, smallest first.
    pub order: u16,
    /// Renders the panel for the record with this id, for this user. `None`: nothing to show
    /// (e.g. the user lacks the module's right). The record page has already found the record
    /// in the user's scope; the panel reads its own data within that scope too.
    pub render: PanelRender,
}

/// See [`RecordPanel::render`].
pub type PanelRender = for<'a> fn(
    &'a AppState,
    &'a Principal,
    &'a Ctx,
    i64,
) -> BoxFuture<'a, Result<Option<Panel>, AppError>>;

impl std::fmt::Debug for RecordPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordPanel")
            .field("record", &self.record)
            .field("order", &self.order)
            .finish_non_exhaustive()
    }
}

/// One rendered panel of a record page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    /// The section's HTML id (`orders`), unique on the page: the tab links to `#<id>`.
    pub id: &'static str,
    /// Its heading, in the user's language.
    pub title: String,
    /// How many records it stands for (the tab shows it), when that is known.
    pub count: Option<u64>,
    /// The section's content: HTML the module rendered and escaped (askama), shown as is.
    pub body_html: String,
    /// Where the whole list is, when the panel shows only the latest few.
    pub more_href: Option<String>,
}

/// The panels of record `id` of kind `record` for this user, in order, those that render.
pub async fn record_panels(
    state: &AppState,
    user: &Principal,
    ctx: &Ctx,
    record: &str,
    id: i64,
) -> Result<Vec<Panel>, AppError> {
    let mut out = Vec::new();
    for p in state.panels.iter().filter(|p| p.record == record) {
        if let Some(panel) = (p.render)(state, user, ctx, id).await? {
            out.push(panel);
        }
    }
    Ok(out)
}

/// What one module contributes. Built with [`Module::new`] and the builder methods.
#[derive(Clone)]
pub struct Module {
    name: &'static str,
    pages: Router<AppState>,
    api: Router<AppState>,
    openapi: Option<utoipa::openapi::OpenApi>,
    rights: &'static [Right],
    nav: Vec<NavEntry>,
    migrations: &'static [Migration],
    seed: Option<Seed>,
    jobs: Vec<Job>,
    searchables: Vec<Searchable>,
    panels: Vec<RecordPanel>,
    dependents: Vec<Dependents>,
    reactions: Vec<Reaction>,
    imports: Vec<ImportKind>,
    scheduled: Vec<ScheduledJob>,
}

/// A kind of record a module writes into the search index (`kehu_store::search`), and how
/// the header search and `GET /api/v1/search` show its hits without knowing the module: the
/// section's title, the right a user needs to see any of them, and where a hit opens.
#[derive(Clone, Copy)]
pub struct Searchable {
    /// The index's entity (`customer`, `contact`): lower-case letters and `_`.
    pub entity: &'static str,
    /// The Fluent key of the hits' section title (`search-customers`).
    pub label: &'static str,
    /// Without it a user sees none of these hits.
    pub right: Right,
    /// The page of record `id`.
    pub href: fn(i64) -> String,
}

impl std::fmt::Debug for Searchable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Searchable")
            .field("entity", &self.entity)
            .field("label", &self.label)
            .field("right", &self.right)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("rights", &self.rights)
            .field("nav", &self.nav)
            .field("migrations", &self.migrations)
            .field("jobs", &self.jobs)
            .field("searchables", &self.searchables)
            .field("panels", &self.panels)
            .finish_non_exhaustive()
    }
}

impl Module {
    /// An empty module named `name` (snake_case, unique among the modules the binary runs).
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            pages: Router::new(),
            api: Router::new(),
            openapi: None,
            rights: &[],
            nav: Vec::new(),
            migrations: &[],
            seed: None,
            jobs: Vec::new(),
            searchables: Vec::new(),
            panels: Vec::new(),
            dependents: Vec::new(),
            reactions: Vec::new(),
            imports: Vec::new(),
            scheduled: Vec::new(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Server-rendered pages (merged with earlier calls).
    pub fn pages(mut self, routes: Router<AppState>) -> Self {
        self.pages = self.pages.merge(routes);
        self
    }

    /// API routes under `/api/v1` and their part of the OpenAPI document (paths, schemas,
    /// tags: usually a `#[derive(utoipa::OpenApi)]` of the module's handlers). Merged with
    /// earlier calls.
    pub fn api(mut self, routes: Router<AppState>, doc: utoipa::openapi::OpenApi) -> Self {
        self.api = self.api.merge(routes);
        match &mut self.openapi {
            Some(d) => d.merge(doc),
            None => self.openapi = Some(doc),
        }
        self
    }

    /// The rights the module defines (their labels are `right-<code>` in the Fluent files).
    pub fn rights(mut self, rights: &'static [Right]) -> Self {
        self.rights = rights;
        self
    }

    /// A navigation entry.
    pub fn nav(mut self, entry: NavEntry) -> Self {
        self.nav.push(entry);
        self
    }

    /// The module's migrations, run after the platform's, in order.
    pub fn migrations(mut self, migrations: &'static [Migration]) -> Self {
        self.migrations = migrations;
        self
    }

    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    pub fn job(mut self, job: Job) -> Self {
        self.jobs.push(job);
        self
    }

    /// A job run on a schedule by one instance at a time, with its runs recorded (see
    /// [`crate::jobs`]).
    pub fn scheduled(mut self, job: ScheduledJob) -> Self {
        self.scheduled.push(job);
        self
    }

    /// A kind of record the module indexes for the header search (sections in the order
    /// declared, modules in their order).
    pub fn searchable(mut self, s: Searchable) -> Self {
        self.searchables.push(s);
        self
    }

    /// A panel on another module's record page (see [`RecordPanel`]).
    pub fn panel(mut self, panel: RecordPanel) -> Self {
        self.panels.push(panel);
        self
    }

    /// Records of this module that hang off another module's record (orders off a customer):
    /// while there are some, that record cannot be deleted for good.
    pub fn dependents(mut self, d: Dependents) -> Self {
        self.dependents.push(d);
        self
    }

    /// What the module does in the transaction of an event on another module's record (see
    /// `kehu_store::write::Reaction`).
    pub fn reaction(mut self, r: Reaction) -> Self {
        self.reactions.push(r);
        self
    }

    /// A kind of file the module imports, on the kit's import page (see [`ImportKind`]).
    pub fn import(mut self, kind: ImportKind) -> Self {
        self.imports.push(kind);
        self
    }
}

/// Refuses two modules whose OpenAPI documents name different schemas alike: merged, one
/// would silently stand for both (the service's `SettingsOut` answered for the loss
/// settings, and a client built from the document read the wrong fields). The same schema
/// (a kit type both use, `Problem`) may appear in several.
fn same_schemas(modules: &[Module]) -> anyhow::Result<()> {
    let mut seen: std::collections::HashMap<String, (serde_json::Value, &str)> =
        std::collections::HashMap::new();
    let mut clashes = Vec::new();
    for m in modules {
        let Some(components) = m.openapi.as_ref().and_then(|d| d.components.as_ref()) else {
            continue;
        };
        for (name, schema) in &components.schemas {
            let schema = serde_json::to_value(schema)?;
            match seen.get(name) {
                Some((other, by)) if *other != schema => {
                    clashes.push(format!("{name:?} ({by}, {})", m.name));
                }
                Some(_) => {}
                None => {
                    seen.insert(name.clone(), (schema, m.name));
                }
            }
        }
    }
    if !clashes.is_empty() {
        anyhow::bail!(
            "modules name different API schemas alike, rename one of each: {}",
            clashes.join(", ")
        );
    }
    Ok(())
}

/// The modules an application runs, checked to fit together: names, rights, navigation
/// targets, migration versions, search entities and import kinds are each claimed once.
#[derive(Clone, Debug)]
pub struct Modules(Vec<Module>);

impl Modules {
    pub fn new(modules: Vec<Module>) -> anyhow::Result<Self> {
        fn once<T: PartialEq + std::fmt::Debug>(
            what: &str,
            items: Vec<(T, &str)>,
        ) -> anyhow::Result<()> {
            for (i, (item, module)) in items.iter().enumerate() {
                if let Some((_, other)) = items[..i].iter().find(|(x, _)| x == item) {
                    anyhow::bail!(
                        "{what} {item:?} is claimed by both module {other} and module {module}"
                    );
                }
            }
            Ok(())
        }
        once(
            "the name",
            modules.iter().map(|m| (m.name, m.name)).collect(),
        )?;
        once(
            "the right",
            modules
                .iter()
                .flat_map(|m| m.rights.iter().map(move |r| (*r, m.name)))
                .collect(),
        )?;
        once(
            "the navigation entry",
            modules
                .iter()
                .flat_map(|m| m.nav.iter().map(move |n| (n.href, m.name)))
                .collect(),
        )?;
        once(
            "migration version",
            modules
                .iter()
                .flat_map(|m| m.migrations.iter().map(move |x| (x.version, m.name)))
                .collect(),
        )?;
        once(
            "the search entity",
            modules
                .iter()
                .flat_map(|m| m.searchables.iter().map(move |s| (s.entity, m.name)))
                .collect(),
        )?;
        once(
            "the import kind",
            modules
                .iter()
                .flat_map(|m| m.imports.iter().map(move |k| (k.code, m.name)))
                .collect(),
        )?;
        same_schemas(&modules)?;
        Ok(Self(modules))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Module> {
        self.0.iter()
    }

    /// Every module's pages and API routes, in one router.
    pub fn router(&self) -> Router<AppState> {
        self.0.iter().fold(Router::new(), |r, m| {
            r.merge(m.pages.clone()).merge(m.api.clone())
        })
    }

    /// The navigation, in order.
    pub fn nav(&self) -> Vec<NavEntry> {
        let mut nav: Vec<NavEntry> = self.0.iter().flat_map(|m| m.nav.iter().copied()).collect();
        nav.sort_by_key(|n| n.order);
        nav
    }

    /// The OpenAPI document: the API's common part (info, security, problem schemas) with
    /// every module's paths, schemas and tags merged in.
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        let mut doc = crate::api::ApiDoc::openapi();
        for d in self.0.iter().filter_map(|m| m.openapi.clone()) {
            doc.merge(d);
        }
        doc
    }

    /// Every right the modules define, in module order.
    pub fn rights(&self) -> Vec<Right> {
        self.0
            .iter()
            .flat_map(|m| m.rights.iter().copied())
            .collect()
    }

    /// The modules' migrations, in module order.
    pub fn migrations(&self) -> Vec<Migration> {
        self.0
            .iter()
            .flat_map(|m| m.migrations.iter().copied())
            .collect()
    }

    /// What the modules index for the header search, in module order.
    pub fn searchables(&self) -> Vec<Searchable> {
        self.0
            .iter()
            .flat_map(|m| m.searchables.iter().copied())
            .collect()
    }

    /// Every module's record panels, in order within each record kind.
    pub fn panels(&self) -> Vec<RecordPanel> {
        let mut panels: Vec<RecordPanel> = self
            .0
            .iter()
            .flat_map(|m| m.panels.iter().copied())
            .collect();
        panels.sort_by_key(|p| (p.record, p.order));
        panels
    }

    /// What every module hangs off other modules' records, in module order.
    pub fn imports(&self) -> Vec<ImportKind> {
        self.0
            .iter()
            .flat_map(|m| m.imports.iter().copied())
            .collect()
    }

    pub fn dependents(&self) -> Vec<Dependents> {
        self.0
            .iter()
            .flat_map(|m| m.dependents.iter().copied())
            .collect()
    }

    /// Every module's reactions to events, in module order.
    pub fn reactions(&self) -> Vec<Reaction> {
        self.0
            .iter()
            .flat_map(|m| m.reactions.iter().copied())
            .collect()
    }

    pub fn jobs(&self) -> Vec<Job> {
        self.0.iter().flat_map(|m| m.jobs.iter().copied()).collect()
    }

    pub fn scheduled(&self) -> Vec<ScheduledJob> {
        self.0
            .iter()
            .flat_map(|m| m.scheduled.iter().copied())
            .collect()
    }

    /// Connects, migrates (the platform, then the modules), seeds (the platform, then each
    /// module): what every command does before it works on the database.
    pub async fn open_store(&self, config: &Config) -> anyhow::Result<Store> {
        let store =
            Store::open_with_migrations(&config.db_url(), config.db_options(), &self.migrations())
                .await?;
        self.seed(&store).await?;
        Ok(store)
    }

    /// Runs each module's seed, in module order.
    pub async fn seed(&self, store: &Store) -> anyhow::Result<()> {
        for m in &self.0 {
            if let Some(seed) = m.seed {
                seed(store)
                    .await
                    .with_context(|| format!("seeding module {}", m.name))?;
            }
        }
        Ok(())
    }
}

/// Runs `job` every period for as long as the server runs; a failed run is logged and the job
/// tries again next period.
pub(crate) async fn run_periodically(job: Job, state: AppState) {
    let first = tokio::time::Instant::now() + job.every;
    let mut tick = tokio::time::interval_at(first, job.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = (job.run)(state.clone()).await {
            tracing::warn!(job = job.name, error = %format!("{e:#}"), "background job failed");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// A module whose API document has one schema, `name`, an object with `field`.
    fn with_schema(module: &'static str, name: &str, field: &str) -> Module {
        use utoipa::openapi::{ComponentsBuilder, ObjectBuilder, OpenApiBuilder, Type};
        let schema =
            ObjectBuilder::new().property(field, ObjectBuilder::new().schema_type(Type::String));
        let doc = OpenApiBuilder::new()
            .components(Some(ComponentsBuilder::new().schema(name, schema).build()))
            .build();
        Module::new(module).api(Router::new(), doc)
    }

    #[test]
    fn two_modules_may_not_name_different_api_schemas_alike() {
        let clash = Modules::new(vec![
            with_schema("sales", "AssignBody", "user_id"),
            with_schema("service", "AssignBody", "assignee_id"),
        ])
        .unwrap_err();
        assert!(
            clash
                .to_string()
                .contains("\"AssignBody\" (sales, service)"),
            "{clash}"
        );
        // The same schema twice (a kit type both use) is fine.
        Modules::new(vec![
            with_schema("a", "Problem", "code"),
            with_schema("b", "Problem", "code"),
        ])
        .unwrap();
    }

    #[test]
    fn the_platforms_navigation_is_in_order_and_gated_by_its_rights() {
        let modules = Modules::new(crate::platform::modules()).unwrap();
        let nav: Vec<(&str, Option<Right>)> =
            modules.nav().iter().map(|n| (n.href, n.right)).collect();
        assert_eq!(
            nav,
            [
                ("/", None),
                ("/users", Some(Right::SystemUsers)),
                ("/roles", Some(Right::SystemRoles)),
                ("/dictionary", Some(Right::SystemDictionary)),
                ("/audit", Some(Right::SystemAudit)),
                ("/jobs", Some(Right::SystemJobs)),
                ("/api/docs", None),
            ]
        );
        assert_eq!(
            modules.rights(),
            [
                Right::SystemUsers,
                Right::SystemRoles,
                Right::SystemDictionary,
                Right::SystemAudit,
                Right::SystemJobs
            ]
        );
    }

    #[test]
    fn every_navigation_label_is_translated() {
        let modules = Modules::new(crate::platform::modules()).unwrap();
        for lang in [
            kehu_domain::user::Language::ZhCn,
            kehu_domain::user::Language::En,
        ] {
            let tr = crate::i18n::Tr::new(lang);
            for n in modules.nav() {
                assert!(tr.has(n.key), "{} has no {lang:?} label", n.key);
            }
        }
    }

    fn panel<'a>(
        _: &'a AppState,
        _: &'a Principal,
        _: &'a Ctx,
        _: i64,
    ) -> BoxFuture<'a, Result<Option<Panel>, AppError>> {
        Box::pin(async { Ok(None) })
    }

    #[test]
    fn record_panels_come_in_order_whatever_the_module_order() {
        let p = |record, order| RecordPanel {
            record,
            order,
            render: panel,
        };
        let modules = Modules::new(vec![
            Module::new("orders").panel(p("customer", 20)),
            Module::new("services")
                .panel(p("customer", 30))
                .panel(p("opportunity", 5)),
            Module::new("opportunities").panel(p("customer", 10)),
        ])
        .unwrap();
        let got: Vec<(&str, u16)> = modules
            .panels()
            .iter()
            .map(|p| (p.record, p.order))
            .collect();
        assert_eq!(
            got,
            [
                ("customer", 10),
                ("customer", 20),
                ("customer", 30),
                ("opportunity", 5)
            ]
        );
    }

    fn err(modules: Vec<Module>) -> String {
        Modules::new(modules).unwrap_err().to_string()
    }

    #[test]
    fn two_modules_cannot_claim_the_same_name_right_page_migration_or_search_entity() {
        let m = || Module::new("customers");
        assert!(err(vec![m(), m()]).contains("name"));

        let right = |name| Module::new(name).rights(&[Right::CustomerRead]);
        assert!(err(vec![right("a"), right("b")]).contains("CustomerRead"));

        let nav = |name| Module::new(name).nav(NavEntry::new("/customers", "nav-x", None, 100));
        assert!(err(vec![nav("a"), nav("b")]).contains("/customers"));

        const M: &[Migration] = &[Migration {
            version: 1000,
            name: "customers",
            build: Vec::new,
        }];
        let mig = |name| Module::new(name).migrations(M);
        assert!(err(vec![mig("a"), mig("b")]).contains("1000"));

        let search = |name| {
            Module::new(name).searchable(Searchable {
                entity: "customer",
                label: "search-customers",
                right: Right::CustomerRead,
                href: |id| format!("/customers/{id}"),
            })
        };
        let e = err(vec![search("a"), search("b")]);
        assert!(e.contains("search entity \"customer\""), "{e}");
    }
}
