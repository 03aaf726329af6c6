//! The module kit: a module the binary lists brings its pages, API routes and OpenAPI paths,
//! navigation entry, migration and seed; the application is built from the list and nothing
//! else changes. Each story runs on SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests"
)]

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kehu_domain::Right;
use kehu_store::migrations::{Ddl, Migration, id_col, migrate_with};
use kehu_store::sea_query::{ColumnDef, Expr, ExprTrait, Query, Table};
use kehu_store::{Db, Store};
use kehu_testkit::json::{call, problem};
use kehu_testkit::reqwest::Method;
use kehu_testkit::{TestApp, TestBackend, fresh_database, spawn_app, spawn_app_with_modules};
use kehu_web::access::{Granted, PageGranted, need};
use kehu_web::module::BoxFuture;
use kehu_web::{AppState, Module, Modules, NavEntry};
use serde_json::{Value, json};
use utoipa::OpenApi;

const PW: &str = "lang-genug-123";

/// The test module's one migration: a table of notes.
const NOTES_MIGRATIONS: &[Migration] = &[Migration {
    version: 1000,
    name: "test_notes",
    build: notes_table,
}];

fn notes_table() -> Vec<Ddl> {
    vec![Ddl::Table(
        Table::create()
            .table("test_notes")
            .col(id_col("id"))
            .col(ColumnDef::new("body").string_len(200).not_null())
            .to_owned(),
    )]
}

async fn note_count(db: &Db) -> i64 {
    let (n,): (i64,) = db
        .fetch_one(
            Query::select()
                .expr(Expr::col("id").count())
                .from("test_notes"),
        )
        .await
        .unwrap();
    n
}

/// Seeds one note into an empty table (every start runs it: it adds only what is missing).
fn seed_notes(store: &Store) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        if note_count(&store.db).await == 0 {
            store
                .db
                .execute(
                    Query::insert()
                        .into_table("test_notes")
                        .columns(["body"])
                        .values_panic(["第一条".into()]),
                )
                .await?;
        }
        Ok(())
    })
}

async fn notes_page(
    State(state): State<AppState>,
    _: PageGranted<need::Audit>,
) -> axum::response::Html<String> {
    let n = note_count(&state.store.db).await;
    axum::response::Html(format!("<p id=\"notes\">{n}</p>"))
}

/// How many notes there are.
#[utoipa::path(get, path = "/api/v1/notes", tag = "notes",
    responses((status = 200, description = "How many notes there are")))]
async fn notes_api(State(state): State<AppState>, _: Granted<need::Audit>) -> axum::Json<Value> {
    axum::Json(json!({ "count": note_count(&state.store.db).await }))
}

#[derive(OpenApi)]
#[openapi(paths(notes_api), tags((name = "notes", description = "Notes, a test module")))]
struct NotesApi;

/// A module as a product crate would export it. The right it checks is the platform's audit
/// right, so it defines none of its own.
fn notes() -> Module {
    Module::new("notes")
        .pages(Router::new().route("/notes", get(notes_page)))
        .api(
            Router::new().route("/api/v1/notes", get(notes_api)),
            NotesApi::openapi(),
        )
        .nav(NavEntry::new(
            "/notes",
            "nav-notes",
            Some(Right::SystemAudit),
            100,
        ))
        .migrations(NOTES_MIGRATIONS)
        .seed(seed_notes)
}

async fn spawn_with_notes(backend: TestBackend) -> TestApp {
    let mut modules = kehu_web::platform::modules();
    modules.push(notes());
    spawn_app_with_modules(backend, Modules::new(modules).unwrap()).await
}

/// A bare database for the migration stories; its PostgreSQL schema goes with [`close`].
async fn bare_database(backend: TestBackend, dir: &std::path::Path) -> (Db, Option<String>) {
    let url = fresh_database(backend, dir).await;
    let schema = url.split("options[search_path]=").nth(1).map(str::to_owned);
    (Db::connect(&url).await.unwrap(), schema)
}

async fn close(db: Db, schema: Option<String>) {
    if let Some(schema) = schema {
        db.execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    }
    db.close().await;
}

async fn openapi(app: &TestApp) -> Value {
    let resp = app.client().get(app.url("/api/openapi.json")).send();
    resp.await.unwrap().json().await.unwrap()
}

async fn a_listed_module_brings_its_pages_api_navigation_and_openapi_paths(backend: TestBackend) {
    let app = spawn_with_notes(backend).await;
    app.create_user("li", "account_manager", PW).await;
    let admin = app.admin().await;
    let li = app.login("li", PW).await;

    // Its page and API answer, with the data its migration and seed made; without the right
    // they refuse like the platform's (the error page, a problem document).
    let page = admin.get("/notes").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<p id=\"notes\">1</p>"));
    let refused = li.get("/notes").await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let (s, body) = call(
        &app,
        &app.token_for("admin").await,
        Method::GET,
        "/api/v1/notes",
        None,
    )
    .await;
    assert_eq!((s, body), (200, json!({"count": 1})));
    let resp = kehu_testkit::bearer(
        &app,
        &app.token_for("li").await,
        Method::GET,
        "/api/v1/notes",
        None,
    )
    .await;
    problem(resp, 403, "forbidden").await;

    // Its navigation entry shows to those with the right, in its place (after home, before
    // the administration pages).
    let home = admin.get("/").await.text().await.unwrap();
    let at = |href: &str| {
        home.find(&format!("href=\"{href}\""))
            .unwrap_or_else(|| panic!("no {href} in {home}"))
    };
    assert!(
        at("/") < at("/notes") && at("/notes") < at("/users"),
        "{home}"
    );
    let li_home = li.get("/").await.text().await.unwrap();
    assert!(!li_home.contains("href=\"/notes\""), "{li_home}");

    // Its paths and tag are in the OpenAPI document, beside the platform's.
    let doc = openapi(&app).await;
    assert!(
        doc["paths"]["/api/v1/notes"]["get"].is_object(),
        "{}",
        doc["paths"]
    );
    assert!(doc["paths"]["/api/v1/users"]["get"].is_object());
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "search",
            "me",
            "users",
            "roles",
            "rights",
            "dictionary",
            "audit",
            "jobs",
            "notes"
        ]
    );
}

async fn an_application_without_the_module_has_none_of_it(backend: TestBackend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    assert_eq!(admin.get("/notes").await.status(), 404);
    assert!(
        !admin
            .get("/")
            .await
            .text()
            .await
            .unwrap()
            .contains("href=\"/notes\"")
    );
    let doc = openapi(&app).await;
    assert!(doc["paths"].get("/api/v1/notes").is_none());
    assert!(doc["paths"]["/api/v1/audit"]["get"].is_object());
}

async fn a_module_migration_runs_once_after_the_platforms_and_is_recorded_by_version(
    backend: TestBackend,
) {
    let dir = tempfile::tempdir().unwrap();
    let (db, schema) = bare_database(backend, dir.path()).await;
    let applied = migrate_with(&db, NOTES_MIGRATIONS).await.unwrap();
    assert_eq!(
        applied.first(),
        Some(&1),
        "the platform's come first: {applied:?}"
    );
    assert_eq!(applied.last(), Some(&1000), "{applied:?}");
    assert_eq!(note_count(&db).await, 0, "the module's table exists");

    let again = migrate_with(&db, NOTES_MIGRATIONS).await.unwrap();
    assert!(again.is_empty(), "ran twice: {again:?}");
    let recorded: Vec<(i64, String)> = db
        .fetch_all(
            Query::select()
                .columns(["version", "name"])
                .from("kehu_migrations")
                .and_where(Expr::col("version").gte(1000)),
        )
        .await
        .unwrap();
    assert_eq!(recorded, [(1000, "test_notes".to_owned())]);

    // The platform alone leaves the module's record alone.
    assert!(migrate_with(&db, &[]).await.unwrap().is_empty());
    close(db, schema).await;
}

async fn a_module_migration_on_a_platform_version_or_under_another_name_is_refused(
    backend: TestBackend,
) {
    let dir = tempfile::tempdir().unwrap();
    let (db, schema) = bare_database(backend, dir.path()).await;
    let platform_version = [Migration {
        version: 2,
        ..NOTES_MIGRATIONS[0]
    }];
    let e = migrate_with(&db, &platform_version).await.unwrap_err();
    assert!(e.to_string().contains("platform"), "{e:#}");

    migrate_with(&db, NOTES_MIGRATIONS).await.unwrap();
    let renamed = [Migration {
        name: "other_notes",
        ..NOTES_MIGRATIONS[0]
    }];
    let e = migrate_with(&db, &renamed).await.unwrap_err();
    assert!(
        e.to_string().contains("recorded as \"test_notes\""),
        "{e:#}"
    );
    close(db, schema).await;
}

fn notes_index() -> Vec<Ddl> {
    vec![kehu_store::migrations::index(
        "ix_test_notes_body",
        "test_notes",
        &[&"body", &"id"],
    )]
}

/// SQLite plans by per-index statistics and takes an index without them for one that finds
/// ten rows: an index a migration adds to an analysed table is analysed with it.
#[tokio::test]
async fn an_index_a_migration_adds_to_an_analysed_table_has_its_statistics_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = bare_database(TestBackend::Sqlite, dir.path()).await;
    migrate_with(&db, NOTES_MIGRATIONS).await.unwrap();
    for i in 0..50 {
        db.execute(
            Query::insert()
                .into_table("test_notes")
                .columns(["body"])
                .values_panic([format!("note {}", i % 5).into()]),
        )
        .await
        .unwrap();
    }
    db.execute_raw("ANALYZE").await.unwrap();
    let with_index = [
        NOTES_MIGRATIONS[0],
        Migration {
            version: 1001,
            name: "test_notes_body",
            build: notes_index,
        },
    ];
    assert_eq!(migrate_with(&db, &with_index).await.unwrap(), [1001]);
    let stats: Vec<(String, String)> = db
        .fetch_all(
            Query::select()
                .columns(["idx", "stat"])
                .from("sqlite_stat1")
                .and_where(Expr::col("idx").eq("ix_test_notes_body")),
        )
        .await
        .unwrap();
    // 50 rows, 10 to a body, one to a (body, id).
    assert_eq!(
        stats,
        [("ix_test_notes_body".to_owned(), "50 10 1".to_owned())]
    );
    db.close().await;
}

kehu_testkit::on_both! {
    a_listed_module_brings_its_pages_api_navigation_and_openapi_paths,
    an_application_without_the_module_has_none_of_it,
    a_module_migration_runs_once_after_the_platforms_and_is_recorded_by_version,
    a_module_migration_on_a_platform_version_or_under_another_name_is_refused,
}
