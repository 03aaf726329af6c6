//! 营销管理 in the browser's terms, on SQLite and PostgreSQL: a supervisor records a lead and
//! assigns it, the account manager finds it under "mine", plans, records a result and wins it
//! (the customer exists, is linked, and is the manager's); a loss needs a reason; the workflow's
//! refusals come back as messages, never a 500; bad entries come back on their fields; the list
//! filters; the board sums and weighs each column; the home page lists the plan items due; a
//! manager never sees another manager's opportunity; a won opportunity meeting an existing
//! customer offers to link it instead.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kehu_testkit::{Session, TestApp, TestBackend};

mod common;
use common::app;

const PW: &str = "lang-genug-123";

async fn signed_in(app: &TestApp, username: &str, role: &str) -> (Session, String) {
    let id = app.create_user(username, role, PW).await;
    (app.login(username, PW).await, id.to_string())
}

fn location(resp: &kehu_testkit::reqwest::Response) -> String {
    assert_eq!(resp.status(), 303, "not a redirect");
    resp.headers()["location"].to_str().unwrap().to_owned()
}

async fn html(s: &Session, path: &str) -> String {
    let resp = s.get(path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.text().await.unwrap()
}

/// The value of hidden `name` in the form posting to `action`.
fn hidden_in(html: &str, action: &str, name: &str) -> String {
    let form = &html[html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action}: {html}"))..];
    let marker = format!("name=\"{name}\" value=\"");
    let rest = &form[form.find(&marker).unwrap() + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Records an opportunity through the form: its page's path.
async fn create(s: &Session, title: &str, amount: &str, rate: &str, source: &str) -> String {
    let resp = s
        .post_form(
            "/opportunities",
            &[
                ("title", title),
                ("prospect_name", &format!("{title}公司")),
                ("source", source),
                ("success_rate", rate),
                ("expected_amount", amount),
                ("contact_name", "张三"),
                ("expected_close_date", "2030-06-30"),
            ],
        )
        .await;
    let to = location(&resp);
    assert!(to.starts_with("/opportunities/"), "{to}");
    to.split('?').next().unwrap().to_owned()
}

async fn assign(s: &Session, page: &str, to: &str) {
    let resp = s
        .post_form(&format!("{page}/assign"), &[("assignee_id", to)])
        .await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
}

async fn plan(s: &Session, page: &str, date: &str, todo: &str) {
    let resp = s
        .post_form(
            &format!("{page}/plan-items"),
            &[("date", date), ("todo", todo)],
        )
        .await;
    assert_eq!(location(&resp), format!("{page}?saved=1#plan"));
}

/// Today where the application's days are (Asia/Shanghai by default).
fn today() -> chrono::NaiveDate {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    chrono::Utc::now().with_timezone(&beijing).date_naive()
}

/// The `<section id="column-…">` of the board.
fn column<'a>(board: &'a str, status: &str) -> &'a str {
    let start = board.find(&format!("id=\"column-{status}\"")).unwrap();
    let rest = &board[start..];
    &rest[..rest.find("</section>").unwrap()]
}

async fn a_lead_becomes_the_managers_customer_through_the_forms(b: TestBackend) {
    let app = app(b).await;
    let (zhou, _) = signed_in(&app, "zhou", "sales_supervisor").await;
    let (li, li_id) = signed_in(&app, "li", "account_manager").await;
    let home = html(&zhou, "/").await;
    assert!(home.contains("href=\"/opportunities\"") && home.contains("href=\"/pipeline\""));
    assert!(
        html(&zhou, "/opportunities")
            .await
            .contains("href=\"/opportunities/new\" class=\"empty-action\"")
    );

    // The supervisor records the lead from the trade fair and gives it to 李.
    let page = create(&zhou, "华强电子采购意向", "120000", "60", "trade_fair").await;
    let shown = html(&zhou, &page).await;
    assert!(
        shown.contains("未指派") && shown.contains("展会"),
        "{shown}"
    );
    assert!(shown.contains("120,000.00 CNY"), "{shown}");
    assert!(
        shown.contains("id=\"assign\""),
        "the supervisor may assign: {shown}"
    );
    assert!(
        !shown.contains("id=\"plan-form\""),
        "nobody plans before it is assigned"
    );
    let early = zhou.post_form(&format!("{page}/succeed"), &[]).await;
    assert_eq!(early.status(), 409);
    assert!(early.text().await.unwrap().contains("尚未指派给客户经理"));
    assign(&zhou, &page, &li_id).await;

    // 李 finds it under "mine", plans (one item already late) and records a result.
    let mine = html(&li, "/opportunities?mine=1").await;
    assert!(mine.contains("华强电子采购意向"), "{mine}");
    let today = today();
    let late = (today - chrono::Days::new(3)).to_string();
    plan(&li, &page, &late, "电话回访采购经理").await;
    plan(&li, &page, &today.to_string(), "上门演示").await;
    let shown = html(&li, &page).await;
    assert!(shown.contains("开发中"), "the first plan item starts it");
    assert!(shown.contains("plan-item overdue"), "{shown}");
    assert!(shown.contains("已逾期"), "{shown}");
    let due = html(&li, "/").await;
    let panel = &due[due.find("id=\"plan-due\"").unwrap()..];
    assert!(
        panel.contains("电话回访采购经理") && panel.contains("上门演示"),
        "{panel}"
    );
    assert!(panel.contains("class=\"overdue\""), "{panel}");
    assert!(panel.contains(&format!("href=\"{page}#plan\"")), "{panel}");

    let item = {
        let at = shown.find("电话回访采购经理").unwrap();
        let before = &shown[..at];
        let id_at = before.rfind("id=\"plan-item-").unwrap() + "id=\"plan-item-".len();
        before[id_at..][..before[id_at..].find('"').unwrap()].to_owned()
    };
    let action = format!("{page}/plan-items/{item}/result");
    let version = hidden_in(&shown, &action, "version");
    let blank = li
        .post_form(&action, &[("result", " "), ("version", &version)])
        .await;
    assert_eq!(blank.status(), 422);
    let recorded = li
        .post_form(
            &action,
            &[("result", "对方有意向，下周报价"), ("version", &version)],
        )
        .await;
    assert_eq!(location(&recorded), format!("{page}?saved=1#plan"));
    let shown = html(&li, &page).await;
    assert!(shown.contains("对方有意向，下周报价"), "{shown}");
    let due = html(&li, "/").await;
    assert!(
        !due[due.find("id=\"plan-due\"").unwrap()..].contains("电话回访采购经理"),
        "a carried-out item is no longer due"
    );

    // A loss needs a reason (and the form keeps the page); the win makes the customer.
    let no_reason = li
        .post_form(&format!("{page}/fail"), &[("reason", "")])
        .await;
    assert_eq!(no_reason.status(), 422);
    let again = no_reason.text().await.unwrap();
    assert!(again.contains("id=\"f-reason-error\""), "{again}");
    let won = li.post_form(&format!("{page}/succeed"), &[]).await;
    assert_eq!(location(&won), format!("{page}?saved=1"));
    let shown = html(&li, &page).await;
    assert!(shown.contains("开发成功"), "{shown}");
    let customer = {
        let at = shown.find("id=\"opportunity-customer\"").unwrap();
        let before = &shown[..at];
        let href = before.rfind("href=\"/customers/").unwrap() + "href=\"".len();
        before[href..][..before[href..].find('"').unwrap()].to_owned()
    };
    let cu = html(&li, &customer).await;
    assert!(cu.contains("华强电子采购意向公司"), "{cu}");
    assert!(
        cu.contains(&format!("href=\"{page}\"")),
        "the customer page lists where it came from: {cu}"
    );
    let list = html(&li, "/customers").await;
    assert!(list.contains("华强电子采购意向公司"), "{list}");

    // A second "won" is refused with the workflow's reason; so is any other change.
    let twice = li.post_form(&format!("{page}/succeed"), &[]).await;
    assert_eq!(twice.status(), 409);
    assert!(twice.text().await.unwrap().contains("已结束"));
    let shown = html(&zhou, &page).await;
    assert!(
        !shown.contains("id=\"next-steps\""),
        "closed: no steps left"
    );
    let history = &shown[shown.find("id=\"history\"").unwrap()..];
    assert!(
        history.contains("计划项 电话回访采购经理") && history.contains("开发成功"),
        "{history}"
    );
    let board = html(&zhou, "/pipeline").await;
    let success = column(&board, "success");
    assert!(
        success.contains("华强电子采购意向") && success.contains("120,000.00 CNY"),
        "{success}"
    );
}

async fn a_loss_needs_a_reason_and_a_won_one_may_link_an_existing_customer(b: TestBackend) {
    let app = app(b).await;
    let (zhou, _) = signed_in(&app, "zhou", "sales_supervisor").await;
    let (li, li_id) = signed_in(&app, "li", "account_manager").await;
    let today = today().to_string();

    let lost = create(&zhou, "丢单", "5000", "20", "website").await;
    assign(&zhou, &lost, &li_id).await;
    plan(&li, &lost, &today, "报价").await;
    let r = zhou
        .post_form(
            &format!("{lost}/fail"),
            &[("reason", "价格太高，客户选了竞品")],
        )
        .await;
    assert_eq!(location(&r), format!("{lost}?saved=1"));
    let shown = html(&li, &lost).await;
    assert!(
        shown.contains("开发失败") && shown.contains("价格太高，客户选了竞品"),
        "{shown}"
    );

    // A customer named like the prospect exists: "won" lists it and may link it.
    let made = li
        .post_form(
            "/customers",
            &[("name", "老客户公司"), ("owner_id", &li_id)],
        )
        .await;
    let existing = location(&made).split('?').next().unwrap().to_owned();
    let page = create(&zhou, "老客户", "8000", "50", "referral").await;
    assign(&zhou, &page, &li_id).await;
    plan(&li, &page, &today, "拜访").await;
    let met = li.post_form(&format!("{page}/succeed"), &[]).await;
    assert_eq!(met.status(), 409);
    let text = met.text().await.unwrap();
    assert!(text.contains("id=\"existing-customers\""), "{text}");
    assert!(text.contains(&format!("href=\"{existing}\"")), "{text}");
    let cid = existing.trim_start_matches("/customers/");
    let linked = li
        .post_form(&format!("{page}/succeed"), &[("link_customer_id", cid)])
        .await;
    assert_eq!(location(&linked), format!("{page}?saved=1"));
    let shown = html(&li, &page).await;
    assert!(shown.contains(&format!("href=\"{existing}\" id=\"opportunity-customer\"")));
    let customers = html(&li, "/customers").await;
    assert_eq!(
        customers.matches("老客户公司").count(),
        1,
        "no second customer: {customers}"
    );
}

async fn bad_entries_come_back_on_their_fields_and_edits_stop_at_assignment(b: TestBackend) {
    let app = app(b).await;
    let (zhou, _) = signed_in(&app, "zhou", "sales_supervisor").await;
    let (_, li_id) = signed_in(&app, "li", "account_manager").await;
    assert!(
        html(&zhou, "/opportunities/new")
            .await
            .contains("value=\"CNY\"")
    );
    let bad = zhou
        .post_form(
            "/opportunities",
            &[
                ("title", "坏数据"),
                ("prospect_name", "某公司"),
                ("success_rate", "150"),
                ("expected_amount", "-5"),
                ("expected_close_date", "31/12/2026"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap();
    for field in ["success_rate", "expected_amount", "expected_close_date"] {
        assert!(
            page.contains(&format!("id=\"f-{field}-error\"")),
            "{field}: {page}"
        );
    }
    assert!(page.contains("请输入 0 到 100 之间的整数百分比"), "{page}");
    assert!(page.contains("value=\"坏数据\""), "the entry is kept");

    // The creator edits while unassigned; a stale form meets the conflict.
    let opp = create(&zhou, "可以改", "100", "10", "").await;
    let form = html(&zhou, &format!("{opp}/edit")).await;
    let version = hidden_in(&form, &opp, "version");
    let fields = [
        ("title", "改好了"),
        ("prospect_name", "某公司"),
        ("success_rate", "30"),
        ("version", version.as_str()),
    ];
    let saved = zhou.post_form(&opp, &fields).await;
    assert_eq!(location(&saved), format!("{opp}?saved=1"));
    assert!(html(&zhou, &opp).await.contains("改好了"));
    let stale = zhou.post_form(&opp, &fields).await;
    assert_eq!(stale.status(), 409);
    assert!(stale.text().await.unwrap().contains("id=\"conflict\""));

    // Assigned, it is fixed: the edit is refused with the reason, deleting too.
    assign(&zhou, &opp, &li_id).await;
    let refused = zhou.get(&format!("{opp}/edit")).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("已指派"));
    let del = zhou
        .post_form(&format!("{opp}/delete"), &[("version", "0")])
        .await;
    assert_eq!(del.status(), 409);
    assert!(del.text().await.unwrap().contains("id=\"form-error\""));
    let a = zhou.post_form(&format!("{opp}/assign"), &[]).await;
    assert_eq!(a.status(), 422, "an assignment names someone");

    // An unassigned one is deleted.
    let gone = create(&zhou, "删掉", "", "0", "").await;
    let shown = html(&zhou, &gone).await;
    let version = hidden_in(&shown, &format!("{gone}/delete"), "version");
    let r = zhou
        .post_form(&format!("{gone}/delete"), &[("version", &version)])
        .await;
    assert_eq!(location(&r), "/opportunities?saved=1");
    assert_eq!(zhou.get(&gone).await.status(), 404);
}

async fn the_list_filters_by_status_source_assignee_amount_period_and_mine(b: TestBackend) {
    let app = app(b).await;
    let (zhou, _) = signed_in(&app, "zhou", "sales_supervisor").await;
    let (li, li_id) = signed_in(&app, "li", "account_manager").await;
    create(&zhou, "小单甲", "1000", "40", "trade_fair").await;
    let big = create(&zhou, "大单乙", "50000", "60", "website").await;
    assign(&zhou, &big, &li_id).await;
    let own = create(&li, "自己找的丙", "3000", "30", "cold_visit").await;

    let shows = |page: &str, yes: &[&str], no: &[&str]| {
        for t in yes {
            assert!(page.contains(t), "{t} missing: {page}");
        }
        for t in no {
            assert!(!page.contains(t), "{t} shown: {page}");
        }
    };
    let all = html(&zhou, "/opportunities").await;
    shows(&all, &["小单甲", "大单乙", "自己找的丙", "共 3 条"], &[]);
    // The assignee filter offers those who may be given opportunities (li plans); a manager,
    // who sees only their own, is not offered it.
    shows(&all, &[&format!("<option value=\"{li_id}\"")], &[]);
    let li_all = html(&li, "/opportunities").await;
    shows(
        &li_all,
        &["大单乙", "自己找的丙"],
        &["小单甲", "name=\"assignee\""],
    );
    let mine = html(&zhou, "/opportunities?mine=1").await;
    shows(&mine, &["小单甲"], &["大单乙", "自己找的丙"]);
    let assigned = html(&zhou, "/opportunities?status=assigned").await;
    shows(&assigned, &["大单乙"], &["小单甲", "自己找的丙"]);
    let fair = html(&zhou, "/opportunities?source=trade_fair").await;
    shows(&fair, &["小单甲"], &["大单乙", "自己找的丙"]);
    let by_li = html(&zhou, &format!("/opportunities?assignee={li_id}")).await;
    shows(&by_li, &["大单乙"], &["小单甲", "自己找的丙"]);
    let big_ones = html(&zhou, "/opportunities?min_amount=10000").await;
    shows(&big_ones, &["大单乙"], &["小单甲", "自己找的丙"]);
    let small = html(&zhou, "/opportunities?max_amount=3,000").await;
    shows(&small, &["小单甲", "自己找的丙"], &["大单乙"]);
    let sorted = html(&zhou, "/opportunities?sort=-expected_amount").await;
    assert!(sorted.find("大单乙").unwrap() < sorted.find("自己找的丙").unwrap());
    let tomorrow = (today() + chrono::Days::new(2)).to_string();
    let later = html(&zhou, &format!("/opportunities?created_from={tomorrow}")).await;
    shows(&later, &["没有符合筛选条件的销售机会"], &["小单甲"]);
    let own_id = own.trim_start_matches("/opportunities/");
    let page = html(&li, &own).await;
    assert!(page.contains(&format!("action=\"/opportunities/{own_id}/delete\"")));
}

async fn a_manager_never_sees_another_managers_opportunity(b: TestBackend) {
    let app = app(b).await;
    let (li, _) = signed_in(&app, "li", "account_manager").await;
    let (wang, _) = signed_in(&app, "wang", "account_manager").await;
    let page = create(&li, "李的线索", "100", "10", "").await;
    assert_eq!(wang.get(&page).await.status(), 404);
    assert_eq!(wang.get(&format!("{page}/edit")).await.status(), 404);
    let r = wang
        .post_form(&format!("{page}/fail"), &[("reason", "抢单")])
        .await;
    assert_eq!(r.status(), 404);
    let r = wang
        .post_form(&format!("{page}/delete"), &[("version", "1")])
        .await;
    assert_eq!(r.status(), 404);
    assert!(!html(&wang, "/opportunities").await.contains("李的线索"));
    assert!(!html(&wang, "/pipeline").await.contains("李的线索"));
    assert!(html(&li, &page).await.contains("李的线索"));
}

async fn the_board_counts_sums_and_weighs_each_column_per_currency(b: TestBackend) {
    let app = app(b).await;
    let (zhou, _) = signed_in(&app, "zhou", "sales_supervisor").await;
    let (li, li_id) = signed_in(&app, "li", "account_manager").await;
    create(&zhou, "甲", "1000", "40", "").await;
    create(&zhou, "乙", "3000.50", "60", "").await;
    let dollars = zhou
        .post_form(
            "/opportunities",
            &[
                ("title", "丙"),
                ("prospect_name", "外企"),
                ("success_rate", "50"),
                ("expected_amount", "200"),
                ("currency", "usd"),
            ],
        )
        .await;
    location(&dollars);
    let dev = create(&zhou, "丁", "10000", "80", "").await;
    assign(&zhou, &dev, &li_id).await;
    plan(&li, &dev, &today().to_string(), "拜访").await;

    let board = html(&zhou, "/pipeline").await;
    let open = column(&board, "unassigned");
    assert!(open.contains("3 个"), "{open}");
    // 1000 + 3000.50; weighted 1000×40% + 3000.50×60% = 400 + 1800.30.
    assert!(open.contains("合计 4,000.50 CNY"), "{open}");
    assert!(open.contains("加权 2,200.30 CNY"), "{open}");
    assert!(open.contains("合计 200.00 USD") && open.contains("加权 100.00 USD"));
    assert!(
        open.find("CNY").unwrap() < open.find("USD").unwrap(),
        "CNY first"
    );
    assert!(open.contains("data-move=\"assigned\""), "{open}");
    // Newest first: 丙, 乙, 甲 (the columns are read in one statement, ordered again after).
    let at = |t: &str| open.find(&format!(">{t}<")).unwrap();
    assert!(at("丙") < at("乙") && at("乙") < at("甲"), "{open}");
    let developing = column(&board, "developing");
    assert!(developing.contains("加权 8,000.00 CNY"), "{developing}");
    assert!(
        developing.contains("data-move=\"success\"")
            && developing.contains("data-move=\"failure\""),
        "{developing}"
    );
    assert!(column(&board, "success").contains("暂无"));

    // The manager's board holds only theirs, and they may move it on.
    let theirs = html(&li, "/pipeline").await;
    assert!(!theirs.contains("甲") && theirs.contains("丁"));
    let card = column(&theirs, "developing");
    assert!(card.contains("data-moves=\"success failure\""), "{card}");
}

common::on_both! {
    a_lead_becomes_the_managers_customer_through_the_forms,
    a_loss_needs_a_reason_and_a_won_one_may_link_an_existing_customer,
    bad_entries_come_back_on_their_fields_and_edits_stop_at_assignment,
    the_list_filters_by_status_source_assignee_amount_period_and_mine,
    a_manager_never_sees_another_managers_opportunity,
    the_board_counts_sums_and_weighs_each_column_per_currency,
}
