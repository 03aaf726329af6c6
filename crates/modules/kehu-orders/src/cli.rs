//! `kehu import products|orders FILE`: the command line's side of the product and order
//! imports, with the flags, progress bar and report of the customer module's imports.

use chrono::{Offset, Utc};
use kehu_customers::cli::{ImportFlags, Progressing, acting};
use kehu_domain::Right;
use kehu_store::Store;
use kehu_web::Config;

use crate::import::{self, Kind};
use crate::store::OrderStore;

/// Imports a product or order file as `--as` (who must hold `product.write` or
/// `order.write`; default: the system, every customer).
pub async fn import(
    store: &Store,
    config: &Config,
    kind: Kind,
    a: &ImportFlags,
) -> anyhow::Result<()> {
    let right = match kind {
        Kind::Products => Right::ProductWrite,
        Kind::Orders => Right::OrderWrite,
    };
    let (scope, actor, _) = acting(store, a.as_user.as_deref(), right).await?;
    let offset = Utc::now()
        .with_timezone(&config.time_zone.tz())
        .offset()
        .fix();
    let orders = OrderStore::new(store.db.clone(), offset);
    let options = a.options();
    let run = Progressing::start(&a.file);
    let result = import::import_file(&orders, kind, scope, actor, &a.file, &options, |p| {
        run.show(p)
    })
    .await;
    run.finish(&a.file, &kind.fields(), result)
}
