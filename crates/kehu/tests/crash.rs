//! Crash consistency: `kill -9` in the middle of a burst of writes, then a restart — every
//! write the client was told succeeded is there, with its audit entry, on SQLite (which syncs
//! every commit) and on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kehu_store::audit::AuditFilter;
use kehu_store::{Db, PageRequest, Store};
use kehu_testkit::{TestBackend, fresh_database, postgres_url};
use serde_json::json;

const ADMIN_PW: &str = "crash-admin-pass-2026";

fn serve(dir: &std::path::Path, url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kehu"))
        .arg("serve")
        .current_dir(dir)
        .env("KEHU_DATA_DIR", dir.join("data"))
        .env("KEHU_DATABASE_URL", url)
        .env("KEHU_LISTEN", "127.0.0.1:0")
        .env("KEHU_LOG_LEVEL", "error")
        .env("KEHU_ADMIN_PASSWORD", ADMIN_PW)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let addr = loop {
        let line = lines.next().expect("serve printed nothing").unwrap();
        if let Some(a) = line.strip_prefix("kehu listens on http://") {
            break a.to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(30));
    };
    (child, addr)
}

fn token(dir: &std::path::Path, url: &str) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_kehu"))
        .args(["token", "issue", "--user", "admin"])
        .current_dir(dir)
        .env("KEHU_DATABASE_URL", url)
        .env("KEHU_LOG_LEVEL", "error")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

async fn burst_then_kill(backend: TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    let (mut child, addr) = serve(dir.path(), &url);
    let token = token(dir.path(), &url);
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let client = kehu_testkit::reqwest::Client::new();

    // 16 writers create items as fast as they can until the server is gone.
    let mut writers = Vec::new();
    for w in 0..16 {
        let (client, token, addr, acked) =
            (client.clone(), token.clone(), addr.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let item = format!("w{w}n{n}");
                let sent = client
                    .post(format!("http://{addr}/api/v1/dictionary"))
                    .bearer_auth(&token)
                    .json(&json!({"kind": "crash_test", "item": item, "value": "崩溃测试"}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => {
                        acked.lock().unwrap().insert(item);
                    }
                    Ok(r) => panic!("write {item} answered {}", r.status()),
                    Err(_) => return,
                }
            }
        }));
    }
    // Let the burst run, then pull the plug.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the burst is too slow"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    // The database as the next start finds it.
    let store = Store::open(&url).await.unwrap();
    let items = store
        .dictionary
        .list(Some("crash_test"), PageRequest::new(None, Some(200)))
        .await
        .unwrap();
    let total = usize::try_from(items.total).unwrap();
    let mut found = BTreeSet::new();
    for page in 1..=total.div_ceil(200) {
        let p = store
            .dictionary
            .list(
                Some("crash_test"),
                PageRequest::new(Some(page as u64), Some(200)),
            )
            .await
            .unwrap();
        found.extend(p.items.into_iter().map(|e| (e.id, e.item)));
    }
    let stored: BTreeSet<String> = found.iter().map(|(_, item)| item.clone()).collect();
    let missing: Vec<_> = acked.difference(&stored).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    // Each stored item has its audit entry.
    let filter = AuditFilter {
        entity: Some("dictionary".into()),
        ..AuditFilter::default()
    };
    let mut audited = BTreeSet::new();
    let mut page = 1;
    loop {
        let p = store
            .audit
            .list(&filter, PageRequest::new(Some(page), Some(200)))
            .await
            .unwrap();
        let n = p.items.len();
        audited.extend(p.items.into_iter().map(|e| e.entity_id));
        if n < 200 {
            break;
        }
        page += 1;
    }
    for (id, item) in &found {
        assert!(
            audited.contains(&id.to_string()),
            "{item} has no audit entry"
        );
    }
    eprintln!(
        "{backend:?}: {} acknowledged, {} stored, none lost",
        acked.len(),
        stored.len()
    );
    store.db.close().await;
    if backend == TestBackend::Postgres {
        let schema = url
            .split("options[search_path]=")
            .nth(1)
            .unwrap()
            .to_owned();
        let db = Db::connect(&postgres_url()).await.unwrap();
        let _ = db
            .execute_raw(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await;
        db.close().await;
    }
}

#[tokio::test]
async fn kill_9_during_writes_loses_no_acknowledged_write_on_sqlite() {
    burst_then_kill(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn kill_9_during_writes_loses_no_acknowledged_write_on_postgres() {
    burst_then_kill(TestBackend::Postgres).await;
}
