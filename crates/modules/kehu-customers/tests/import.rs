//! Importing customers and contacts on SQLite and PostgreSQL: files as Chinese Excel writes
//! them (GBK, zh-CN titles, labels for dictionary values), UTF-8 with BOM, XLSX; bad input
//! (ragged rows, stray quotes, a 10 MB cell, formulas, a missing required column, an unknown
//! dictionary value) in the rejects file with line and reason; duplicates in each mode; a
//! crash between batches and the re-run; the data scope.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::{Path, PathBuf};

use chrono::FixedOffset;
use kehu_customers::import::{Context, Kind, import_file};
use kehu_customers::store::{ContactFilter, Customer, CustomerFilter, CustomerStore};
use kehu_domain::policy::OwnerFilter;
use kehu_store::PageRequest;
use kehu_store::audit::{Actor, AuditFilter};
use kehu_store::page::ListRequest;
use kehu_testkit::{TestApp, TestBackend};
use kehu_web::import::{ImportError, ImportOptions, OnDuplicate, Summary};

mod common;
use common::{app, on_both};

const PW: &str = "lang-genug-123";

struct Who {
    id: i64,
    scope: OwnerFilter,
    actor: Actor,
}

struct World {
    app: TestApp,
    store: CustomerStore,
    dir: tempfile::TempDir,
}

async fn world(backend: TestBackend) -> World {
    let app = app(backend).await;
    let store = CustomerStore::new(
        app.store.db.clone(),
        FixedOffset::east_opt(8 * 3600).unwrap(),
    );
    World {
        app,
        store,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl World {
    async fn user(&self, username: &str, display: &str, role: &str) -> Who {
        let id = self.app.create_user(username, role, PW).await;
        // The display name is what Excel files name the manager by.
        let q = format!("UPDATE users SET display_name = '{display}' WHERE id = {id}");
        self.app.store.db.execute_raw(&q).await.unwrap();
        let p = self.app.store.users.principal(id).await.unwrap().unwrap();
        Who {
            id,
            scope: p.owner_filter(),
            actor: Actor::user(id, username, p.authority()),
        }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    async fn import(
        &self,
        who: &Who,
        kind: Kind,
        path: &Path,
        options: ImportOptions,
    ) -> Result<Summary, ImportError> {
        let cx = Context::load(&self.store, who.scope, who.actor.clone(), who.id)
            .await
            .unwrap();
        import_file(&self.store, kind, cx, path, &options, |_| {}).await
    }

    /// Imports `text` as file `name` with `--on-duplicate update`: the summary's counts.
    async fn update(&self, who: &Who, kind: Kind, name: &str, text: &str) -> (u64, u64, u64, u64) {
        let path = self.file(name, text.as_bytes());
        counts(
            &self
                .import(who, kind, &path, mode(OnDuplicate::Update))
                .await
                .unwrap(),
        )
    }

    async fn customers(&self) -> Vec<Customer> {
        let l = self
            .store
            .list(
                OwnerFilter::system(),
                &CustomerFilter::default(),
                ListRequest::from(PageRequest::new(Some(1), Some(200))),
            )
            .await
            .unwrap();
        let mut items = l.items;
        items.sort_by_key(|c| c.id);
        items
    }
}

/// `c.csv`: seven customers 客户0 … 客户6, each with a mobile and a contact.
fn seven_customers(w: &World) -> PathBuf {
    let mut text = String::from("客户名称,手机,联系人\n");
    for i in 0..7 {
        text.push_str(&format!("客户{i},1380013800{i},联系人{i}\n"));
    }
    w.file("c.csv", text.as_bytes())
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

fn mode(on_duplicate: OnDuplicate) -> ImportOptions {
    ImportOptions {
        on_duplicate,
        ..ImportOptions::default()
    }
}

fn counts(s: &Summary) -> (u64, u64, u64, u64) {
    let c = &s.counts;
    (c.imported, c.updated, c.skipped, c.rejected)
}

on_both!(
    a_gbk_file_with_zh_cn_titles_and_labels_imports,
    utf8_with_bom_and_xlsx_import_the_same,
    bad_rows_go_to_the_rejects_file_with_line_and_reason,
    a_missing_required_column_stops_before_anything_is_written,
    duplicates_are_skipped_updated_or_created_as_asked,
    a_rerun_after_a_crash_between_batches_creates_no_duplicates,
    a_manager_imports_only_for_themselves,
    contacts_import_to_their_customers_by_code_or_name,
    an_update_sets_only_the_fields_the_file_has_and_its_contact,
);

async fn an_update_sets_only_the_fields_the_file_has_and_its_contact(b: TestBackend) {
    let w = world(b).await;
    let admin = w.user("boss", "王总", "admin").await;
    let first = "客户名称,电话,地址,标签,联系人,手机,电子邮件\n\
        甲公司,020-8888 6666,广州市天河路1号,\"重点,华南\",张三,13800138000,zhang@example.cn\n";
    w.update(&admin, Kind::Customers, "1.csv", first).await;
    let id = w.customers().await[0].id;
    let tags = w.customers().await[0].tags.clone();
    assert!(tags.contains("重点") && tags.contains("华南"), "{tags}");
    // The contact's position, entered by hand, is in no file.
    let contacts = format!(
        "客户,姓名,职务\n{},张三,采购经理\n",
        w.customers().await[0].code
    );
    assert_eq!(
        w.update(&admin, Kind::Contacts, "p.csv", &contacts).await,
        (0, 1, 0, 0)
    );
    // A file without the phone, address and tags: they stay; the contact by its mobile takes
    // the new e-mail and keeps its position. Then a new contact: added, as the primary.
    let second =
        "客户名称,地区,联系人,手机,电子邮件\n甲公司,广东省,张三,13800138000,zs@example.cn\n";
    assert_eq!(
        w.update(&admin, Kind::Customers, "2.csv", second).await,
        (0, 1, 0, 0)
    );
    let c = w.customers().await.remove(0);
    assert_eq!(c.region.as_deref(), Some("440000"));
    assert_eq!(c.phone.as_deref(), Some("+862088886666"));
    assert_eq!(c.address.as_deref(), Some("广州市天河路1号"));
    assert_eq!(c.tags, tags);
    let third = "客户名称,联系人,手机\n甲公司,李四,13900139000\n";
    assert_eq!(
        w.update(&admin, Kind::Customers, "3.csv", third).await,
        (0, 1, 0, 0)
    );
    let all = w
        .store
        .contacts_of(OwnerFilter::system(), id)
        .await
        .unwrap();
    let seen: Vec<(&str, Option<&str>, Option<&str>, bool)> = all
        .iter()
        .map(|k| {
            (
                k.name.as_str(),
                k.email.as_deref(),
                k.position.as_deref(),
                k.is_primary,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("李四", None, None, true),
            ("张三", Some("zs@example.cn"), Some("采购经理"), false),
        ],
        "the row's contact is the primary"
    );
}

async fn a_gbk_file_with_zh_cn_titles_and_labels_imports(b: TestBackend) {
    let w = world(b).await;
    let admin = w.user("boss", "王总", "admin").await;
    let li = w.user("lina", "李娜", "account_manager").await;
    let text = "客户名称,地区,客户等级,客户经理,电话,联系人,手机,标签,注册资金\r\n\
        广州华强电子有限公司,广东省,大客户,李娜,020-8888 6666,张三,138 0013 8000,VIP、华南,1234.5\r\n\
        深圳宏达贸易,440000,ordinary,,,,,,\r\n";
    let path = w.file("客户.csv", &gbk(text));
    let s = w
        .import(&admin, Kind::Customers, &path, ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(s.detected.encoding, Some("GBK"));
    assert_eq!(counts(&s), (2, 0, 0, 0));
    assert_eq!(
        s.counts.line(),
        "imported 2, updated 0, skipped 0, rejected 0"
    );
    assert!(s.rejects.is_none(), "no rejects file without rejected rows");
    let all = w.customers().await;
    let hq = &all[0];
    assert_eq!(hq.name, "广州华强电子有限公司");
    assert_eq!(hq.region.as_deref(), Some("440000"));
    assert_eq!(hq.level.as_deref(), Some("key_account"));
    assert_eq!(hq.owner_id, li.id, "the manager by display name");
    assert_eq!(hq.phone.as_deref(), Some("+862088886666"));
    assert_eq!(hq.registered_capital, Some(123_450));
    assert_eq!(hq.tag_list(), ["VIP", "华南"]);
    assert!(hq.code.starts_with("KH"), "{}", hq.code);
    assert_eq!(all[1].owner_id, admin.id, "no manager: the importing user");
    let contacts = w
        .store
        .contacts_of(OwnerFilter::system(), hq.id)
        .await
        .unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].mobile.as_deref(), Some("+8613800138000"));
    assert!(contacts[0].is_primary);
    // Every imported customer has its creation in the audit log, by the importing user.
    let audit = w
        .app
        .store
        .audit
        .list(
            &AuditFilter {
                entity: Some("customer".into()),
                entity_id: Some(hq.id.to_string()),
                ..AuditFilter::default()
            },
            PageRequest::new(Some(1), Some(10)),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].action, "create");
    assert_eq!(audit.items[0].user_id, Some(admin.id));
    assert!(audit.items[0].changes.contains("广州华强电子有限公司"));
    // The header search finds what was imported: the customer by pinyin initials, its
    // contact by part of the mobile, within the manager's scope.
    let search = &w.app.store.search;
    let hits = search.search(&li.scope, "gzhq", None, 10).await.unwrap();
    assert!(
        hits.iter()
            .any(|h| h.entity == "customer" && h.entity_id == hq.id),
        "{hits:?}"
    );
    let hits = search
        .search(&li.scope, "00138000", None, 10)
        .await
        .unwrap();
    assert!(
        hits.iter()
            .any(|h| h.entity == "contact" && h.title == "张三"),
        "{hits:?}"
    );
}

async fn utf8_with_bom_and_xlsx_import_the_same(b: TestBackend) {
    let w = world(b).await;
    let admin = w.user("boss", "王总", "admin").await;
    let csv = "\u{feff}name,region,level\n宏达贸易,广东省,key_account\n";
    let s = w
        .import(
            &admin,
            Kind::Customers,
            &w.file("a.csv", csv.as_bytes()),
            mode(OnDuplicate::Create),
        )
        .await
        .unwrap();
    assert_eq!(s.detected.encoding, Some("UTF-8"));
    assert!(s.detected.bom);
    assert_eq!(counts(&s), (1, 0, 0, 0));
    let mut x = kehu_io::XlsxWriter::new("客户", &["客户名称", "地区", "满意度"]).unwrap();
    x.write_row(&[
        kehu_io::Cell::Text("华南五金".into()),
        kehu_io::Cell::Text("广东省".into()),
        kehu_io::Cell::Integer(4),
    ])
    .unwrap();
    let mut bytes = Vec::new();
    x.save_to_writer(std::io::Cursor::new(&mut bytes)).unwrap();
    let s = w
        .import(
            &admin,
            Kind::Customers,
            &w.file("b.xlsx", &bytes),
            ImportOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(s.detected.format, kehu_io::Format::Xlsx);
    assert_eq!(counts(&s), (1, 0, 0, 0));
    let all = w.customers().await;
    assert_eq!(all[1].name, "华南五金");
    assert_eq!(all[1].satisfaction, Some(4), "a number cell is a number");
    assert_eq!(all[1].region.as_deref(), Some("440000"));
}

async fn bad_rows_go_to_the_rejects_file_with_line_and_reason(b: TestBackend) {
    let w = world(b).await;
    let admin = w.user("boss", "王总", "admin").await;
    let big = "长".repeat(10 * 1024 * 1024 / 3 + 1);
    let text = format!(
        "客户名称,地区,电话\n\
         好客户,广东省,\n\
         少一列\n\
         多,广东省,,x,y\n\
         引\"号,广东省,\n\
         =HYPERLINK(\"http://x\"),广东省,\n\
         未知地区,火星,\n\
         坏电话,广东省,12\n\
         {big},广东省,\n\
         最后,广东省,13800138000\n\
         \"没有收尾的引号,广东省,\n\
         这一行被引号吞掉,广东省,\n"
    );
    let path = w.file("bad.csv", text.as_bytes());
    let s = w
        .import(&admin, Kind::Customers, &path, ImportOptions::default())
        .await
        .unwrap();
    let rejects = std::fs::read_to_string(s.rejects.as_ref().unwrap()).unwrap();
    let rejects = rejects.trim_start_matches('\u{feff}');
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "客户名称,地区,电话,行号,原因");
    let names: Vec<String> = w.customers().await.into_iter().map(|c| c.name).collect();
    // The formula imports as text (the name is the formula's text); exports neutralise it.
    // A quote inside a cell is text; one that is never closed refuses the rest of the file
    // as one row, never half of it.
    assert_eq!(
        names,
        ["好客户", "引\"号", "=HYPERLINK(\"http://x\")", "最后"]
    );
    assert_eq!(counts(&s), (4, 0, 0, 6), "{rejects}");
    let has = |needle: &str| {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "{needle} not in:\n{rejects}"
        )
    };
    has("少一列,,,3,");
    has("多,广东省,,4,");
    has("未知地区,火星,,7,地区：数据字典中没有这个值。");
    has("坏电话,广东省,12,8,电话：不是有效的电话号码。");
    has(",9,有一个单元格太大。");
    has(",,,11,引号不成对");
    assert!(!names.iter().any(|n| n.contains("吞掉")), "{names:?}");
    assert!(
        !rejects.contains(&big),
        "the oversize cell is cut in the rejects file"
    );
}

async fn a_missing_required_column_stops_before_anything_is_written(b: TestBackend) {
    let w = world(b).await;
    let admin = w.user("boss", "王总", "admin").await;
    let path = w.file("x.csv", "地区,电话\n广东省,13800138000\n".as_bytes());
    let err = w
        .import(&admin, Kind::Customers, &path, ImportOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "missing_required_column");
    let tr = kehu_web::i18n::Tr::new(kehu_domain::user::Language::ZhCn);
    let msg = err.localised(&tr, &kehu_customers::import::customer_fields());
    assert!(msg.contains("客户名称"), "{msg}");
    assert!(w.customers().await.is_empty());
    assert!(!w.dir.path().join("x.rejects.csv").exists());
}

async fn duplicates_are_skipped_updated_or_created_as_asked(b: TestBackend) {
    let w = world(b).await;
    let admin = w.user("boss", "王总", "admin").await;
    let first = "客户名称,电话,联系人,手机,电子邮件,地区\n\
        甲公司,020-8888 6666,,,,\n\
        乙公司,,王五,13900139000,wang@example.cn,\n";
    w.import(
        &admin,
        Kind::Customers,
        &w.file("1.csv", first.as_bytes()),
        ImportOptions::default(),
    )
    .await
    .unwrap();
    // Same phone written otherwise, same mobile, same e-mail, same name, and one new.
    let again = "客户名称,电话,联系人,手机,电子邮件,地区\n\
        甲公司（新名）,+86 20 8888 6666,,,,广东省\n\
        乙公司二,,赵六,139-0013-9000,,广东省\n\
        丙公司,,孙七,,WANG@example.cn,广东省\n\
        甲公司,,,,,广东省\n\
        丁公司,,,,,广东省\n\
        丁公司,,,,,440000\n";
    let path = w.file("2.csv", again.as_bytes());
    let s = w
        .import(&admin, Kind::Customers, &path, mode(OnDuplicate::Skip))
        .await
        .unwrap();
    assert_eq!(
        counts(&s),
        (1, 0, 5, 0),
        "four stored duplicates, one in the file"
    );
    assert_eq!(w.customers().await.len(), 3);
    let s = w
        .import(&admin, Kind::Customers, &path, mode(OnDuplicate::Update))
        .await
        .unwrap();
    assert_eq!(counts(&s), (0, 6, 0, 0));
    let all = w.customers().await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].name, "甲公司", "the last row naming it wins");
    assert_eq!(all[0].region.as_deref(), Some("440000"));
    let s = w
        .import(&admin, Kind::Customers, &path, mode(OnDuplicate::Create))
        .await
        .unwrap();
    assert_eq!(counts(&s), (6, 0, 0, 0));
    assert_eq!(w.customers().await.len(), 9);
}

async fn a_rerun_after_a_crash_between_batches_creates_no_duplicates(b: TestBackend) {
    let w = world(b).await;
    let admin = w.user("boss", "王总", "admin").await;
    let path = seven_customers(&w);
    let crash = ImportOptions {
        batch_rows: 3,
        stop_after_batches: Some(2),
        ..ImportOptions::default()
    };
    let err = w
        .import(&admin, Kind::Customers, &path, crash)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "stopped");
    assert_eq!(
        w.customers().await.len(),
        6,
        "the two committed batches stay"
    );
    let s = w
        .import(&admin, Kind::Customers, &path, mode(OnDuplicate::Skip))
        .await
        .unwrap();
    assert_eq!(counts(&s), (1, 0, 6, 0));
    assert_eq!(w.customers().await.len(), 7);
    let s = w
        .import(&admin, Kind::Customers, &path, mode(OnDuplicate::Skip))
        .await
        .unwrap();
    assert_eq!(
        counts(&s),
        (0, 0, 7, 0),
        "a re-run of a finished import skips all"
    );
    let contacts = w
        .store
        .contact_list(
            OwnerFilter::system(),
            &ContactFilter::default(),
            ListRequest::from(PageRequest::new(Some(1), Some(50))),
        )
        .await
        .unwrap();
    assert_eq!(contacts.items.len(), 7);
}

#[tokio::test]
async fn an_import_on_postgresql_renews_the_statistics_of_the_tables_it_grows() {
    let w = world(TestBackend::Postgres).await;
    let admin = w.user("boss", "王总", "admin").await;
    let path = seven_customers(&w);
    let three = || ImportOptions {
        batch_rows: 3,
        ..ImportOptions::default()
    };
    // The planner's idea of a table's size (-1 = never measured).
    let sizes = async || {
        let mut out = Vec::new();
        for table in ["customers", "contacts"] {
            let q = sea_query::Query::select()
                .expr(sea_query::Expr::cust(format!(
                    "(SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = '{table}'::regclass)"
                )))
                .to_owned();
            let (rows,): (i64,) = w.app.store.db.fetch_one(&q).await.unwrap();
            out.push(rows);
        }
        out
    };

    // Stopped after two batches of three: renewed after batches 1 and 2.
    let stopped = ImportOptions {
        stop_after_batches: Some(2),
        ..three()
    };
    assert!(
        w.import(&admin, Kind::Customers, &path, stopped)
            .await
            .is_err()
    );
    assert_eq!(sizes().await, [6, 6]);
    // Run to its end (the seventh row): renewed when it ends too.
    w.import(&admin, Kind::Customers, &path, three())
        .await
        .unwrap();
    assert_eq!(sizes().await, [7, 7]);
}

async fn a_manager_imports_only_for_themselves(b: TestBackend) {
    let w = world(b).await;
    let li = w.user("lina", "李娜", "account_manager").await;
    let wang = w.user("wangfang", "王芳", "account_manager").await;
    let theirs = "客户名称,客户经理\n王芳的客户,王芳\n";
    w.import(
        &wang,
        Kind::Customers,
        &w.file("w.csv", theirs.as_bytes()),
        ImportOptions::default(),
    )
    .await
    .unwrap();
    let text = "客户名称,客户经理\n我的客户,\n给王芳,王芳\n王芳的客户,\n";
    let path = w.file("l.csv", text.as_bytes());
    let s = w
        .import(&li, Kind::Customers, &path, mode(OnDuplicate::Update))
        .await
        .unwrap();
    assert_eq!(counts(&s), (1, 0, 0, 2));
    let rejects = std::fs::read_to_string(s.rejects.unwrap()).unwrap();
    assert!(
        rejects.contains("给王芳,王芳,3,客户经理：您只能管理自己的客户。"),
        "{rejects}"
    );
    assert!(rejects.contains("王芳的客户,,4,"), "{rejects}");
    let all = w.customers().await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].owner_id, li.id);
    assert_eq!(
        all[0].owner_id, wang.id,
        "the other manager's customer is unchanged"
    );
}

async fn contacts_import_to_their_customers_by_code_or_name(b: TestBackend) {
    let w = world(b).await;
    let admin = w.user("boss", "王总", "admin").await;
    let li = w.user("lina", "李娜", "account_manager").await;
    let text = "客户名称,客户经理\n甲公司,李娜\n乙公司,王总\n";
    w.import(
        &admin,
        Kind::Customers,
        &w.file("c.csv", text.as_bytes()),
        ImportOptions::default(),
    )
    .await
    .unwrap();
    let all = w.customers().await;
    let contacts = format!(
        "客户,姓名,手机,主联系人\n\
         {},张三,13800138000,\n\
         甲公司,李四,13900139000,是\n\
         乙公司,王五,,\n\
         甲公司,张三,,\n\
         不存在,赵六,,\n",
        all[0].code
    );
    let path = w.file("p.csv", contacts.as_bytes());
    let s = w
        .import(&li, Kind::Contacts, &path, ImportOptions::default())
        .await
        .unwrap();
    // 乙公司 is not 李娜's: not found for her, like a customer that does not exist.
    assert_eq!(counts(&s), (2, 0, 1, 2));
    let mine = w
        .store
        .contacts_of(OwnerFilter::system(), all[0].id)
        .await
        .unwrap();
    let names: Vec<(&str, bool)> = mine
        .iter()
        .map(|c| (c.name.as_str(), c.is_primary))
        .collect();
    assert_eq!(names, [("李四", true), ("张三", false)]);
}
