//! Storage faults as an operator meets them: the SQLite database's disk fills up (a small
//! tmpfs, mounted by the test as root), and writes must answer a clear 503 `storage_full`
//! while reads keep working, then work again as soon as space is freed, without a restart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kehu_testkit::reqwest::{Method, header};
use kehu_testkit::{TestApp, TestBackend, bearer, spawn_at};
use serde_json::{Value, json};

/// A tmpfs of `size` mounted at a fresh directory; unmounted when dropped.
struct SmallDisk {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let euid = Command::new("id").arg("-u").output().expect("id -u");
        assert_eq!(
            String::from_utf8_lossy(&euid.stdout).trim(),
            "0",
            "the disk-full test mounts a small tmpfs and needs root (CI runs as root)"
        );
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("disk");
        std::fs::create_dir(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount");
        assert!(ok.success(), "mounting a tmpfs at {}", dir.display());
        Self {
            dir,
            _parent: parent,
        }
    }

    /// Fills the rest of the disk with a file; returns its path.
    fn fill(&self) -> PathBuf {
        let filler = self.dir.join("filler");
        // dd stops with "No space left on device", which is the point.
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", filler.display()))
            .output();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

async fn create_item(app: &TestApp, token: &str, n: usize) -> (u16, Value, Option<String>) {
    let resp = bearer(
        app,
        token,
        Method::POST,
        "/api/v1/dictionary",
        Some(json!({"kind": "industry", "item": format!("it{n}"), "value": format!("行业 {n}")})),
    )
    .await;
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body, retry)
}

async fn readiness(app: &TestApp) -> (u16, String) {
    let resp = app.client().get(app.url("/readyz")).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("kehu.db").display())
}

#[tokio::test]
async fn a_full_disk_answers_storage_full_keeps_reads_and_recovers_when_space_is_freed() {
    let disk = SmallDisk::mount("4m");
    let app = spawn_at(TestBackend::Sqlite, db_url(&disk.dir), |_| {}).await;
    let token = app.token_for("admin").await;
    assert_eq!(create_item(&app, &token, 0).await.0, 201);

    let filler = disk.fill();
    // The database may still have free pages or WAL room: write until the disk says no.
    let mut full = None;
    for n in 1..2000 {
        let (status, body, retry) = create_item(&app, &token, n).await;
        assert!(status == 201 || status == 503, "write {n}: {status} {body}");
        if status == 503 {
            full = Some((body, retry));
            break;
        }
    }
    let (body, retry) = full.expect("writes never failed on a full disk");
    assert_eq!(body["code"], "storage_full", "{body}");
    assert_eq!(body["status"], 503);
    assert_eq!(retry.as_deref(), Some("60"));

    // Every further write says the same, none is a 500; reads keep working.
    for n in 5000..5010 {
        let (status, body, _) = create_item(&app, &token, n).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("storage_full")),
            "{body}"
        );
    }
    let list = bearer(
        &app,
        &token,
        Method::GET,
        "/api/v1/dictionary?kind=industry",
        None,
    )
    .await;
    assert_eq!(list.status(), 200);
    assert_eq!(readiness(&app).await, (503, "storage full".into()));

    // Space comes back: writes work again at once, no restart.
    std::fs::remove_file(filler).unwrap();
    let mut recovered = false;
    for n in 6000..6020 {
        let (status, body, _) = create_item(&app, &token, n).await;
        assert!(status == 201 || status == 503, "{status} {body}");
        if status == 201 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recovered, "writes did not recover after space was freed");
    for n in 7000..7020 {
        assert_eq!(create_item(&app, &token, n).await.0, 201, "write {n}");
    }
    assert_eq!(readiness(&app).await, (200, "ready".into()));
    drop(app);
}

/// A PostgreSQL server of the test's own, on its own port, that the test can stop and start.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries (Debian's postgresql) are needed for this test")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("pg_ctl").exists())
            .max()
            .expect("no pg_ctl under /usr/lib/postgresql");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // The server refuses to run as root: it runs as the `postgres` user.
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let pg = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        let init = pg.as_postgres("initdb", &["-A", "trust", "-U", "postgres", "-D"]);
        assert!(init.success(), "initdb failed");
        pg.ctl("start");
        pg
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) -> std::process::ExitStatus {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .arg(&self.data)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("runuser")
    }

    fn ctl(&self, action: &str) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.data.display()
        );
        let status = match action {
            "start" => self.as_postgres(
                "pg_ctl",
                &["-w", "-o", &opts, "-l", "/dev/null", "start", "-D"],
            ),
            _ => self.as_postgres("pg_ctl", &["-w", "-m", "immediate", "stop", "-D"]),
        };
        assert!(status.success(), "pg_ctl {action} failed");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.as_postgres("pg_ctl", &["-m", "immediate", "stop", "-D"]);
    }
}

#[tokio::test]
async fn with_postgresql_stopped_requests_answer_503_at_once_and_recover_without_a_restart() {
    let pg = PrivatePostgres::start();
    let app = spawn_at(TestBackend::Postgres, pg.url(), |_| {}).await;
    let token = app.token_for("admin").await;
    let users = || bearer(&app, &token, Method::GET, "/api/v1/users", None);
    assert_eq!(users().await.status(), 200);

    pg.ctl("stop");
    for attempt in 0..5 {
        let start = std::time::Instant::now();
        let resp = users().await;
        let took = start.elapsed();
        let status = resp.status().as_u16();
        let retry = resp.headers().get(header::RETRY_AFTER).is_some();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("storage_unavailable")),
            "{body}"
        );
        assert!(retry, "503 without Retry-After");
        assert!(
            took < Duration::from_secs(1),
            "attempt {attempt} took {took:?}"
        );
    }
    assert_eq!(readiness(&app).await.0, 503);

    pg.ctl("start");
    let start = std::time::Instant::now();
    loop {
        if users().await.status() == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no recovery after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(readiness(&app).await, (200, "ready".into()));
    drop(app);
}
