//! First start: the administrator account. Its password comes from `KEHU_ADMIN_PASSWORD`
//! (then it is not forced to change) or is generated, printed once, and must be changed at
//! first sign-in.

use anyhow::Context as _;
use kehu_domain::secrets::generate_password;
use kehu_store::Store;
use kehu_store::roles::ADMIN_ROLE;
use kehu_store::users::NewUser;

/// What the first start did about the administrator.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// Users exist already: nothing to do.
    Existing,
    /// Created with the configured password.
    Configured,
    /// Created with this generated password, to print once.
    Generated(String),
}

/// Creates `admin` unless an account exists. Idempotent and safe when several instances start
/// together on one database: exactly one of them creates it, the others report `Existing`.
pub async fn bootstrap_admin(
    store: &Store,
    configured: Option<&str>,
) -> anyhow::Result<AdminBootstrap> {
    if store.users.count().await? > 0 {
        return Ok(AdminBootstrap::Existing);
    }
    let role = store
        .roles
        .by_code(ADMIN_ROLE)
        .await?
        .context("the administrator role is missing: run `kehu migrate`")?;
    let (password, outcome) = match configured.filter(|p| !p.is_empty()) {
        Some(p) => {
            kehu_domain::user::NewPassword::parse("password", p).map_err(|e| {
                anyhow::anyhow!(
                    "KEHU_ADMIN_PASSWORD is refused: {}",
                    kehu_domain::user::NewPassword::refusal(&e.code)
                )
            })?;
            (p.to_owned(), AdminBootstrap::Configured)
        }
        None => {
            let p = generate_password();
            (p.clone(), AdminBootstrap::Generated(p))
        }
    };
    let new = NewUser {
        username: "admin".into(),
        display_name: "系统管理员".into(),
        email: None,
        role_id: role.id,
        password_hash: crate::passwords::hash(&password)
            .await
            .map_err(|e| anyhow::anyhow!("hashing the administrator password: {e}"))?,
        must_change_password: matches!(outcome, AdminBootstrap::Generated(_)),
    };
    // Another instance starting on the same database may have won the race: that is fine.
    match store.users.create_first(&new).await? {
        Some(_) => Ok(outcome),
        None => Ok(AdminBootstrap::Existing),
    }
}
