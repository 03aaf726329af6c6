//! `kehu import` and `kehu export` as an operator runs them: the summary line, the rejects
//! file, exit 0 when the run completed (rejected rows or not) and non-zero with one clear line
//! when it could not run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;
use std::process::{Command, Output};

fn kehu(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kehu"))
        .args(args)
        .current_dir(dir)
        .env("KEHU_DATA_DIR", dir.join("data"))
        .env("KEHU_LOG_LEVEL", "warn")
        .env("KEHU_USER_PASSWORD", "zhang-wei-2026")
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["user", "add", "admin", "--role", "admin"][..],
        &["user", "add", "lina", "--name", "李娜"][..],
    ] {
        let o = kehu(dir.path(), args);
        assert!(o.status.success(), "{}", err(&o));
    }
    dir
}

#[test]
fn an_import_with_rejected_rows_completes_prints_the_summary_and_exits_zero() {
    let dir = setup();
    let text = "客户名称,地区,客户经理,手机,联系人\r\n甲公司,广东省,李娜,13800138000,张三\r\n乙公司,火星,,,\r\n";
    let gbk = encoding_rs::GBK.encode(text).0.into_owned();
    std::fs::write(dir.path().join("客户.csv"), gbk).unwrap();
    let o = kehu(dir.path(), &["import", "customers", "客户.csv"]);
    assert!(o.status.success(), "{}", err(&o));
    let stdout = out(&o);
    assert!(
        stdout.contains("imported 1, updated 0, skipped 0, rejected 1"),
        "{stdout}"
    );
    assert!(stdout.contains("客户.rejects.csv"), "{stdout}");
    let rejects = std::fs::read_to_string(dir.path().join("客户.rejects.csv")).unwrap();
    assert!(
        rejects.contains("乙公司,火星,,,,3,Region: The data dictionary has no such value."),
        "{rejects}"
    );
    // Again, skipping duplicates: nothing new, and the rejected row is rejected again.
    let o = kehu(
        dir.path(),
        &["import", "customers", "客户.csv", "--on-duplicate", "skip"],
    );
    assert!(out(&o).contains("imported 0, updated 0, skipped 1, rejected 1"));
    let o = kehu(
        dir.path(),
        &[
            "import",
            "customers",
            "客户.csv",
            "--on-duplicate",
            "update",
            "--rejects",
            "bad.csv",
        ],
    );
    assert!(out(&o).contains("imported 0, updated 1, skipped 0, rejected 1"));
    assert!(dir.path().join("bad.csv").exists());

    // Out and back: the export names the region by its label and the manager by name.
    let o = kehu(
        dir.path(),
        &["export", "customers", "--format", "csv", "-o", "out.csv"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let csv = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(csv.contains(",甲公司,李娜,广东省,"), "{csv}");
    let o = kehu(
        dir.path(),
        &["export", "contacts", "--format", "vcf", "-o", "out.vcf"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let vcf = std::fs::read_to_string(dir.path().join("out.vcf")).unwrap();
    assert!(
        vcf.contains("VERSION:4.0") && vcf.contains("FN:张三"),
        "{vcf}"
    );
}

#[test]
fn an_import_that_cannot_run_fails_with_one_line_and_writes_nothing() {
    let dir = setup();
    let o = kehu(dir.path(), &["import", "customers", "nope.csv"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("nope.csv"), "{}", err(&o));
    assert_eq!(err(&o).trim().lines().count(), 1, "{}", err(&o));

    std::fs::write(dir.path().join("x.csv"), "地区,手机\n广东省,13800138000\n").unwrap();
    let o = kehu(dir.path(), &["import", "customers", "x.csv"]);
    assert!(!o.status.success());
    let e = err(&o);
    assert!(
        e.contains("required columns") && e.contains("Customer name"),
        "{e}"
    );
    assert!(!dir.path().join("x.rejects.csv").exists());

    std::fs::write(
        dir.path().join("old.xls"),
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest",
    )
    .unwrap();
    let o = kehu(dir.path(), &["import", "customers", "old.xls"]);
    assert!(!o.status.success());
    assert!(err(&o).contains(".xlsx"), "{}", err(&o));

    let o = kehu(
        dir.path(),
        &["import", "customers", "x.csv", "--on-duplicate", "merge"],
    );
    assert!(!o.status.success(), "an unknown mode is refused");
    let o = kehu(
        dir.path(),
        &["import", "customers", "x.csv", "--as", "nobody"],
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("nobody"), "{}", err(&o));
    // A manager lacks customer.import.
    let o = kehu(
        dir.path(),
        &["import", "customers", "x.csv", "--as", "lina"],
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("customer.import"), "{}", err(&o));
    let export = kehu(
        dir.path(),
        &["export", "customers", "--format", "pdf", "-o", "x.pdf"],
    );
    assert!(!export.status.success());
}
