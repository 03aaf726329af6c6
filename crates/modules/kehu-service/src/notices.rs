//! What the service module tells people in their inbox (`kehu_store::inbox`), pushed in the
//! transaction of the change: a handler that a service was given to them (or given back,
//! the customer not satisfied), the one who took it that it was handled.

use kehu_store::StoreResult;
use kehu_store::db::Tx;
use kehu_store::inbox::{self, NoticeDraft};

use crate::store::Service;

fn notice<'a>(kind: &'a str, s: &Service, subject: &'a str) -> NoticeDraft<'a> {
    NoticeDraft {
        kind,
        record: "service",
        record_id: s.id,
        subject,
    }
}

fn subject(s: &Service) -> String {
    format!("{} {}", s.number, s.title)
}

/// `s` was given to `handler`.
pub async fn assigned(tx: &mut Tx, s: &Service, handler: i64) -> StoreResult<()> {
    let subject = subject(s);
    inbox::push(tx, handler, notice("service-assigned", s, &subject)).await
}

/// `s` was handled: its creator hears of it (unless they handled it themselves).
pub async fn handled(tx: &mut Tx, s: &Service) -> StoreResult<()> {
    if s.handled_by == Some(s.owner_id) {
        return Ok(());
    }
    let subject = subject(s);
    inbox::push(tx, s.owner_id, notice("service-handled", s, &subject)).await
}

/// `s` came back to `handler`: the customer was not satisfied.
pub async fn reopened(tx: &mut Tx, s: &Service, handler: i64) -> StoreResult<()> {
    let subject = subject(s);
    inbox::push(tx, handler, notice("service-reopened", s, &subject)).await
}
