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

use kehu_customers::store::{CustomerFilter, CustomerStore};
use kehu_domain::policy::OwnerFilter;
use kehu_orders::store::OrderStore;
use kehu_store::{Db, PageRequest, Store};
use kehu_testkit::TestBackend;

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
    // The kinds are the modules' own.
    let o = kehu(dir.path(), &["import", "suppliers", "x.csv"]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains("one of customers, contacts, products, orders"),
        "{}",
        err(&o)
    );
    let export = kehu(
        dir.path(),
        &["export", "customers", "--format", "pdf", "-o", "x.pdf"],
    );
    assert!(!export.status.success());
}

// ---------------------------------------------------------------------------------------------
// Products and orders, on both databases

/// A fresh database for `backend` (a PostgreSQL schema, dropped by [`drop_schema`]).
async fn database(backend: TestBackend, dir: &Path) -> String {
    kehu_testkit::fresh_database(backend, dir).await
}

async fn drop_schema(url: &str) {
    if let Some(schema) = url.split("options[search_path]=").nth(1) {
        let db = Db::connect(&kehu_testkit::postgres_url()).await.unwrap();
        let _ = db
            .execute_raw(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await;
        db.close().await;
    }
}

/// `kehu` on the database at `url`.
fn kehu_at(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kehu"))
        .args(args)
        .current_dir(dir)
        .env("KEHU_DATA_DIR", dir.join("data"))
        .env("KEHU_DATABASE_URL", url)
        .env("KEHU_LOG_LEVEL", "warn")
        .env("KEHU_USER_PASSWORD", "zhang-wei-2026")
        .output()
        .unwrap()
}

/// Runs `kehu import …` and answers its summary line; the run must complete.
fn import(dir: &Path, url: &str, args: &[&str]) -> String {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let o = kehu_at(dir, url, &all);
    assert!(o.status.success(), "kehu {all:?}: {}", err(&o));
    out(&o).lines().next().unwrap_or_default().to_owned()
}

/// An operator loads the products (zh-CN column titles), then a year's orders, one row per
/// line: lines of one order number become one order with exact totals, unknown customers and
/// products are rejected with the reason, each order is audited in its customer's history and
/// sets the customer's last order; a re-run skips everything and `update` changes a line.
async fn products_and_orders_story(backend: TestBackend) {
    let dir = tempfile::tempdir().unwrap();
    let url = database(backend, dir.path()).await;
    let d = dir.path();
    for args in [
        &["user", "add", "admin", "--role", "admin"][..],
        &["user", "add", "lina", "--name", "李娜"][..],
    ] {
        let o = kehu_at(d, &url, args);
        assert!(o.status.success(), "{}", err(&o));
    }
    std::fs::write(
        d.join("客户.csv"),
        "客户名称,客户经理\n甲公司,李娜\n乙公司,李娜\n",
    )
    .unwrap();
    assert_eq!(
        import(d, &url, &["customers", "客户.csv"]),
        "imported 2, updated 0, skipped 0, rejected 0"
    );

    // Products: GBK like Chinese Excel saves it, the module's zh-CN labels as titles.
    let products = "产品名称,型号,等级/批次,单位,单价,成本,备注\r\n\
                    激光打印机,HP-1020,A,台,\"1,299.50\",900,办公\r\n\
                    硒鼓,CE285A,,个,320,,\r\n\
                    扫描仪,,,台,abc,,\r\n";
    std::fs::write(d.join("产品.csv"), encoding_rs::GBK.encode(products).0).unwrap();
    assert_eq!(
        import(d, &url, &["products", "产品.csv"]),
        "imported 2, updated 0, skipped 0, rejected 1"
    );
    let rejects = std::fs::read_to_string(d.join("产品.rejects.csv")).unwrap();
    assert!(
        rejects.contains("扫描仪") && rejects.contains("Unit price (CNY):"),
        "{rejects}"
    );
    assert_eq!(
        import(d, &url, &["products", "产品.csv"]),
        "imported 0, updated 0, skipped 2, rejected 1"
    );
    std::fs::write(
        d.join("调价.csv"),
        "name,model,unit,price\n硒鼓,CE285A,个,300\n碳粉,,袋,45\n",
    )
    .unwrap();
    assert_eq!(
        import(
            d,
            &url,
            &["products", "调价.csv", "--on-duplicate", "update"]
        ),
        "imported 1, updated 1, skipped 0, rejected 0"
    );

    // Orders: one row per line.
    let orders = "订单编号,客户,订单日期,送货地址,产品名称,型号,数量,单价\n\
                  A001,甲公司,2025-03-01,广州市天河区,激光打印机,HP-1020,2,\n\
                  A001,甲公司,2025-03-01,广州市天河区,硒鼓,CE285A,10,280\n\
                  A002,乙公司,2025-04-02,,碳粉,,3,\n\
                  A003,丙公司,2025-04-02,,碳粉,,1,\n\
                  A004,甲公司,2025-05-01,,扫描仪,,1,\n\
                  A005,乙公司,2099-01-01,,碳粉,,1,\n";
    std::fs::write(d.join("订单.csv"), orders).unwrap();
    let o = kehu_at(d, &url, &["import", "orders", "订单.csv"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("imported 3, updated 0, skipped 0, rejected 3"),
        "{}",
        out(&o)
    );
    let rejects = std::fs::read_to_string(d.join("订单.rejects.csv")).unwrap();
    for (row, reason) in [
        (
            "A003,丙公司",
            "Customer: No such customer (by code or name).",
        ),
        ("A004,甲公司", "Product name: No such product"),
        ("A005,乙公司", "Order date:"),
    ] {
        let line = rejects
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("{row} not rejected: {rejects}"));
        assert!(line.contains(reason), "{line}");
    }

    // What was stored: two orders with exact totals, audited in the customer's history.
    let store = Store::open(&url).await.unwrap();
    let offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let customers = CustomerStore::new(store.db.clone(), offset);
    let orders = OrderStore::new(store.db.clone(), offset);
    let customer = |name: &'static str| {
        let customers = customers.clone();
        async move {
            let f = CustomerFilter {
                q: Some(name.into()),
                ..CustomerFilter::default()
            };
            let page = customers
                .list(
                    OwnerFilter::system(),
                    &f,
                    PageRequest::new(Some(1), Some(5)),
                )
                .await
                .unwrap();
            page.items.into_iter().next().unwrap()
        }
    };
    // A customer's orders, newest first.
    let orders_of = |id: i64| {
        let orders = orders.clone();
        async move {
            orders
                .of_customer(
                    OwnerFilter::system(),
                    id,
                    PageRequest::new(Some(1), Some(10)),
                )
                .await
                .unwrap()
        }
    };
    let jia = customer("甲公司").await;
    let listed = orders_of(jia.id).await;
    assert_eq!(listed.items.len(), 1, "{:?}", listed.items);
    let a001 = orders
        .get(OwnerFilter::system(), listed.items[0].id)
        .await
        .unwrap();
    assert_eq!(a001.number, "A001");
    assert_eq!(a001.delivery_address.as_deref(), Some("广州市天河区"));
    assert_eq!(a001.lines.len(), 2);
    // 2 × 1,299.50 at the list price + 10 × 280.00 as written.
    assert_eq!(a001.total().to_string(), "5399.00");
    assert_eq!(
        jia.last_order_at
            .map(|t| t.with_timezone(&offset).date_naive().to_string()),
        Some("2025-03-01".to_owned())
    );
    let history = kehu_customers::history::latest(&store.db, jia.id, 20)
        .await
        .unwrap();
    assert!(
        history.iter().any(|e| e.entity == "order"
            && e.action == "create"
            && e.entity_id == a001.id.to_string()),
        "{history:?}"
    );

    // Again: every order is there already.
    assert_eq!(
        import(d, &url, &["orders", "订单.csv"]),
        "imported 0, updated 0, skipped 3, rejected 3"
    );
    // `update`: the order takes the row's quantity for a product it has.
    std::fs::write(
        d.join("改单.csv"),
        "number,customer,date,product,model,quantity,price\n\
         A001,甲公司,2025-03-01,硒鼓,CE285A,20,280\n",
    )
    .unwrap();
    assert_eq!(
        import(d, &url, &["orders", "改单.csv", "--on-duplicate", "update"]),
        "imported 0, updated 1, skipped 0, rejected 0"
    );
    let a001 = orders.get(OwnerFilter::system(), a001.id).await.unwrap();
    assert_eq!(a001.total().to_string(), "8199.00");
    assert_eq!(a001.lines.len(), 2);

    // Lines of one order split across batches still make one order.
    std::fs::write(
        d.join("分批.csv"),
        "订单编号,客户,订单日期,产品名称,数量\n\
         B001,乙公司,2025-06-01,碳粉,1\n\
         B001,乙公司,2025-06-01,硒鼓,1\n\
         B001,乙公司,2025-06-01,激光打印机,1\n",
    )
    .unwrap();
    assert_eq!(
        import(d, &url, &["orders", "分批.csv", "--batch-rows", "1"]),
        "imported 3, updated 0, skipped 0, rejected 0"
    );
    let yi = customer("乙公司").await;
    let listed = orders_of(yi.id).await;
    let b001 = listed.items.iter().find(|o| o.number == "B001").unwrap();
    let b001 = orders.get(OwnerFilter::system(), b001.id).await.unwrap();
    assert_eq!(b001.lines.len(), 3);
    assert_eq!(b001.total().to_string(), "1644.50");

    // Without numbers: an order per customer, date and address, across batches too; the
    // same file again is all duplicates.
    std::fs::write(
        d.join("无单号.csv"),
        "客户,订单日期,送货地址,产品名称,数量\n\
         乙公司,2025-07-01,深圳市南山区,碳粉,2\n\
         乙公司,2025-07-01,深圳市南山区,硒鼓,1\n\
         乙公司,2025-07-02,,碳粉,1\n",
    )
    .unwrap();
    for run in [
        "imported 3, updated 0, skipped 0, rejected 0",
        "imported 0, updated 0, skipped 3, rejected 0",
    ] {
        assert_eq!(
            import(d, &url, &["orders", "无单号.csv", "--batch-rows", "1"]),
            run
        );
    }
    let listed = orders_of(yi.id).await;
    let dates: Vec<String> = listed
        .items
        .iter()
        .map(|o| o.order_date.to_string())
        .collect();
    assert_eq!(
        dates,
        ["2025-07-02", "2025-07-01", "2025-06-01", "2025-04-02"]
    );
    let july = orders
        .get(OwnerFilter::system(), listed.items[1].id)
        .await
        .unwrap();
    assert_eq!(july.lines.len(), 2);
    store.db.close().await;
    drop_schema(&url).await;
}

#[tokio::test]
async fn products_and_orders_import_from_the_command_line_on_sqlite() {
    products_and_orders_story(TestBackend::Sqlite).await;
}

#[tokio::test]
async fn products_and_orders_import_from_the_command_line_on_postgres() {
    products_and_orders_story(TestBackend::Postgres).await;
}

#[test]
fn an_order_file_without_the_quantity_column_fails_before_writing() {
    let dir = setup();
    std::fs::write(
        dir.path().join("o.csv"),
        "客户,订单日期,产品名称\n甲公司,2025-01-01,硒鼓\n",
    )
    .unwrap();
    let o = kehu(dir.path(), &["import", "orders", "o.csv"]);
    assert!(!o.status.success());
    assert!(
        err(&o).contains("required columns") && err(&o).contains("Quantity"),
        "{}",
        err(&o)
    );
    // A manager may not import products (no product.write).
    std::fs::write(dir.path().join("p.csv"), "name,unit,price\n硒鼓,个,1\n").unwrap();
    let o = kehu(dir.path(), &["import", "products", "p.csv", "--as", "lina"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("product.write"), "{}", err(&o));
}
