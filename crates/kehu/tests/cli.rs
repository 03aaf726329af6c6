//! The `kehu` binary as an operator uses it: subcommands, exit codes, one-line errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn kehu(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kehu"));
    c.args(args)
        .current_dir(dir)
        .env("KEHU_DATA_DIR", dir.join("data"))
        .env("KEHU_LOG_LEVEL", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_unknown_database_scheme_is_one_clear_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let o = kehu(
        dir.path(),
        &["migrate"],
        &[("KEHU_DATABASE_URL", "mysql://root:secret@localhost/kehu")],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
    assert!(!err.contains("secret"), "the password leaked: {err}");
}

#[test]
fn an_unreachable_database_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let o = kehu(
        dir.path(),
        &["check-config"],
        &[("KEHU_DATABASE_URL", "postgres://kehu@127.0.0.1:1/kehu")],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot open the database"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn users_are_managed_and_a_token_is_printed_alone_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let pw = [("KEHU_USER_PASSWORD", "zhang-wei-2026")];
    let o = kehu(
        dir.path(),
        &[
            "user",
            "add",
            "zhangwei",
            "--role",
            "sales_supervisor",
            "--name",
            "张伟",
        ],
        &pw,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = kehu(dir.path(), &["token", "issue", "--user", "zhangwei"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert_eq!(out.trim().len(), 43);
    let o = kehu(dir.path(), &["user", "disable", "zhangwei"], &[]);
    assert!(o.status.success());
    let list = stdout(&kehu(dir.path(), &["user", "list"], &[]));
    assert!(
        list.contains("zhangwei") && list.contains("disabled") && list.contains("张伟"),
        "{list}"
    );
    let o = kehu(dir.path(), &["user", "add", "x"], &pw);
    assert!(!o.status.success(), "a two-letter user name is refused");
    // The only administrator cannot be disabled, not even from the command line.
    let o = kehu(dir.path(), &["user", "add", "boss", "--role", "admin"], &pw);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = kehu(dir.path(), &["user", "disable", "boss"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("last_administrator"), "{}", stderr(&o));
    let o = kehu(dir.path(), &["token", "issue", "--user", "nobody"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no user named"));
}

#[test]
fn demo_loads_a_company_and_a_second_run_adds_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = kehu(dir.path(), &["demo", "--customers", "40"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("demo users: 7 created"), "{out}");
    assert!(out.contains("demo data loaded: 40 customers"), "{out}");
    assert!(out.contains("demo services loaded: 200 ("), "{out}");
    // Every customer has one to three contacts, up to six orders and one to five interactions.
    let count = |line: &str, what: &str| -> u64 {
        let line = out.lines().find(|l| l.starts_with(line)).unwrap();
        line.split([':', ','])
            .find_map(|part| {
                let (n, name) = part.trim().split_once(' ')?;
                (name == what).then(|| n.parse().unwrap())
            })
            .unwrap()
    };
    assert!(
        (40..=120).contains(&count("demo data loaded", "contacts")),
        "{out}"
    );
    assert_eq!(count("demo history loaded", "products"), 10, "{out}");
    assert!(
        (1..=240).contains(&count("demo history loaded", "orders")),
        "{out}"
    );
    assert!(
        (40..=200).contains(&count("demo history loaded", "interactions")),
        "{out}"
    );
    // The loss scan over that history: some of the company's customers are at risk, not all.
    let line = out
        .lines()
        .find(|l| l.starts_with("demo loss scan"))
        .unwrap();
    assert!(line.contains("40 customers scanned"), "{out}");
    let warned: u64 = line
        .split(", ")
        .nth(1)
        .and_then(|w| w.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..40).contains(&warned), "{out}");
    let o = kehu(dir.path(), &["demo", "--customers", "10"], &[]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.contains("demo users: 0 created"), "{out}");
    assert!(out.contains("demo data loaded: 10 customers"), "{out}");
    // The catalogue is there already: the second run's orders use it.
    assert!(out.contains("demo history loaded: 0 products"), "{out}");
}

#[test]
fn backup_copies_the_sqlite_database_and_explains_pg_dump_for_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        kehu(dir.path(), &["demo", "--customers", "3"], &[])
            .status
            .success()
    );
    let out = dir.path().join("copy.db");
    let o = kehu(dir.path(), &["backup", "--out", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::metadata(&out).unwrap().len() > 10_000);
    // The copy is a working database: kehu opens it and finds the demo users.
    let url = format!("sqlite://{}", out.display());
    let list = stdout(&kehu(
        dir.path(),
        &["user", "list"],
        &[("KEHU_DATABASE_URL", url.as_str())],
    ));
    assert!(list.contains("lina") && list.contains("李娜"), "{list}");

    let pg = std::env::var("KEHU_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let o = kehu(
        dir.path(),
        &["backup"],
        &[("KEHU_DATABASE_URL", pg.as_str())],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("pg_dump"), "{}", stderr(&o));
}

#[test]
fn serve_creates_the_administrator_once_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kehu"))
        .arg("serve")
        .current_dir(dir.path())
        .env("KEHU_DATA_DIR", dir.path().join("data"))
        .env("KEHU_LISTEN", "127.0.0.1:0")
        .env("KEHU_LOG_LEVEL", "warn")
        .env_remove("KEHU_ADMIN_PASSWORD")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let addr = loop {
        let line = lines.next().expect("serve printed nothing").unwrap();
        if let Some(a) = line.strip_prefix("kehu listens on http://") {
            break a.to_owned();
        }
        printed.push(line);
        assert!(started.elapsed() < Duration::from_secs(30));
    };
    let printed = printed.join("\n");
    assert!(
        printed.contains("user name: admin") && printed.contains("password:"),
        "{printed}"
    );
    let health = std::net::TcpStream::connect(&addr);
    assert!(health.is_ok(), "kehu is not listening on {addr}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "kehu did not stop cleanly: {exit:?}");

    // The second start keeps the administrator and prints no password.
    let o = kehu(dir.path(), &["user", "list"], &[]);
    assert!(stdout(&o).contains("admin"));
}

#[test]
fn cli_tokens_expire_after_the_days_given_and_zero_means_never() {
    let dir = tempfile::tempdir().unwrap();
    let pw = [("KEHU_USER_PASSWORD", "zhang-wei-2026")];
    assert!(
        kehu(dir.path(), &["user", "add", "zhangwei"], &pw)
            .status
            .success()
    );
    for days in ["7", "0"] {
        let o = kehu(
            dir.path(),
            &[
                "token",
                "issue",
                "--user",
                "zhangwei",
                "--expires-days",
                days,
            ],
            &[],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert!(
        kehu(dir.path(), &["token", "issue", "--user", "zhangwei"], &[])
            .status
            .success()
    );
    let o = kehu(
        dir.path(),
        &[
            "token",
            "issue",
            "--user",
            "zhangwei",
            "--expires-days",
            "-1",
        ],
        &[],
    );
    assert!(!o.status.success(), "a negative lifetime is refused");

    let url = format!("sqlite://{}", dir.path().join("data/kehu.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tokens = rt.block_on(async {
        let store = kehu_store::Store::open(&url).await.unwrap();
        let u = store.users.by_username("zhangwei").await.unwrap().unwrap();
        let all = kehu_domain::policy::OwnerFilter::system();
        let filter = kehu_store::tokens::TokenFilter::of_user(u.id);
        let page = kehu_store::PageRequest::default();
        store.tokens.list(all, &filter, page).await.unwrap().items
    });
    // Newest first: the default (90 days), never, 7 days.
    let days: Vec<Option<i64>> = tokens
        .iter()
        .map(|t| {
            t.expires_at
                .map(|e| (e - chrono::Utc::now()).num_hours().div_euclid(24) + 1)
        })
        .collect();
    assert_eq!(days, [Some(90), None, Some(7)]);
}

#[test]
fn short_or_common_passwords_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (password, reason) in [("short-pw", "12 characters"), ("password1234", "common")] {
        let o = kehu(
            dir.path(),
            &["user", "add", "wangfang"],
            &[("KEHU_USER_PASSWORD", password)],
        );
        assert!(!o.status.success(), "{password} was accepted");
        assert!(stderr(&o).contains(reason), "{}", stderr(&o));
    }
}
