//! Users (系统用户): accounts, their role, sign-in bookkeeping and preferences.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use kehu_domain::policy::{AdminChange, Authority, TargetUser, authorize};
use kehu_domain::user::{AccountChanges, NewAccount};
use kehu_domain::{DataScope, DomainError, Principal, Right};
use sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Order, Query, SelectStatement};
use serde::Serialize;

use crate::audit::{self, Action, Actor};
use crate::cache::AuthCache;
use crate::db::{Db, Tx, TxLock};
use crate::error::StoreResult;
use crate::page::{
    self, Dir, KeyKind, KeyValue, Keyed, ListRequest, Listing, Sort, SortKey, like_contains,
};
use crate::schema::{RoleRights, Roles, Users};
use crate::tokens::RevokeAllReason;
use crate::write::{self, Record, Table};

/// A user as lists and forms show it (never the password hash).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role_id: i64,
    pub role_name: String,
    pub language: Option<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A user with their role's data scope, read in one query for the principal.
#[derive(sqlx::FromRow)]
struct UserWithScope {
    #[sqlx(flatten)]
    user: User,
    role_scope: String,
}

/// What sign-in needs to know about an account.
#[derive(Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub disabled: bool,
}

/// The password hash is a secret: never in logs.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"***")
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// A new account; the password is already hashed by the caller.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role_id: i64,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// The password hash is a secret: never in logs.
impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("role_id", &self.role_id)
            .field("password_hash", &"***")
            .field("must_change_password", &self.must_change_password)
            .finish()
    }
}

/// The fields an administrator edits.
#[derive(Debug, Clone)]
pub struct UserChanges {
    pub display_name: String,
    pub email: Option<String>,
    pub role_id: i64,
    pub disabled: bool,
}

/// Filters of the users list, composed in [`UserFilter::apply`].
///
/// `q` is a contains-search (`lower(col) LIKE '%q%'` on user name and display name), which no
/// index serves. It stays because the table is small — staff accounts, hundreds to a few
/// thousand rows, not customers — and it is bounded: the text is cut to [`MAX_SEARCH`]
/// characters, a page reads at most the table once, and the count stops at `COUNT_CAP`.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub role_id: Option<i64>,
}

/// The longest search text used; the rest is ignored.
pub const MAX_SEARCH: usize = 64;

impl UserFilter {
    fn apply(&self, q: &mut SelectStatement) {
        if let Some(text) = self.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let text: String = text.chars().take(MAX_SEARCH).collect();
            let pattern = like_contains(&text);
            q.and_where(
                Func::lower(Expr::col((Users::Table, Users::Username)))
                    .like(LikeExpr::new(pattern.clone()).escape('\\'))
                    .or(Func::lower(Expr::col((Users::Table, Users::DisplayName)))
                        .like(LikeExpr::new(pattern).escape('\\'))),
            );
        }
        if let Some(r) = self.role_id {
            q.and_where(Expr::col((Users::Table, Users::RoleId)).eq(r));
        }
    }

    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.q.as_deref().is_none_or(|s| s.trim().is_empty()) && self.role_id.is_none()
    }
}

/// The users list's sorts, each with an index on `(column, id)`. Names sort by the database's
/// collation: code point on SQLite, the database's collation on PostgreSQL (code point under
/// `C`/`C.UTF-8`); not by pinyin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    Username,
    DisplayName,
    /// Never signed in sorts as the oldest.
    LastLogin,
    Created,
}

impl SortKey for UserSort {
    const ALL: &'static [Self] = &[
        UserSort::Username,
        UserSort::DisplayName,
        UserSort::LastLogin,
        UserSort::Created,
    ];
    const DEFAULT: Sort<Self> = Sort {
        key: UserSort::Username,
        dir: Dir::Asc,
    };

    fn code(self) -> &'static str {
        match self {
            UserSort::Username => "username",
            UserSort::DisplayName => "display_name",
            UserSort::LastLogin => "last_login_at",
            UserSort::Created => "created_at",
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            UserSort::Username | UserSort::DisplayName => KeyKind::Text,
            UserSort::LastLogin | UserSort::Created => KeyKind::Time,
        }
    }

    fn column(self) -> Expr {
        let col = match self {
            UserSort::Username => Users::Username,
            UserSort::DisplayName => Users::DisplayName,
            UserSort::LastLogin => Users::LastLoginAt,
            UserSort::Created => Users::CreatedAt,
        };
        Expr::col((Users::Table, col))
    }

    fn nullable(self) -> bool {
        self == UserSort::LastLogin
    }

    fn first_dir(self) -> Dir {
        match self {
            UserSort::Username | UserSort::DisplayName => Dir::Asc,
            UserSort::LastLogin | UserSort::Created => Dir::Desc,
        }
    }
}

impl Keyed<UserSort> for User {
    fn id(&self) -> i64 {
        self.id
    }

    fn key(&self, key: UserSort) -> KeyValue {
        match key {
            UserSort::Username => KeyValue::Text(self.username.clone()),
            UserSort::DisplayName => KeyValue::Text(self.display_name.clone()),
            UserSort::LastLogin => self.last_login_at.into(),
            UserSort::Created => KeyValue::Time(self.created_at),
        }
    }
}

#[derive(Clone, Debug)]
pub struct UserStore {
    db: Db,
    auth: AuthCache,
}

fn select_users() -> SelectStatement {
    Query::select()
        .columns([
            (Users::Table, Users::Id),
            (Users::Table, Users::Username),
            (Users::Table, Users::DisplayName),
            (Users::Table, Users::Email),
            (Users::Table, Users::RoleId),
            (Users::Table, Users::Language),
            (Users::Table, Users::Disabled),
            (Users::Table, Users::MustChangePassword),
            (Users::Table, Users::LastLoginAt),
            (Users::Table, Users::CreatedAt),
            (Users::Table, Users::UpdatedAt),
            (Users::Table, Users::Version),
        ])
        .expr_as(
            Expr::col((Roles::Table, Roles::Name)),
            Alias::new("role_name"),
        )
        .from(Users::Table)
        .inner_join(
            Roles::Table,
            Expr::col((Roles::Table, Roles::Id)).equals((Users::Table, Users::RoleId)),
        )
        .to_owned()
}

impl UserStore {
    pub fn new(db: Db, auth: AuthCache) -> Self {
        Self { db, auth }
    }

    pub async fn count(&self) -> StoreResult<i64> {
        let (n,): (i64,) = self
            .db
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Users::Id).count())
                    .from(Users::Table),
            )
            .await?;
        Ok(n)
    }

    /// One page of users and their capped count.
    pub async fn list(
        &self,
        f: &UserFilter,
        req: impl Into<ListRequest<UserSort>>,
    ) -> StoreResult<Listing<User>> {
        let mut q = select_users();
        f.apply(&mut q);
        let mut count = Query::select()
            .expr(Expr::cust("1"))
            .from(Users::Table)
            .to_owned();
        f.apply(&mut count);
        let id = Expr::col((Users::Table, Users::Id));
        page::fetch(&self.db, &q, count, id, &req.into()).await
    }

    /// The active users whose role holds `right` (whom work needing it may be given to): id and
    /// display name, by name, at most `n`. One read.
    pub async fn holding(&self, right: Right, n: u64) -> StoreResult<Vec<(i64, String)>> {
        Ok(self.db.fetch_all(&holding_query(right, n)).await?)
    }

    /// The user names of the accounts `ids` that exist (the audit page names them).
    pub async fn usernames(&self, ids: &[i64]) -> StoreResult<Vec<(i64, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = Query::select()
            .columns([Users::Id, Users::Username])
            .from(Users::Table)
            .and_where(Expr::col(Users::Id).is_in(ids.iter().copied()))
            .to_owned();
        Ok(self.db.fetch_all(&q).await?)
    }

    pub async fn get(&self, id: i64) -> StoreResult<User> {
        let q = select_users()
            .and_where(Expr::col((Users::Table, Users::Id)).eq(id))
            .to_owned();
        self.db.fetch_found(&q).await
    }

    /// Who saved user `id` last, and when (a form shows it after a version conflict).
    pub async fn last_change(&self, id: i64) -> StoreResult<crate::LastChange> {
        write::last_change::<User>(&self.db, id).await
    }

    pub async fn by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let q = select_users()
            .and_where(Expr::col((Users::Table, Users::Username)).eq(username))
            .to_owned();
        Ok(self.db.fetch_optional(&q).await?)
    }

    pub async fn credentials(&self, username: &str) -> StoreResult<Option<Credentials>> {
        let q = Query::select()
            .columns([
                Users::Id,
                Users::Username,
                Users::PasswordHash,
                Users::Disabled,
            ])
            .from(Users::Table)
            .and_where(Expr::col(Users::Username).eq(username))
            .to_owned();
        Ok(self.db.fetch_optional(&q).await?)
    }

    pub async fn password_hash(&self, id: i64) -> StoreResult<String> {
        let q = Query::select()
            .column(Users::PasswordHash)
            .from(Users::Table)
            .and_where(Expr::col(Users::Id).eq(id))
            .to_owned();
        let (hash,): (String,) = self.db.fetch_found(&q).await?;
        Ok(hash)
    }

    /// The user as the policy sees them: role, rights, data scope.
    pub async fn principal(&self, id: i64) -> StoreResult<Option<Principal>> {
        if let Some(p) = self.auth.principal(id) {
            return Ok(Some(p));
        }
        let generation = self.auth.generation();
        let Some(UserWithScope {
            user: u,
            role_scope,
        }) = self
            .db
            .fetch_optional::<UserWithScope>(
                &select_users()
                    .expr_as(
                        Expr::col((Roles::Table, Roles::DataScope)),
                        Alias::new("role_scope"),
                    )
                    .and_where(Expr::col((Users::Table, Users::Id)).eq(id))
                    .to_owned(),
            )
            .await?
        else {
            return Ok(None);
        };
        if u.disabled {
            return Ok(None);
        }
        let codes: Vec<(String,)> = self
            .db
            .fetch_all(
                Query::select()
                    .column(RoleRights::RightCode)
                    .from(RoleRights::Table)
                    .and_where(Expr::col(RoleRights::RoleId).eq(u.role_id)),
            )
            .await?;
        let rights: BTreeSet<Right> = codes
            .iter()
            .filter_map(|(c,)| Right::from_code(c))
            .collect();
        let p = Principal {
            user_id: u.id,
            username: u.username,
            display_name: u.display_name,
            role_id: u.role_id,
            role_name: u.role_name,
            rights,
            scope: DataScope::from_code(&role_scope).unwrap_or(DataScope::Own),
            must_change_password: u.must_change_password,
            language: u.language,
        };
        self.auth.put_principal(generation, p.clone());
        Ok(Some(p))
    }

    /// Creates an account; the actor may give it only a role whose rights it holds itself.
    pub async fn create(&self, new: &NewUser, actor: &Actor) -> StoreResult<User> {
        let result = self.create_checked(new, actor).await;
        let asked = serde_json::json!({"username": new.username, "role_id": new.role_id});
        audit::note_refusal(&self.db, result, actor, "user", &new.username, asked).await
    }

    async fn create_checked(&self, new: &NewUser, actor: &Actor) -> StoreResult<User> {
        self.db
            .write(async |tx| {
                let role = role_in(tx, new.role_id).await?;
                authorize(&actor.authority, AdminChange::CreateUser { role: &role })?;
                Self::insert_in(tx, new, actor).await
            })
            .await
    }

    /// Creates an account an administrator entered (page or API). Its password is temporary
    /// (the user picks their own at first sign-in) and is hashed off the async runtime.
    pub async fn create_account(&self, a: NewAccount, actor: &Actor) -> StoreResult<User> {
        let new = NewUser {
            username: a.username.as_str().to_owned(),
            display_name: a.display_name.as_str().to_owned(),
            email: a.email,
            role_id: a.role_id,
            password_hash: crate::passwords::hash(a.password.expose()).await?,
            must_change_password: true,
        };
        self.create(&new, actor).await
    }

    /// Creates the first account if there is none, under the startup lock, so that instances
    /// starting together on one database create it once. `None`: an account exists already,
    /// including one with the same name created a moment ago by another instance.
    pub async fn create_first(&self, new: &NewUser) -> StoreResult<Option<User>> {
        let created = self
            .db
            .write(async |tx| {
                tx.lock(crate::db::TxLock::Startup).await?;
                let (n,): (i64,) = tx
                    .fetch_one(
                        Query::select()
                            .expr(Expr::col(Users::Id).count())
                            .from(Users::Table),
                    )
                    .await?;
                if n > 0 {
                    return Ok(None);
                }
                Self::insert_in(tx, new, &Actor::system()).await.map(Some)
            })
            .await;
        match created {
            Err(crate::StoreError::Domain(DomainError::Conflict(f))) if f.field == "username" => {
                Ok(None)
            }
            other => other,
        }
    }

    /// Inserts the account and its audit entry in `tx`; the caller has checked the right.
    async fn insert_in(tx: &mut Tx, new: &NewUser, actor: &Actor) -> StoreResult<User> {
        let values = vec![
            (Users::Username, new.username.as_str().into()),
            (Users::DisplayName, new.display_name.as_str().into()),
            (Users::Email, new.email.clone().into()),
            (Users::PasswordHash, new.password_hash.as_str().into()),
            (Users::RoleId, new.role_id.into()),
            (Users::MustChangePassword, new.must_change_password.into()),
        ];
        write::create(tx, values, actor, async |_, _| Ok(())).await
    }

    /// Account `id` as the delegation policy sees it (see [`Self::target_in`]).
    pub(crate) async fn target_by_id(
        tx: &mut Tx,
        id: i64,
        actor: &Actor,
    ) -> StoreResult<TargetUser> {
        let user = User::load(tx, id).await?;
        Self::target_in(tx, &user, actor).await
    }

    /// The account as the delegation policy sees it: what its role grants, whether it is
    /// active, whether it is the actor's own.
    async fn target_in(tx: &mut Tx, user: &User, actor: &Actor) -> StoreResult<TargetUser> {
        Ok(TargetUser {
            authority: role_in(tx, user.role_id).await?,
            active: !user.disabled,
            is_self: actor.user_id == Some(user.id),
        })
    }

    /// Applies an administrator's edit if `version` is still current. The actor may edit only
    /// an account whose rights it holds, give it only a role whose rights it holds, and never
    /// disable or demote the last active administrator.
    pub async fn update(
        &self,
        id: i64,
        changes: &UserChanges,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<User> {
        let result = self.update_checked(id, changes, version, actor).await;
        let asked = serde_json::json!({"role_id": changes.role_id, "disabled": changes.disabled});
        audit::note_refusal(&self.db, result, actor, "user", id, asked).await
    }

    async fn update_checked(
        &self,
        id: i64,
        changes: &UserChanges,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<User> {
        self.db
            .write_then_clear(&self.auth, async |tx| {
                tx.lock(TxLock::AdminChanges).await?;
                let before = User::load(tx, id).await?;
                authorize(
                    &actor.authority,
                    AdminChange::EditUser {
                        target: &Self::target_in(tx, &before, actor).await?,
                        role: &role_in(tx, changes.role_id).await?,
                        disable: changes.disabled,
                        full_users: crate::roles::full_users(tx).await?,
                    },
                )?;
                let values = vec![
                    (Users::DisplayName, changes.display_name.as_str().into()),
                    (Users::Email, changes.email.clone().into()),
                    (Users::RoleId, changes.role_id.into()),
                    (Users::Disabled, changes.disabled.into()),
                ];
                write::update(tx, &before, version, values, actor, async |tx| {
                    // A disabled account is signed out everywhere, API tokens included.
                    if changes.disabled {
                        crate::sessions::delete_for_user(tx, id).await?;
                        let reason = RevokeAllReason::Disabled;
                        crate::tokens::revoke_all_for_user(tx, id, reason, actor).await?;
                    }
                    Ok(())
                })
                .await
            })
            .await
    }

    /// Applies an administrator's edit (page or API), parsed by the domain, if `version` is
    /// still current; the rules of [`Self::update`] apply.
    pub async fn apply_changes(
        &self,
        id: i64,
        a: AccountChanges,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<User> {
        let changes = UserChanges {
            display_name: a.display_name.as_str().to_owned(),
            email: a.email,
            role_id: a.role_id,
            disabled: a.disabled,
        };
        self.update(id, &changes, version, actor).await
    }

    /// An administrator sets a temporary password for someone else's account, which must be
    /// changed at the next sign-in; the account's sessions end. Refused for the actor's own
    /// account and for accounts holding rights the actor lacks.
    pub async fn reset_password(&self, id: i64, hash: &str, actor: &Actor) -> StoreResult<()> {
        let result = self.reset_checked(id, hash, actor).await;
        let asked = serde_json::json!({"password": "*** (reset)"});
        audit::note_refusal(&self.db, result, actor, "user", id, asked).await
    }

    async fn reset_checked(&self, id: i64, hash: &str, actor: &Actor) -> StoreResult<()> {
        self.db
            .write_then_clear(&self.auth, async |tx| {
                let target = User::load(tx, id).await?;
                authorize(
                    &actor.authority,
                    AdminChange::ResetPassword {
                        target: &Self::target_in(tx, &target, actor).await?,
                    },
                )?;
                write_password(tx, id, hash, true, None, actor).await
            })
            .await
    }

    /// Sets a user's own new password (profile) or, from the command line, anyone's. Other
    /// sessions of the user end, so a stolen session dies with the old password;
    /// `keep_session` (a token hash) keeps the one making the change.
    pub async fn set_password(
        &self,
        id: i64,
        hash: &str,
        must_change: bool,
        keep_session: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<()> {
        self.db
            .write_then_clear(&self.auth, async |tx| {
                write_password(tx, id, hash, must_change, keep_session, actor).await
            })
            .await
    }

    /// Enables or disables an account (CLI); a disabled user's sessions end at once.
    pub async fn set_disabled(&self, id: i64, disabled: bool, actor: &Actor) -> StoreResult<()> {
        let u = self.get(id).await?;
        let changes = UserChanges {
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            role_id: u.role_id,
            disabled,
        };
        self.update(id, &changes, u.version, actor).await.map(drop)
    }

    pub async fn set_language(&self, id: i64, language: &str) -> StoreResult<()> {
        self.db
            .execute(
                Query::update()
                    .table(Users::Table)
                    .value(Users::Language, language)
                    .and_where(Expr::col(Users::Id).eq(id)),
            )
            .await?;
        self.auth.clear();
        Ok(())
    }

    /// Notes a successful sign-in. (Failures are counted by `ThrottleStore`, not per user:
    /// the `failed_logins` and `locked_until` columns are no longer used.)
    pub async fn record_login_success(&self, id: i64) -> StoreResult<()> {
        self.db
            .execute(
                Query::update()
                    .table(Users::Table)
                    .value(Users::LastLoginAt, Expr::val(Utc::now()))
                    .and_where(Expr::col(Users::Id).eq(id)),
            )
            .await?;
        Ok(())
    }
}

impl Record for User {
    type Col = Users;
    const TABLE: Table<Users> = Table {
        table: Users::Table,
        id: Users::Id,
        version: Users::Version,
        created_at: Users::CreatedAt,
        created_by: Users::CreatedBy,
        updated_at: Users::UpdatedAt,
        updated_by: Users::UpdatedBy,
        entity: "user",
        unique: "username",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        write::load_by_id(tx, select_users(), id).await
    }

    fn id(&self) -> i64 {
        self.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "username": self.username, "display_name": self.display_name, "email": self.email,
            "role_id": self.role_id, "role": self.role_name, "disabled": self.disabled,
            "language": self.language,
        })
    }
}

/// What role `role_id` grants; a role that does not exist is an error on the `role_id` field,
/// so a user cannot be given a role that is not there.
async fn role_in(tx: &mut Tx, role_id: i64) -> StoreResult<Authority> {
    crate::roles::authority_in(tx, role_id)
        .await?
        .ok_or_else(|| DomainError::field("role_id", "err-invalid").into())
}

/// Writes a new password hash in `tx`, ends the user's other sessions and records the fact
/// (never the hash).
async fn write_password(
    tx: &mut Tx,
    id: i64,
    hash: &str,
    must_change: bool,
    keep_session: Option<&str>,
    actor: &Actor,
) -> StoreResult<()> {
    let n = tx
        .execute(
            Query::update()
                .table(Users::Table)
                .values([
                    (Users::PasswordHash, hash.into()),
                    (Users::MustChangePassword, must_change.into()),
                    (Users::UpdatedAt, Expr::val(Utc::now())),
                    (Users::UpdatedBy, actor.user_id.into()),
                    (Users::Version, Expr::col(Users::Version).add(1)),
                ])
                .and_where(Expr::col(Users::Id).eq(id)),
        )
        .await?;
    if n == 0 {
        return Err(DomainError::NotFound.into());
    }
    crate::sessions::delete_for_user_except(tx, id, keep_session).await?;
    // An administrator's reset (a temporary password) also ends the user's API tokens.
    if must_change {
        crate::tokens::revoke_all_for_user(tx, id, RevokeAllReason::PasswordReset, actor).await?;
    }
    audit::record(
        tx,
        actor,
        Action::Update,
        "user",
        id,
        Some(&serde_json::json!({"password": "***"})),
        Some(&serde_json::json!({"password": "*** (changed)"})),
    )
    .await
}

/// [`UserStore::holding`] within `tx` (a distribution that gives work out as it reads who may
/// take it).
pub async fn holding_in(tx: &mut Tx, right: Right, n: u64) -> StoreResult<Vec<(i64, String)>> {
    Ok(tx.fetch_all(&holding_query(right, n)).await?)
}

/// The active users whose role holds `right`, by name, at most `n`.
fn holding_query(right: Right, n: u64) -> SelectStatement {
    Query::select()
        .columns([
            (Users::Table, Users::Id),
            (Users::Table, Users::DisplayName),
        ])
        .from(Users::Table)
        .inner_join(
            RoleRights::Table,
            Expr::col((RoleRights::Table, RoleRights::RoleId))
                .equals((Users::Table, Users::RoleId))
                .and(Expr::col((RoleRights::Table, RoleRights::RightCode)).eq(right.code())),
        )
        .and_where(Expr::col((Users::Table, Users::Disabled)).eq(false))
        .order_by((Users::Table, Users::DisplayName), Order::Asc)
        .order_by((Users::Table, Users::Id), Order::Asc)
        .limit(n)
        .to_owned()
}
