//! What the modules' command-line commands share: acting as a user (`--as USER`: their data
//! scope, their rights checked, their name in the audit log) or, without one, as the system.

use anyhow::{Context as _, bail};
use kehu_domain::Right;
use kehu_domain::policy::OwnerFilter;
use kehu_store::Store;
use kehu_store::audit::Actor;

/// The id of the user named `name` (any case).
pub async fn user_id(store: &Store, name: &str) -> anyhow::Result<i64> {
    Ok(store
        .users
        .by_username(&name.to_lowercase())
        .await?
        .with_context(|| format!("no user named {name:?}"))?
        .id)
}

/// The scope, actor and id of `--as USER` (who must be able to sign in and hold `right`), or
/// the system's: every record, no user.
pub async fn acting(
    store: &Store,
    as_user: Option<&str>,
    right: Right,
) -> anyhow::Result<(OwnerFilter, Actor, Option<i64>)> {
    let Some(name) = as_user else {
        return Ok((OwnerFilter::system(), Actor::system(), None));
    };
    let id = user_id(store, name).await?;
    let p = store
        .users
        .principal(id)
        .await?
        .with_context(|| format!("{name} cannot sign in (disabled)"))?;
    if !p.can(right) {
        bail!("{name} lacks the right {}", right.code());
    }
    let actor = Actor::user(id, p.username.clone(), p.authority());
    Ok((p.owner_filter(), actor, Some(id)))
}
