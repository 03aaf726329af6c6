//! `kehu check-config` as an operator runs it before going live: it warns about settings that
//! work but expose the users, and never prints a secret.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::process::{Command, Output};

fn check_config(env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_kehu"));
    c.arg("check-config")
        .current_dir(dir.path())
        .env("KEHU_DATA_DIR", dir.path().join("data"))
        .env("KEHU_LOG_LEVEL", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn a_public_address_without_secure_cookies_is_warned_about() {
    let o = check_config(&[("KEHU_LISTEN", "0.0.0.0:8080")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning:") && err.contains("KEHU_SECURE_COOKIES=true"),
        "{err}"
    );

    let o = check_config(&[
        ("KEHU_LISTEN", "0.0.0.0:8080"),
        ("KEHU_SECURE_COOKIES", "true"),
    ]);
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning:"));

    let o = check_config(&[("KEHU_LISTEN", "127.0.0.1:8080")]);
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning:"));
}

#[test]
fn the_metrics_token_and_timeout_are_read_from_the_environment_and_the_token_is_not_printed() {
    let o = check_config(&[
        ("KEHU_METRICS_TOKEN", "scrape-secret-42"),
        ("KEHU_REQUEST_TIMEOUT_SECS", "7"),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("metrics_token: Some(\"***\")"), "{out}");
    assert!(out.contains("request_timeout_secs: 7"), "{out}");
    assert!(!out.contains("scrape-secret"), "{out}");

    let o = check_config(&[("KEHU_REQUEST_TIMEOUT_SECS", "0")]);
    assert!(!o.status.success());
}

#[test]
fn an_unknown_time_zone_is_one_clear_error() {
    let o = check_config(&[("KEHU_TIME_ZONE", "Europe/Berlin")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("Europe/Berlin"), "{out}");

    let o = check_config(&[("KEHU_TIME_ZONE", "Mars/Olympus")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.to_lowercase().contains("time_zone")
            && err.contains("Mars/Olympus")
            && err.contains("IANA"),
        "{err}"
    );
    assert_eq!(err.matches("Mars/Olympus").count(), 1, "said twice: {err}");
}
