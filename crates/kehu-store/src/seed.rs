//! Seed data every install needs: the rights, the four built-in roles, the dictionary, and the
//! first administrator. Idempotent: run at every start, it only adds what is missing.

use chrono::Utc;
use kehu_domain::Right;
use kehu_domain::dictionary::{self, DictInput};
use kehu_domain::rights::BUILTIN_ROLES;
use sea_query::{Expr, ExprTrait, OnConflict, Query};

use crate::audit::Actor;
use crate::db::Db;
use crate::error::StoreResult;
use crate::roles::{ADMIN_ROLE, set_rights};
use crate::schema::{Dictionary, Rights, Roles};

/// Adds missing rights, built-in roles and dictionary items. Under the startup lock: two
/// instances seeding a fresh database at once would both see a role missing and both insert it.
pub async fn seed(db: &Db) -> StoreResult<()> {
    db.write(async |tx| {
        tx.lock(crate::db::TxLock::Startup).await?;
        let mut q = Query::insert()
            .into_table(Rights::Table)
            .columns([Rights::Code, Rights::Module])
            .to_owned();
        for r in Right::ALL {
            q.values_panic([r.code().into(), r.module().into()]);
        }
        q.on_conflict(OnConflict::column(Rights::Code).do_nothing().to_owned());
        tx.execute(&q).await?;

        for role in BUILTIN_ROLES {
            let existing: Option<(i64,)> = tx
                .fetch_optional(
                    Query::select()
                        .column(Roles::Id)
                        .from(Roles::Table)
                        .and_where(Expr::col(Roles::Code).eq(role.code)),
                )
                .await?;
            let now = Utc::now();
            let id = match existing {
                Some((id,)) => id,
                None => {
                    let (id,): (i64,) = tx
                        .fetch_one(
                            Query::insert()
                                .into_table(Roles::Table)
                                .columns([
                                    Roles::Code,
                                    Roles::Name,
                                    Roles::DataScope,
                                    Roles::Builtin,
                                    Roles::CreatedAt,
                                    Roles::UpdatedAt,
                                ])
                                .values_panic([
                                    role.code.into(),
                                    role.name_zh.into(),
                                    if role.all_records { "all" } else { "own" }.into(),
                                    true.into(),
                                    Expr::val(now),
                                    Expr::val(now),
                                ])
                                .returning_col(Roles::Id),
                        )
                        .await?;
                    set_rights(tx, id, role.rights).await?;
                    id
                }
            };
            // Rights added by a newer kehu reach the administrator role at once.
            if role.code == ADMIN_ROLE {
                set_rights(tx, id, Right::ALL).await?;
            }
        }

        let (items,): (i64,) = tx
            .fetch_one(
                Query::select()
                    .expr(Expr::col(Dictionary::Id).count())
                    .from(Dictionary::Table),
            )
            .await?;
        if items == 0 {
            let system = Actor::system();
            let mut sort = 0;
            let mut last_kind = "";
            for (kind, item, en, value, editable) in dictionary::seed() {
                sort = if kind == last_kind { sort + 10 } else { 10 };
                last_kind = kind;
                let input = DictInput {
                    kind: kind.into(),
                    item: item.into(),
                    item_en: (en != item).then(|| en.into()),
                    value: value.into(),
                    sort,
                };
                crate::dictionary::insert(tx, &input, editable, &system).await?;
            }
        }
        Ok(())
    })
    .await
}
