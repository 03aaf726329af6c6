//! Roles (角色) and the rights they grant (角色权限). Built-in roles cannot be deleted, and the
//! administrator role always holds every right so that nobody locks themselves out.

use chrono::{DateTime, Utc};
use kehu_domain::policy::{AdminChange, Authority, authorize};
use kehu_domain::{DataScope, DomainError, Right};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, SimpleExpr};
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::cache::AuthCache;
use crate::db::{Db, Tx, TxLock};
use crate::error::StoreResult;
use crate::schema::{RoleRights, Roles, Users};
use crate::write::{self, Record, Table};

pub const ADMIN_ROLE: &str = "admin";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Role {
    pub id: i64,
    pub code: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub data_scope: String,
    pub builtin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl Role {
    pub fn scope(&self) -> DataScope {
        DataScope::from_code(&self.data_scope).unwrap_or(DataScope::Own)
    }

    pub fn is_admin(&self) -> bool {
        self.code.as_deref() == Some(ADMIN_ROLE)
    }
}

/// A role with its rights and how many users hold it.
#[derive(Debug, Clone, Serialize)]
pub struct RoleDetail {
    #[serde(flatten)]
    pub role: Role,
    pub rights: Vec<String>,
    pub users: i64,
}

impl RoleDetail {
    /// What the role grants.
    pub fn authority(&self) -> Authority {
        Authority::new(
            self.rights.iter().filter_map(|c| Right::from_code(c)),
            self.role.scope(),
        )
    }
}

/// What an administrator enters for a role (validated in the domain crate).
pub use kehu_domain::role::RoleInput;

#[derive(Clone, Debug)]
pub struct RoleStore {
    db: Db,
    auth: AuthCache,
}

fn select_roles() -> SelectStatement {
    Query::select()
        .columns([
            Roles::Id,
            Roles::Code,
            Roles::Name,
            Roles::Description,
            Roles::DataScope,
            Roles::Builtin,
            Roles::CreatedAt,
            Roles::UpdatedAt,
            Roles::Version,
        ])
        .from(Roles::Table)
        .to_owned()
}

impl RoleStore {
    pub fn new(db: Db, auth: AuthCache) -> Self {
        Self { db, auth }
    }

    pub async fn list(&self) -> StoreResult<Vec<RoleDetail>> {
        let roles: Vec<Role> = self
            .db
            .fetch_all(select_roles().order_by(Roles::Id, Order::Asc))
            .await?;
        let pairs: Vec<(i64, String)> = self
            .db
            .fetch_all(
                Query::select()
                    .columns([RoleRights::RoleId, RoleRights::RightCode])
                    .from(RoleRights::Table),
            )
            .await?;
        let counts: Vec<(i64, i64)> = self
            .db
            .fetch_all(
                Query::select()
                    .column(Users::RoleId)
                    .expr(Expr::col(Users::Id).count())
                    .from(Users::Table)
                    .group_by_col(Users::RoleId),
            )
            .await?;
        Ok(roles
            .into_iter()
            .map(|role| {
                let rights = sorted_rights(pairs.iter().filter(|p| p.0 == role.id).map(|p| &p.1));
                let users = counts.iter().find(|c| c.0 == role.id).map_or(0, |c| c.1);
                RoleDetail {
                    role,
                    rights,
                    users,
                }
            })
            .collect())
    }

    pub async fn get(&self, id: i64) -> StoreResult<RoleDetail> {
        self.db
            .write(async |tx| RoleDetail::load(tx, id).await)
            .await
    }

    /// Who saved role `id` last, and when (a form shows it after a version conflict).
    pub async fn last_change(&self, id: i64) -> StoreResult<crate::LastChange> {
        write::last_change::<RoleDetail>(&self.db, id).await
    }

    pub async fn by_code(&self, code: &str) -> StoreResult<Option<Role>> {
        Ok(self
            .db
            .fetch_optional(
                &select_roles()
                    .and_where(Expr::col(Roles::Code).eq(code))
                    .to_owned(),
            )
            .await?)
    }

    /// Creates a role; the actor may grant only rights and a scope it holds itself.
    pub async fn create(&self, input: &RoleInput, actor: &Actor) -> StoreResult<RoleDetail> {
        let role = Authority::new(input.rights.iter().copied(), input.scope);
        let result = self.create_checked(input, &role, actor).await;
        audit::note_refusal(&self.db, result, actor, "role", "-", attempt(input)).await
    }

    async fn create_checked(
        &self,
        input: &RoleInput,
        role: &Authority,
        actor: &Actor,
    ) -> StoreResult<RoleDetail> {
        authorize(&actor.authority, AdminChange::CreateRole { role })?;
        let mut values = values(input, input.scope);
        values.push((Roles::Builtin, false.into()));
        self.db
            .write(async |tx| {
                write::create(tx, values, actor, async |tx, id| {
                    set_rights(tx, id, &input.rights).await
                })
                .await
            })
            .await
    }

    /// Changes a role if `version` is still current. The actor may change only a role whose
    /// rights it holds, into one whose rights it holds, and never strip the last active
    /// administrator of a right.
    pub async fn update(
        &self,
        id: i64,
        input: &RoleInput,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<RoleDetail> {
        let result = self.update_checked(id, input, version, actor).await;
        audit::note_refusal(&self.db, result, actor, "role", id, attempt(input)).await
    }

    async fn update_checked(
        &self,
        id: i64,
        input: &RoleInput,
        version: i32,
        actor: &Actor,
    ) -> StoreResult<RoleDetail> {
        self.db
            .write_then_clear(&self.auth, async |tx| {
                tx.lock(TxLock::AdminChanges).await?;
                let before = RoleDetail::load(tx, id).await?;
                // The administrator role keeps every right and sees every record.
                let (scope, rights) = if before.role.is_admin() {
                    (DataScope::All, Right::ALL.to_vec())
                } else {
                    (input.scope, input.rights.clone())
                };
                authorize(
                    &actor.authority,
                    AdminChange::EditRole {
                        before: &before.authority(),
                        after: &Authority::new(rights.iter().copied(), scope),
                        active_holders: active_holders(tx, id).await?,
                        full_users: full_users(tx).await?,
                    },
                )?;
                let values = values(input, scope);
                write::update(tx, &before, version, values, actor, async |tx| {
                    tx.execute(
                        Query::delete()
                            .from_table(RoleRights::Table)
                            .and_where(Expr::col(RoleRights::RoleId).eq(id)),
                    )
                    .await?;
                    set_rights(tx, id, &rights).await
                })
                .await
            })
            .await
    }

    /// Deletes a custom role that no user holds (and whose rights the actor holds).
    pub async fn delete(&self, id: i64, version: i32, actor: &Actor) -> StoreResult<()> {
        let result = self.delete_checked(id, version, actor).await;
        let asked = serde_json::json!({"deleted": true});
        audit::note_refusal(&self.db, result, actor, "role", id, asked).await
    }

    async fn delete_checked(&self, id: i64, version: i32, actor: &Actor) -> StoreResult<()> {
        self.db
            .write_then_clear(&self.auth, async |tx| {
                let before = RoleDetail::load(tx, id).await?;
                authorize(
                    &actor.authority,
                    AdminChange::DeleteRole {
                        role: &before.authority(),
                    },
                )?;
                if before.role.builtin {
                    return Err(DomainError::NotAllowed("err-role-builtin").into());
                }
                if before.users > 0 {
                    return Err(DomainError::NotAllowed("err-role-in-use").into());
                }
                write::delete(tx, &before, version, actor).await
            })
            .await
    }
}

impl Record for RoleDetail {
    type Col = Roles;
    const TABLE: Table<Roles> = Table {
        table: Roles::Table,
        id: Roles::Id,
        version: Roles::Version,
        created_at: Roles::CreatedAt,
        created_by: Roles::CreatedBy,
        updated_at: Roles::UpdatedAt,
        updated_by: Roles::UpdatedBy,
        entity: "role",
        unique: "name",
    };

    async fn load(tx: &mut Tx, id: i64) -> StoreResult<Self> {
        let role: Role = tx
            .fetch_found(
                &select_roles()
                    .and_where(Expr::col(Roles::Id).eq(id))
                    .to_owned(),
            )
            .await?;
        let codes = right_codes_in(tx, id).await?;
        let (users,): (i64,) = tx
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Users::Id).count())
                    .from(Users::Table)
                    .and_where(Expr::col(Users::RoleId).eq(id)),
            )
            .await?;
        Ok(RoleDetail {
            role,
            rights: sorted_rights(codes.iter()),
            users,
        })
    }

    fn id(&self) -> i64 {
        self.role.id
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.role.name, "description": self.role.description,
            "data_scope": self.role.data_scope, "rights": self.rights,
        })
    }
}

/// The stored columns a role form sets (`scope` as it will be kept).
fn values(input: &RoleInput, scope: DataScope) -> Vec<(Roles, SimpleExpr)> {
    vec![
        (Roles::Name, input.name.as_str().into()),
        (Roles::Description, input.description.clone().into()),
        (Roles::DataScope, scope.code().into()),
    ]
}

/// What a refused role change asked for, for the audit log.
fn attempt(input: &RoleInput) -> serde_json::Value {
    let rights: Vec<&str> = input.rights.iter().map(|r| r.code()).collect();
    serde_json::json!({"name": input.name, "data_scope": input.scope.code(), "rights": rights})
}

/// The right codes role `id` holds, as stored.
async fn right_codes_in(tx: &mut Tx, id: i64) -> StoreResult<Vec<String>> {
    let codes: Vec<(String,)> = tx
        .fetch_all(
            Query::select()
                .column(RoleRights::RightCode)
                .from(RoleRights::Table)
                .and_where(Expr::col(RoleRights::RoleId).eq(id)),
        )
        .await?;
    Ok(codes.into_iter().map(|(c,)| c).collect())
}

/// What role `id` grants, or `None` when there is no such role.
pub(crate) async fn authority_in(tx: &mut Tx, id: i64) -> StoreResult<Option<Authority>> {
    let scope: Option<(String,)> = tx
        .fetch_optional(
            Query::select()
                .column(Roles::DataScope)
                .from(Roles::Table)
                .and_where(Expr::col(Roles::Id).eq(id)),
        )
        .await?;
    let Some((scope,)) = scope else {
        return Ok(None);
    };
    let codes = right_codes_in(tx, id).await?;
    Ok(Some(Authority::new(
        codes.iter().filter_map(|c| Right::from_code(c)),
        DataScope::from_code(&scope).unwrap_or(DataScope::Own),
    )))
}

/// Active (not disabled) users holding role `id`.
async fn active_holders(tx: &mut Tx, id: i64) -> StoreResult<u64> {
    let (n,): (i64,) = tx
        .fetch_one(
            Query::select()
                .expr(Expr::col(Users::Id).count())
                .from(Users::Table)
                .and_where(Expr::col(Users::RoleId).eq(id))
                .and_where(Expr::col(Users::Disabled).eq(false)),
        )
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Active users whose role grants every right over every record: the administrators the
/// policy will not let anyone disable or demote down to zero.
pub(crate) async fn full_users(tx: &mut Tx) -> StoreResult<u64> {
    let roles: Vec<(i64,)> = tx
        .fetch_all(
            Query::select()
                .column(Roles::Id)
                .from(Roles::Table)
                .and_where(Expr::col(Roles::DataScope).eq(DataScope::All.code())),
        )
        .await?;
    let mut n = 0;
    for (id,) in roles {
        if authority_in(tx, id).await?.is_some_and(|a| a.is_full()) {
            n += active_holders(tx, id).await?;
        }
    }
    Ok(n)
}

fn sorted_rights<'a>(codes: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<Right> = codes.filter_map(|c| Right::from_code(c)).collect();
    v.sort();
    v.into_iter().map(|r| r.code().to_owned()).collect()
}

pub(crate) async fn set_rights(tx: &mut Tx, role_id: i64, rights: &[Right]) -> StoreResult<()> {
    if rights.is_empty() {
        return Ok(());
    }
    let mut q = Query::insert()
        .into_table(RoleRights::Table)
        .columns([RoleRights::RoleId, RoleRights::RightCode])
        .to_owned();
    for r in rights {
        q.values_panic([role_id.into(), r.code().into()]);
    }
    q.on_conflict(
        sea_query::OnConflict::columns([RoleRights::RoleId, RoleRights::RightCode])
            .do_nothing()
            .to_owned(),
    );
    tx.execute(&q).await?;
    Ok(())
}
