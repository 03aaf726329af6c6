//! The loss scan and the win-back on SQLite and PostgreSQL, on fixed data: who is warned
//! (past the threshold, not at it; never ordered by the setting), that a second scan and two
//! at once warn nobody twice, that a stopped scan is taken up where it stopped, and that a new
//! order — or a newer last order the scan finds — wins a warned or lost customer back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use chrono::{FixedOffset, Utc};
use kehu_loss::domain::{Settings, Threshold};
use kehu_loss::store::LossStore;
use kehu_store::audit::Actor;
use kehu_testkit::TestBackend;
use kehu_testkit::reqwest::Method;
use serde_json::json;

mod common;
use common::{GUANGDONG, World, ZHEJIANG, ago, midnight, on_both, today, world};

on_both!(
    the_scan_warns_the_customers_past_the_threshold_and_no_one_twice,
    customers_that_never_ordered_are_judged_by_the_setting,
    a_new_order_wins_back_a_warned_or_lost_customer,
    the_scan_closes_a_record_whose_customer_ordered_meanwhile,
    two_scans_at_once_open_one_record_per_customer,
    a_stopped_scan_is_taken_up_where_it_stopped,
);

fn loss(w: &World) -> LossStore {
    LossStore::new(
        w.app.store.db.clone(),
        FixedOffset::east_opt(8 * 3600).unwrap(),
    )
}

fn six_months(never_ordered: bool) -> Settings {
    Settings {
        threshold: Threshold::new(6).unwrap(),
        never_ordered,
    }
}

async fn the_scan_warns_the_customers_past_the_threshold_and_no_one_twice(b: TestBackend) {
    // Arrange: a manager's customers, last ordering a day past six months ago, exactly six
    // months ago, a month ago, and the one past the threshold ordering twice (the old order
    // first, then an older one entered after it: the last order stays the newer).
    let w = world(b).await;
    let (manager, t) = w.user("wang", "account_manager").await;
    let past = w.customer(&t, "过期贸易", GUANGDONG).await;
    let exactly = w.customer(&t, "整半年商行", GUANGDONG).await;
    let recent = w.customer(&t, "常客实业", ZHEJIANG).await;
    w.order(&t, past, ago(6, 1)).await;
    w.order(&t, past, ago(9, 0)).await;
    w.order(&t, exactly, ago(6, 0)).await;
    w.order(&t, recent, ago(1, 0)).await;

    // Act
    let first = w.scan().await;
    let second = w.scan().await;

    // Assert: one warning, for the customer past the threshold only, with its manager and
    // last order; the second scan finds nothing new.
    assert_eq!(
        first,
        json!({"scanned": 3, "warned": 1, "closed": 0, "errors": 0})
    );
    assert_eq!(second["warned"], 0, "{second}");
    let all = w.records(&w.admin, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
    let r = &all[0];
    assert_eq!(r["customer_id"], past);
    assert_eq!(r["owner_id"], manager);
    assert_eq!(r["status"], "warning");
    assert_eq!(r["region"], GUANGDONG);
    assert_eq!(
        r["last_order_at"],
        midnight(ago(6, 1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(r["measures"], json!([]));
    assert!(r["days_since_order"].as_i64().unwrap() >= 181, "{r}");
    assert_eq!(w.status_of(past).await, "loss_warned");
    assert_eq!(w.status_of(exactly).await, "active");
    assert_eq!(w.status_of(recent).await, "active");
    // The warning and the status move are in the audit log, as the system's.
    let (_, log) = w
        .call(
            &w.admin,
            Method::GET,
            &format!("/api/v1/audit?entity=customer&entity_id={past}"),
            None,
        )
        .await;
    let moved = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["changes"]["status"] == json!({"before": "active", "after": "loss_warned"}));
    assert!(moved, "{log}");
}

async fn customers_that_never_ordered_are_judged_by_the_setting(b: TestBackend) {
    // Arrange: two customers that never ordered, one entered seven months ago, one today.
    let w = world(b).await;
    let (_, t) = w.user("li", "account_manager").await;
    let old = w.customer(&t, "老档案公司", GUANGDONG).await;
    let new = w.customer(&t, "新建档公司", GUANGDONG).await;
    w.created_on(old, ago(7, 0)).await;
    let store = loss(&w);

    // Act: excluded first (an administrator's setting), then included.
    let excluded = store
        .scan(six_months(false), &Actor::system(), |_, _| {})
        .await
        .unwrap();
    let included = store
        .scan(six_months(true), &Actor::system(), |_, _| {})
        .await
        .unwrap();

    // Assert: excluded, nobody; included, the old one only, without a last order.
    assert_eq!((excluded.scanned, excluded.warned), (2, 0));
    assert_eq!((included.scanned, included.warned), (2, 1));
    let r = w.record_of(old).await;
    assert_eq!(r["last_order_at"], json!(null), "{r}");
    assert_eq!(r["days_since_order"], json!(null), "{r}");
    assert_eq!(w.status_of(new).await, "active");
}

async fn a_new_order_wins_back_a_warned_or_lost_customer(b: TestBackend) {
    // Arrange: three customers warned; one of them confirmed lost.
    let w = world(b).await;
    let (_, t) = w.user("zhao", "account_manager").await;
    let warned = w.customer(&t, "预警客户", GUANGDONG).await;
    let lost = w.customer(&t, "流失客户", GUANGDONG).await;
    let history = w.customer(&t, "补录客户", GUANGDONG).await;
    for c in [warned, lost, history] {
        w.order(&t, c, ago(8, 0)).await;
    }
    assert_eq!(w.scan().await["warned"], 3);
    let id = w.record_of(lost).await["id"].as_i64().unwrap();
    let (s, r) = w
        .call(
            &t,
            Method::POST,
            &format!("/api/v1/loss-records/{id}/confirm"),
            Some(json!({"reason": "price", "detail": "嫌贵"})),
        )
        .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("confirmed")), "{r}");
    assert_eq!(w.status_of(lost).await, "lost");

    // Act: the warned and the lost one order today; the third gets an old order entered
    // after the fact (older than the last order it was warned for).
    let o1 = w.order(&t, warned, today()).await;
    let o2 = w.order(&t, lost, today()).await;
    w.order(&t, history, ago(10, 0)).await;

    // Assert: the first two won back by their orders and active again; the third still warned.
    for (c, o) in [(warned, o1), (lost, o2)] {
        let r = w.record_of(c).await;
        assert_eq!(r["status"], "won_back", "{r}");
        assert_eq!(r["won_back_order_id"], o, "{r}");
        assert!(r["won_back_at"].is_string(), "{r}");
        assert_eq!(w.status_of(c).await, "active");
    }
    assert_eq!(w.record_of(history).await["status"], "warning");
    assert_eq!(w.status_of(history).await, "loss_warned");
    // The won back are not warned again; a measure on a won-back record is refused.
    assert_eq!(w.scan().await["warned"], 0);
    let id = w.record_of(warned).await["id"].as_i64().unwrap();
    let (s, p) = w
        .call(
            &t,
            Method::POST,
            &format!("/api/v1/loss-records/{id}/measures"),
            Some(json!({"measure": "回访"})),
        )
        .await;
    assert_eq!(
        (s, p["reason"].as_str()),
        (409, Some("err-loss-closed")),
        "{p}"
    );
}

async fn the_scan_closes_a_record_whose_customer_ordered_meanwhile(b: TestBackend) {
    // Arrange: a warned customer whose last order moves on without an order through kehu
    // (another system wrote it), and one whose manager changed.
    let w = world(b).await;
    let (_, t) = w.user("qian", "account_manager").await;
    let (other, _) = w.user("sun", "account_manager").await;
    let moved_on = w.customer(&t, "外部下单公司", GUANGDONG).await;
    let handed = w.customer(&t, "转交客户", GUANGDONG).await;
    w.order(&t, moved_on, ago(7, 0)).await;
    w.order(&t, handed, ago(7, 0)).await;
    w.scan().await;
    w.set(moved_on, "last_order_at", midnight(ago(0, 3))).await;
    let (s, c) = w
        .call(
            &w.admin,
            Method::PATCH,
            &format!("/api/v1/customers/{handed}"),
            Some(json!({"owner_id": other, "version": 1})),
        )
        .await;
    assert_eq!(s, 200, "{c}");

    // Act
    let f = w.scan().await;

    // Assert: closed as won back (by no order), active; the other follows its new manager.
    assert_eq!(
        (f["closed"].as_i64(), f["warned"].as_i64()),
        (Some(1), Some(0)),
        "{f}"
    );
    let r = w.record_of(moved_on).await;
    assert_eq!(
        (r["status"].as_str(), &r["won_back_order_id"]),
        (Some("won_back"), &json!(null))
    );
    assert_eq!(w.status_of(moved_on).await, "active");
    assert_eq!(w.record_of(handed).await["owner_id"], other);
}

async fn two_scans_at_once_open_one_record_per_customer(b: TestBackend) {
    // Arrange: 300 customers past the threshold (more than one batch of ids would hold if
    // the batches were small; here: one writer waits for the other).
    let w = world(b).await;
    let (_, t) = w.user("zhou", "account_manager").await;
    let first = w.customer(&t, "客户0", GUANGDONG).await;
    for i in 1..300 {
        w.customer(&t, &format!("客户{i}"), GUANGDONG).await;
    }
    for id in first..first + 300 {
        w.created_on(id, ago(7, 0)).await;
    }
    let (a, b2) = (loss(&w), loss(&w));

    // Act: two scans at once, around the job runner's lease (as two instances would if it
    // failed).
    let actor = Actor::system();
    let (x, y) = tokio::join!(
        a.scan(six_months(true), &actor, |_, _| {}),
        b2.scan(six_months(true), &actor, |_, _| {}),
    );

    // Assert: every customer warned once between them, one record each.
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.warned + y.warned, 300, "{x:?} {y:?}");
    let (_, l) = w
        .call(
            &w.admin,
            Method::GET,
            "/api/v1/loss-records?per_page=1",
            None,
        )
        .await;
    assert_eq!(l["total"], 300, "{l}");
}

async fn a_stopped_scan_is_taken_up_where_it_stopped(b: TestBackend) {
    // Arrange: four customers past the threshold; a scan today stopped after the first two
    // (its progress as a batch records it).
    let w = world(b).await;
    let (_, t) = w.user("wu", "account_manager").await;
    let mut ids = Vec::new();
    for name in ["甲", "乙", "丙", "丁"] {
        let id = w.customer(&t, &format!("{name}公司"), GUANGDONG).await;
        w.order(&t, id, ago(7, 0)).await;
        ids.push(id);
    }
    let s = six_months(true);
    let today = Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap());
    let cutoff = s.threshold.cutoff(today.date_naive(), *today.offset());
    let db = &w.app.store.db;
    let (row, _) = kehu_loss::progress::take_up(db, cutoff, true)
        .await
        .unwrap();
    let done = kehu_loss::store::ScanFigures {
        scanned: 2,
        warned: 2,
        ..Default::default()
    };
    db.write(async |tx| kehu_loss::progress::batch_done(tx, row.id, ids[1], &done).await)
        .await
        .unwrap();

    // Act
    let f = loss(&w).scan(s, &Actor::system(), |_, _| {}).await.unwrap();

    // Assert: the scan went on after the second customer (the first two are left to the
    // next scan), and its figures count the part done before it stopped.
    assert_eq!((f.scanned, f.warned), (4, 4), "{f:?}");
    assert_eq!(w.status_of(ids[0]).await, "active");
    assert_eq!(w.status_of(ids[2]).await, "loss_warned");
    assert_eq!(w.status_of(ids[3]).await, "loss_warned");
    // The next scan starts afresh and warns the first two.
    let again = loss(&w).scan(s, &Actor::system(), |_, _| {}).await.unwrap();
    assert_eq!((again.scanned, again.warned), (4, 2), "{again:?}");
}

#[tokio::test]
async fn a_scan_on_postgresql_renews_the_statistics_of_the_tables_it_wrote() {
    // Arrange: three customers past the threshold, the planner never told of a loss record.
    let w = world(TestBackend::Postgres).await;
    let (_, t) = w.user("zheng", "account_manager").await;
    for name in ["甲", "乙", "丙"] {
        let id = w.customer(&t, &format!("{name}商行"), GUANGDONG).await;
        w.order(&t, id, ago(7, 0)).await;
    }
    // The planner's idea of a table's size (-1 = never measured).
    let size = async |table: &str| {
        let q = sea_query::Query::select()
            .expr(sea_query::Expr::cust(format!(
                "(SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = '{table}'::regclass)"
            )))
            .to_owned();
        let (rows,): (i64,) = w.app.store.db.fetch_one(&q).await.unwrap();
        rows
    };
    assert!(size("loss_records").await <= 0);

    // Act
    let f = w.scan().await;

    // Assert: the lists are planned for the three records the scan opened, not for an empty
    // table (what made a page take 5 s at a million customers).
    assert_eq!(f["warned"], 3, "{f}");
    assert_eq!(size("loss_records").await, 3);
    assert_eq!(size("customers").await, 3);
}
