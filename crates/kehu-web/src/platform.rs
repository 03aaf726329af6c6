//! The platform's own modules, each a [`Module`] like a product module: sign-in, home, the
//! profile with personal API tokens, users, roles, the data dictionary, the audit log. Their
//! handlers stay in `pages/` and `api/`; this file says which parts make up each module and
//! what of the OpenAPI document each contributes. The platform's tables, migrations and seed
//! live in `kehu-store` (they run before any module's).

use kehu_domain::Right;
use utoipa::OpenApi;

use crate::api;
use crate::module::{BoxFuture, Job, Module};
use crate::nav::NavEntry;
use crate::pages;
use crate::state::AppState;

/// Every platform module, in the order their navigation and API tags appear.
pub fn modules() -> Vec<Module> {
    vec![
        auth(),
        home(),
        profile(),
        users(),
        roles(),
        dictionary(),
        audit(),
        jobs(),
        import(),
    ]
}

/// The import page of every module's files (the kinds come from the modules).
pub fn import() -> Module {
    Module::new("import").pages(pages::import::router())
}

/// Sign-in, sign-out, the language switch; purges expired sessions and sign-in counters.
pub fn auth() -> Module {
    Module::new("auth").pages(pages::auth::router()).job(Job {
        name: "purge expired sessions and sign-in counters",
        every: PURGE_EVERY,
        run: purge_job,
    })
}

#[derive(OpenApi)]
#[openapi(
    paths(api::search::search),
    components(schemas(api::search::SearchOut, api::search::SearchHitOut)),
    tags((name = "search", description = "The header search over every module's indexed records")),
)]
struct SearchApi;

/// The home page, the header search's results page and its API, the way to the API
/// documentation, and the list kit's routes (column chooser, deleting a saved filter).
pub fn home() -> Module {
    Module::new("home")
        .pages(pages::home::router())
        .pages(pages::search::router())
        .api(api::search::router(), SearchApi::openapi())
        .pages(pages::lists::router())
        .nav(NavEntry::new("/", "nav-home", None, 0))
        .nav(NavEntry::new("/api/docs", "nav-api", None, 900))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        api::me::me,
        api::notifications::list, api::notifications::mark_read,
        api::tokens::list, api::tokens::issue, api::tokens::revoke,
        api::tokens::list_for_user, api::tokens::revoke_for_user,
    ),
    components(schemas(api::me::Me, api::notifications::NoticeOut, api::notifications::ReadBody, api::notifications::ReadOut, api::tokens::TokenOut, api::tokens::NewTokenBody, api::tokens::IssuedToken)),
    tags((name = "me", description = "The caller and their personal API tokens")),
)]
struct ProfileApi;

/// The signed-in user's profile (password, language) and personal API tokens, with an
/// administrator's view of anyone's tokens.
pub fn profile() -> Module {
    Module::new("profile")
        .pages(pages::profile::router())
        .pages(pages::user_tokens::router())
        .pages(pages::notifications::router())
        .api(
            api::me::router()
                .merge(api::tokens::router())
                .merge(api::notifications::router()),
            ProfileApi::openapi(),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(
        api::users::list, api::users::create, api::users::show, api::users::update,
        api::users::reset_password,
    ),
    components(schemas(api::users::UserOut, api::users::NewUserBody, api::users::UserPatch, api::users::PasswordBody)),
    tags((name = "users", description = "User administration (用户管理); right `system.users`")),
)]
struct UsersApi;

/// User administration (用户管理).
pub fn users() -> Module {
    Module::new("users")
        .pages(pages::users::router())
        .api(api::users::router(), UsersApi::openapi())
        .rights(&[Right::SystemUsers])
        .nav(NavEntry::new(
            "/users",
            "nav-users",
            Some(Right::SystemUsers),
            800,
        ))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        api::roles::list, api::roles::create, api::roles::show, api::roles::update,
        api::roles::delete, api::rights::list,
    ),
    components(schemas(api::roles::RoleOut, api::roles::NewRoleBody, api::roles::RolePatch, api::rights::RightOut)),
    tags(
        (name = "roles", description = "Roles and their rights (角色管理); right `system.roles`"),
        (name = "rights", description = "Every right a role can grant"),
    ),
)]
struct RolesApi;

/// Roles and their rights (角色管理), and the list of every right.
pub fn roles() -> Module {
    Module::new("roles")
        .pages(pages::roles::router())
        .api(
            api::roles::router().merge(api::rights::router()),
            RolesApi::openapi(),
        )
        .rights(&[Right::SystemRoles])
        .nav(NavEntry::new(
            "/roles",
            "nav-roles",
            Some(Right::SystemRoles),
            810,
        ))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        api::dictionary::list, api::dictionary::kinds, api::dictionary::create,
        api::dictionary::show, api::dictionary::update, api::dictionary::delete,
    ),
    components(schemas(
        api::dictionary::DictItemOut, api::dictionary::DictKindOut, api::dictionary::NewDictBody,
        api::dictionary::DictPatch,
    )),
    tags((name = "dictionary", description = "The data dictionary (数据字典); writes need `system.dictionary`")),
)]
struct DictionaryApi;

/// The data dictionary (数据字典).
pub fn dictionary() -> Module {
    Module::new("dictionary")
        .pages(pages::dictionary::router())
        .api(api::dictionary::router(), DictionaryApi::openapi())
        .rights(&[Right::SystemDictionary])
        .nav(NavEntry::new(
            "/dictionary",
            "nav-dictionary",
            Some(Right::SystemDictionary),
            820,
        ))
}

#[derive(OpenApi)]
#[openapi(
    paths(api::audit::list),
    components(schemas(api::audit::AuditOut)),
    tags((name = "audit", description = "The audit log (操作日志); right `system.audit`")),
)]
struct AuditApi;

/// The audit log (操作日志).
pub fn audit() -> Module {
    Module::new("audit")
        .pages(pages::audit::router())
        .api(api::audit::router(), AuditApi::openapi())
        .rights(&[Right::SystemAudit])
        .nav(NavEntry::new(
            "/audit",
            "nav-audit",
            Some(Right::SystemAudit),
            830,
        ))
}

#[derive(OpenApi)]
#[openapi(
    paths(api::jobs::list, api::jobs::one, api::jobs::run, api::jobs::configure, api::jobs::runs),
    components(schemas(api::jobs::JobOut, api::jobs::RunOut, api::jobs::JobBody)),
    tags((name = "jobs", description = "Scheduled jobs and their runs; right `system.jobs`")),
)]
struct JobsApi;

/// The scheduled jobs the modules bring (`crate::jobs`): their page and API.
pub fn jobs() -> Module {
    Module::new("jobs")
        .pages(pages::jobs::router())
        .api(api::jobs::router(), JobsApi::openapi())
        .rights(&[Right::SystemJobs])
        .nav(NavEntry::new(
            "/jobs",
            "nav-jobs",
            Some(Right::SystemJobs),
            840,
        ))
}

/// How often expired sessions and stale sign-in counters are removed.
pub const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

fn purge_job(state: AppState) -> BoxFuture<'static, anyhow::Result<()>> {
    Box::pin(async move {
        purge(&state, chrono::Utc::now()).await?;
        Ok(())
    })
}

/// One purge at `now`: removes expired sessions and stale throttle counters (idempotent, so
/// several kehu processes may all do it) and returns how many rows went.
pub async fn purge(
    state: &AppState,
    now: chrono::DateTime<chrono::Utc>,
) -> kehu_store::StoreResult<u64> {
    let sessions = state
        .store
        .sessions
        .purge_expired(now, state.config.session_lifetime())
        .await?;
    let throttle = state.store.throttle.purge(now).await?;
    if sessions + throttle > 0 {
        tracing::debug!(sessions, throttle, "purged expired rows");
    }
    Ok(sessions + throttle)
}
