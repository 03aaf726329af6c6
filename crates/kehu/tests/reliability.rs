//! `kehu serve` under the faults an operator tried: SIGTERM with clients that never finish,
//! two instances starting together on one fresh PostgreSQL database, more idle connections than
//! the limit, and a failing request with backtraces switched on.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kehu_store::{Db, Store};

/// A running `kehu serve`, its address, what it printed and what it logged.
struct Serve {
    child: Child,
    addr: String,
    printed: String,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

fn serve(env: &[(&str, &str)]) -> Serve {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kehu"));
    c.arg("serve");
    serve_cmd(c, env)
}

/// `kehu serve` started by `c` (the binary, or a shell that sets limits and execs it).
fn serve_cmd(mut c: Command, env: &[(&str, &str)]) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    c.current_dir(dir.path())
        .env("KEHU_DATA_DIR", dir.path().join("data"))
        .env("KEHU_LISTEN", "127.0.0.1:0")
        .env("KEHU_LOG_LEVEL", "warn")
        .env_remove("KEHU_ADMIN_PASSWORD")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        while err.read_line(&mut line).unwrap_or(0) > 0 {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    let started = Instant::now();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            panic!(
                "serve stopped before listening: {printed}\n{}",
                stderr.lock().unwrap()
            );
        };
        if let Some(a) = line.strip_prefix("kehu listens on http://") {
            break a.to_owned();
        }
        printed.push_str(&line);
        printed.push('\n');
        assert!(started.elapsed() < Duration::from_secs(30), "{printed}");
    };
    // Keep reading stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Serve {
        child,
        addr,
        printed,
        stderr,
        _dir: dir,
    }
}

impl Serve {
    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; `None` (and the process killed) after `limit`.
    fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn logged(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sign-in form post whose body has only begun: the server has the request and waits.
const PARTIAL_POST: &[u8] = b"POST /login HTTP/1.1\r\nHost: kehu\r\n\
    Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\nusername=admin&";
const REST_OF_BODY: &[u8] = b"password=not-the-password";

#[test]
fn a_half_sent_request_header_does_not_keep_serve_alive_after_sigterm() {
    let mut kehu = serve(&[
        ("KEHU_SHUTDOWN_DEADLINE_SECS", "5"),
        ("KEHU_HEADER_READ_TIMEOUT_SECS", "60"),
    ]);
    let mut half = kehu.connect();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: kehu\r\nX-Slow: ")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    kehu.sigterm();
    let exit = kehu.exit_within(Duration::from_secs(8));
    assert!(
        exit.is_some_and(|s| s.success()),
        "serve did not stop cleanly: {exit:?}\n{}",
        kehu.logged()
    );
    // No request is in flight on it, so it does not even wait for the deadline.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "stopping took {:?}: the half-sent header held it",
        started.elapsed()
    );
}

#[test]
fn a_request_in_flight_at_sigterm_still_gets_its_answer() {
    let mut kehu = serve(&[("KEHU_SHUTDOWN_DEADLINE_SECS", "10")]);
    let mut conn = kehu.connect();
    conn.write_all(PARTIAL_POST).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    kehu.sigterm();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        kehu.running(),
        "serve did not wait for the request in flight"
    );
    // New clients are refused while the last request finishes.
    assert!(TcpStream::connect(&kehu.addr).is_err());
    conn.write_all(REST_OF_BODY).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 "), "{answer:?}");
    let exit = kehu.exit_within(Duration::from_secs(5));
    assert!(exit.is_some_and(|s| s.success()), "{exit:?}");
}

#[test]
fn a_request_unfinished_at_the_deadline_does_not_keep_serve_alive() {
    let mut kehu = serve(&[("KEHU_SHUTDOWN_DEADLINE_SECS", "2")]);
    let mut conn = kehu.connect();
    conn.write_all(PARTIAL_POST).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    kehu.sigterm();
    let exit = kehu.exit_within(Duration::from_secs(6));
    let took = started.elapsed();
    assert!(exit.is_some_and(|s| s.success()), "{exit:?}");
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(4),
        "stopping took {took:?}: the deadline is 2 s"
    );
    assert!(
        kehu.logged().contains("shutdown deadline passed"),
        "{}",
        kehu.logged()
    );
}

#[test]
fn the_connection_limit_is_logged_once_while_idle_connections_queue_and_healthz_still_answers() {
    let kehu = serve(&[
        ("KEHU_MAX_CONNECTIONS", "2"),
        ("KEHU_HEADER_READ_TIMEOUT_SECS", "1"),
    ]);
    let idle: Vec<TcpStream> = (0..6).map(|_| kehu.connect()).collect();
    let started = Instant::now();
    let mut health = kehu.connect();
    health
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: kehu\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    health.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the limit was not applied"
    );
    drop(idle);
    let lines = kehu
        .logged()
        .lines()
        .filter(|l| l.contains("connection limit reached"))
        .count();
    assert_eq!(lines, 1, "{}", kehu.logged());
}

#[test]
fn a_failing_request_logs_one_error_line_with_its_request_id_even_with_backtraces_on() {
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("kehu.db");
    let url = format!("sqlite://{}", db_file.display());
    let kehu = serve(&[
        ("KEHU_DATABASE_URL", url.as_str()),
        ("KEHU_ADMIN_PASSWORD", "admin-pass-123"),
        ("RUST_BACKTRACE", "1"),
    ]);
    let token = Command::new(env!("CARGO_BIN_EXE_kehu"))
        .args(["token", "issue", "--user", "admin"])
        .env("KEHU_DATABASE_URL", url.as_str())
        .env("KEHU_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    // The audit log disappears behind kehu's back: reading it is an internal error.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::connect(&url).await.unwrap();
        db.execute_raw("DROP TABLE audit_log").await.unwrap();
        db.close().await;
    });
    let mut conn = kehu.connect();
    write!(
        conn,
        "GET /api/v1/audit HTTP/1.1\r\nHost: kehu\r\nAuthorization: Bearer {token}\r\n\
         X-Request-Id: 6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    // The log line is written before the answer; give the reader thread a moment.
    std::thread::sleep(Duration::from_millis(200));
    let logged = kehu.logged();
    let lines: Vec<&str> = logged.lines().collect();
    assert_eq!(lines.len(), 1, "{logged}");
    assert!(
        lines[0].contains("ERROR") && lines[0].contains("6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"),
        "{logged}"
    );
    assert!(
        lines[0].contains("audit_log"),
        "the cause is named: {logged}"
    );
    assert!(
        !lines[0].contains('\x1b'),
        "colour codes in a piped log: {logged}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_on_one_fresh_postgresql_schema_both_start_with_one_administrator() {
    let base = std::env::var("KEHU_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("kehu_cli_{}", std::process::id());
    let admin = Db::connect(&base).await.unwrap();
    admin
        .execute_raw(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await
        .unwrap();
    let url = format!("{base}?options[search_path]={schema}");
    let env = [("KEHU_DATABASE_URL", url.as_str())];
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| serve(&env));
        let b = s.spawn(|| serve(&env));
        (a.join(), b.join())
    });
    let (mut a, mut b) = (
        a.expect("the first instance"),
        b.expect("the second instance"),
    );
    let created = [&a, &b]
        .iter()
        .filter(|k| k.printed.contains("user name: admin"))
        .count();
    assert_eq!(created, 1, "{}\n{}", a.printed, b.printed);
    for k in [&mut a, &mut b] {
        k.sigterm();
        let exit = k.exit_within(Duration::from_secs(10));
        assert!(exit.is_some_and(|s| s.success()), "{}", k.logged());
    }
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.users.count().await.unwrap(), 1);
    store.db.close().await;
    admin
        .execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    admin.close().await;
}

/// CPU time (user + system) the process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn more_idle_connections_than_open_files_allowed_neither_spin_nor_stop_healthz() {
    let mut sh = Command::new("sh");
    sh.args([
        "-c",
        "ulimit -n 128 && exec \"$0\" serve",
        env!("CARGO_BIN_EXE_kehu"),
    ]);
    let kehu = serve_cmd(sh, &[("KEHU_HEADER_READ_TIMEOUT_SECS", "1")]);
    let cpu_before = cpu_ticks(kehu.child.id());
    let idle: Vec<TcpStream> = (0..200).map(|_| kehu.connect()).collect();
    let started = Instant::now();
    let mut health = kehu.connect();
    health
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: kehu\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    health.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    let waited = started.elapsed();
    let cpu = cpu_ticks(kehu.child.id()) - cpu_before;
    drop(idle);
    let logged = kehu.logged();
    assert!(
        waited < Duration::from_secs(10),
        "/healthz answered after {waited:?}"
    );
    // Spinning on "too many open files" would burn a core for the whole wait.
    assert!(cpu < 100, "{cpu} ticks of CPU in {waited:?}");
    assert_eq!(
        logged.matches("lowered to fit the open-file limit").count(),
        1,
        "{logged}"
    );
    assert!(!logged.contains("Too many open files"), "{logged}");
}
