//! The search index (`kehu_store::search`) on SQLite and PostgreSQL: documents written in a
//! write transaction are found by Chinese substrings, full pinyin and initials (every reading
//! of a polyphone), phone digits, email and code substrings in any case, best first; only
//! within the caller's data scope and entities; a changed document is found by its new texts
//! only, a removed one not at all; and the candidate reads use the index, never a table scan.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_domain::policy::OwnerFilter;
use kehu_domain::{DataScope, Principal};
use kehu_store::search::{self, MatchRank, SearchDoc};
use kehu_testkit::{TestApp, both_backends};

/// The data scope of a user with scope `own`.
fn own(user_id: i64) -> OwnerFilter {
    Principal {
        user_id,
        username: format!("u{user_id}"),
        display_name: "测试".into(),
        role_id: 1,
        role_name: "r".into(),
        rights: Default::default(),
        scope: DataScope::Own,
        must_change_password: false,
        language: None,
    }
    .owner_filter()
}

async fn put(app: &TestApp, entity: &str, id: i64, owner: i64, title: &str, texts: &[&str]) {
    let subtitle = format!("{entity} {id}");
    app.store
        .db
        .write(async |tx| {
            search::put(
                tx,
                &SearchDoc {
                    entity,
                    entity_id: id,
                    owner_id: Some(owner),
                    title,
                    subtitle: &subtitle,
                    texts,
                },
            )
            .await
        })
        .await
        .unwrap();
}

/// The titles `q` finds with the system's scope, best first.
async fn titles(app: &TestApp, q: &str) -> Vec<String> {
    app.store
        .search
        .search(&OwnerFilter::system(), q, None, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.title)
        .collect()
}

async fn fill(app: &TestApp) {
    put(
        app,
        "customer",
        1,
        10,
        "深圳华强电子有限公司",
        &["C-2024-0001", "0755-8888-1234"],
    )
    .await;
    put(app, "customer", 2, 10, "重庆火锅餐饮集团", &["C-2024-0002"]).await;
    put(
        app,
        "customer",
        3,
        20,
        "Acme Trading Ltd",
        &["C-2024-0003", "info@Acme-Trading.com"],
    )
    .await;
    put(
        app,
        "contact",
        1,
        10,
        "张三",
        &["+8613812345678", "zhang.san@huaqiang.cn"],
    )
    .await;
    put(app, "contact", 2, 20, "张三丰", &["138-1234-5678"]).await;
    put(app, "contact", 3, 20, "李四", &["13900001111"]).await;
}

both_backends! {
    async fn chinese_substrings_find_records_across_modules(app) {
        fill(&app).await;
        assert_eq!(titles(&app, "华强").await, ["深圳华强电子有限公司"]);
        assert_eq!(titles(&app, "张三").await, ["张三", "张三丰"], "exact before prefix");
        assert_eq!(titles(&app, "张").await, ["张三", "张三丰"]);
        assert_eq!(titles(&app, "电子公司").await, Vec::<String>::new());
    }

    async fn pinyin_spellings_and_initials_find_names(app) {
        fill(&app).await;
        assert_eq!(titles(&app, "zhangsan").await, ["张三", "张三丰"]);
        assert_eq!(titles(&app, "zhangs").await, ["张三", "张三丰"]);
        assert_eq!(titles(&app, "zs").await, ["张三", "张三丰"]);
        assert_eq!(titles(&app, "zsf").await, ["张三丰"]);
        assert_eq!(titles(&app, "huaqiang").await, ["深圳华强电子有限公司", "张三"],
            "the title before the email that holds it");
        assert_eq!(titles(&app, "chongqing").await, ["重庆火锅餐饮集团"], "重 read chong");
        assert_eq!(titles(&app, "cqhg").await, ["重庆火锅餐饮集团"]);
    }

    async fn phone_digits_emails_and_codes_are_found_in_any_case(app) {
        fill(&app).await;
        // Equals ranked by the shorter title.
        assert_eq!(titles(&app, "1234").await, ["张三", "张三丰", "深圳华强电子有限公司"]);
        // 138-1234-5678 is these digits (exact); +8613812345678 holds them.
        assert_eq!(titles(&app, "13812345678").await, ["张三丰", "张三"]);
        assert_eq!(titles(&app, "0000").await, ["李四"]);
        assert_eq!(titles(&app, "ACME-trading.COM").await, ["Acme Trading Ltd"]);
        assert_eq!(titles(&app, "acme").await, ["Acme Trading Ltd"]);
        assert_eq!(titles(&app, "2024-0002").await, ["重庆火锅餐饮集团"]);
        assert_eq!(titles(&app, "trading").await, ["Acme Trading Ltd"]);
    }

    async fn a_record_of_another_owner_is_not_found_with_an_own_scope(app) {
        fill(&app).await;
        let mine = app.store.search.search(&own(10), "张三", None, 20).await.unwrap();
        assert_eq!(mine.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(), ["张三"]);
        let theirs = app.store.search.search(&own(20), "zs", None, 20).await.unwrap();
        assert_eq!(theirs.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(), ["张三丰"]);
        assert!(app.store.search.search(&own(30), "张", None, 20).await.unwrap().is_empty());
    }

    async fn the_entity_list_and_the_limit_narrow_the_hits(app) {
        fill(&app).await;
        let hits = app.store.search
            .search(&OwnerFilter::system(), "1234", Some(&["customer"]), 20).await.unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!((hits[0].entity.as_str(), hits[0].entity_id), ("customer", 1));
        assert_eq!(hits[0].subtitle, "customer 1");
        assert_eq!(hits[0].rank, MatchRank::Substring);
        let one = app.store.search.search(&OwnerFilter::system(), "张", None, 1).await.unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].title, "张三");
        assert!(app.store.search
            .search(&OwnerFilter::system(), "张", Some(&["Bad Entity"]), 5).await.is_err());
    }

    async fn an_updated_document_is_found_by_its_new_texts_only(app) {
        fill(&app).await;
        put(&app, "contact", 3, 20, "王五", &["13900002222"]).await;
        assert!(titles(&app, "李四").await.is_empty());
        assert!(titles(&app, "0000111").await.is_empty());
        assert_eq!(titles(&app, "wangwu").await, ["王五"]);
        assert_eq!(titles(&app, "2222").await, ["王五"]);
    }

    async fn a_batch_writes_every_document_and_the_last_of_a_record_wins(app) {
        let doc = |id: i64, title: &'static str| SearchDoc {
            entity: "contact",
            entity_id: id,
            owner_id: Some(10),
            title,
            subtitle: "",
            texts: &[],
        };
        let batch: Vec<SearchDoc<'_>> = (0..450)
            .map(|i| doc(i, "王五"))
            .chain([doc(3, "赵六")])
            .collect();
        app.store.db.write(async |tx| search::put_many(tx, &batch).await).await.unwrap();
        let hits = app.store.search.search(&OwnerFilter::system(), "wangwu", None, 100).await.unwrap();
        assert_eq!(hits.len(), 100);
        assert_eq!(titles(&app, "赵六").await, ["赵六"]);
        let three = app.store.search.search(&OwnerFilter::system(), "zl", None, 10).await.unwrap();
        assert_eq!((three.len(), three[0].entity_id), (1, 3));
    }

    async fn a_batch_mixing_indexed_and_new_records_replaces_the_one_and_adds_the_others(app) {
        fill(&app).await;
        let doc = |entity: &'static str, id: i64, title: &'static str, texts: &'static [&'static str]| {
            SearchDoc { entity, entity_id: id, owner_id: Some(20), title, subtitle: "", texts }
        };
        // Contact 3 (李四, 13900001111) is indexed; contact 4 and customer 9 are new.
        let batch = [
            doc("contact", 4, "赵六", &[]),
            doc("contact", 3, "王五", &["13900002222"]),
            doc("customer", 9, "孙七商行", &[]),
        ];
        for _ in 0..2 {
            app.store.db.write(async |tx| search::put_many(tx, &batch).await).await.unwrap();
            assert!(titles(&app, "李四").await.is_empty());
            assert!(titles(&app, "0000111").await.is_empty());
            assert_eq!(titles(&app, "2222").await, ["王五"]);
            assert_eq!(titles(&app, "zl").await, ["赵六"]);
            assert_eq!(titles(&app, "sunqi").await, ["孙七商行"]);
            assert_eq!(titles(&app, "张三").await, ["张三", "张三丰"], "the others untouched");
        }
    }

    async fn a_removed_document_is_not_found(app) {
        fill(&app).await;
        app.store.db.write(async |tx| search::remove(tx, "contact", 1).await).await.unwrap();
        assert_eq!(titles(&app, "zs").await, ["张三丰"]);
        // Removing twice, or what was never there, is nothing.
        app.store.db.write(async |tx| search::remove(tx, "contact", 1).await).await.unwrap();
    }

    async fn documents_an_older_tokeniser_wrote_are_found_once_written_again(app) {
        fill(&app).await;
        assert_eq!(app.store.search.renew_stale(2).await.unwrap(), 0, "all written by this one");
        // As an older kehu left them: a tokens version before this one, and tokens this
        // one's queries do not read (here none at all).
        let stale = match app.store.db.backend() {
            kehu_store::db::Backend::Sqlite => {
                "DELETE FROM search_fts; UPDATE search_docs SET tokens_version = 1"
            }
            kehu_store::db::Backend::Postgres => {
                "UPDATE search_docs SET tokens = '', tokens_version = 1"
            }
        };
        app.store.db.write(async |tx| {
            for sql in stale.split("; ") {
                tx.execute_raw(sql).await?;
            }
            Ok::<_, kehu_store::StoreError>(())
        }).await.unwrap();
        assert_eq!(titles(&app, "张").await, Vec::<String>::new());
        let n = app.store.search.renew_stale(2).await.unwrap();
        assert!(n >= 6, "{n} documents written again");
        assert_eq!(titles(&app, "张").await, ["张三", "张三丰"]);
        assert_eq!(titles(&app, "zs").await, ["张三", "张三丰"]);
        assert_eq!(titles(&app, "2024-0002").await, ["重庆火锅餐饮集团"]);
        assert_eq!(app.store.search.renew_stale(2).await.unwrap(), 0);
        // One stale among current ones: its row is replaced, found once.
        app.store.db.write(async |tx| {
            tx.execute_raw(
                "UPDATE search_docs SET tokens_version = 1 WHERE entity = 'contact' AND entity_id = 1",
            )
            .await?;
            Ok::<_, kehu_store::StoreError>(())
        }).await.unwrap();
        assert_eq!(app.store.search.renew_stale(2).await.unwrap(), 1);
        assert_eq!(titles(&app, "张").await, ["张三", "张三丰"]);
    }

    async fn candidates_are_read_through_the_index_never_a_table_scan(app) {
        fill(&app).await;
        // Every kind, and the kinds the header search asks for: documents are reached from
        // the token index, never by walking those of an entity.
        let kinds: [Option<&[&str]>; 2] = [None, Some(&["customer", "contact"])];
        for (q, entities) in ["华强", "zs", "1234"].into_iter().flat_map(|q| kinds.map(|k| (q, k))) {
            let plans = app.store.search.explain(&own(10), q, entities).await.unwrap();
            assert!(!plans.is_empty());
            for plan in plans {
                let scan = plan.lines().any(|l| {
                    (l.contains("SCAN search_docs") && !l.contains("VIRTUAL"))
                        || l.contains("Seq Scan")
                        || l.contains("ux_search_docs_entity")
                });
                assert!(!scan, "{q} {entities:?}: {plan}");
                assert!(
                    plan.contains("VIRTUAL TABLE INDEX") || plan.contains("ix_search_docs_tokens"),
                    "{q} {entities:?}: {plan}"
                );
                // PostgreSQL: a slice's read goes through that slice's own index.
                for slice in [16, 256] {
                    if plan.contains(&format!(" 1/{slice}:")) {
                        let index = format!("ix_search_docs_tokens_{slice}");
                        assert!(plan.contains(&index), "{q} {entities:?}: {plan}");
                    }
                }
            }
        }
    }

    async fn a_query_common_to_thousands_still_finds_the_rare_and_the_many(app) {
        // 13,000 documents hold 公司: more than PostgreSQL's 1/256 slice needs to answer a
        // search of it alone; the one that also holds 华强 is not in a slice (id 1,001), so
        // only the read of the whole index finds it.
        let names: Vec<String> = (1..=13_000)
            .map(|i| if i == 1001 { "华强电子公司".into() } else { format!("宏达{i}号贸易公司") })
            .collect();
        let docs: Vec<SearchDoc<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, name)| SearchDoc {
                entity: "customer",
                entity_id: i as i64 + 1,
                owner_id: Some(10),
                title: name,
                subtitle: "",
                texts: &[],
            })
            .collect();
        app.store
            .db
            .write(async |tx| search::put_many(tx, &docs).await)
            .await
            .unwrap();
        assert_eq!(titles(&app, "华强").await, ["华强电子公司"]);
        let many = titles(&app, "公司").await;
        assert_eq!(many.len(), 20, "{many:?}");
        assert!(many.iter().all(|t| t.contains("公司")), "{many:?}");
        let mine = app.store.search.search(&own(10), "贸易", None, 5).await.unwrap();
        assert_eq!(mine.len(), 5, "{mine:?}");
        assert!(app.store.search.search(&own(11), "贸易", None, 5).await.unwrap().is_empty());
        // An import's end merges the index's pending entries (PostgreSQL); found as before.
        app.store.db.settle(&["search_docs"]).await.unwrap();
        assert_eq!(titles(&app, "华强").await, ["华强电子公司"]);
        assert!(app.store.db.settle(&["search_docs; DROP TABLE users"]).await.is_err());
    }
}
