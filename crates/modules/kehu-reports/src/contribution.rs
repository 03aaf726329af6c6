//! 客户贡献分析, the contribution report: what each customer in the reader's scope ordered in
//! a period — orders that count (not cancelled) and their amount, its share of the total —
//! largest first, filtered by the customer's name and manager, with totals. Read from the
//! orders' running figures ([`kehu_orders::contribution`]).

use kehu_customers::store::CustomerFilter;
use kehu_domain::Principal;
use kehu_orders::contribution::{
    self as figures, Contribution, ContributionFilter, ContributionSort, ContributionTotals,
};
use kehu_store::StoreResult;
use kehu_store::page::{ListRequest, Listing, PageRequest};
use kehu_web::AppState;
use kehu_web::i18n::Tr;

use crate::period::Days;
use crate::table::{Kind, Table, Value, basis_points};

/// The report's filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub days: Days,
    /// The beginning of the customer's name or code.
    pub q: Option<String>,
    /// The customers' account manager.
    pub owner_id: Option<i64>,
}

impl Filter {
    fn figures(&self) -> ContributionFilter {
        let customers = (self.q.is_some() || self.owner_id.is_some()).then(|| CustomerFilter {
            q: self.q.clone(),
            owner_id: self.owner_id,
            ..CustomerFilter::default()
        });
        ContributionFilter {
            from: self.days.from,
            to: self.days.to,
            customers,
        }
    }
}

/// One page of the report and its totals.
pub async fn page(
    state: &AppState,
    user: &Principal,
    f: &Filter,
    req: &ListRequest<ContributionSort>,
) -> StoreResult<(Listing<Contribution>, ContributionTotals)> {
    let (db, scope, fig) = (&state.store.db, user.owner_filter(), f.figures());
    let listing = figures::contribution(db, scope, &fig, req).await?;
    let totals = figures::contribution_totals(db, scope, &fig).await?;
    Ok((listing, totals))
}

/// The columns of the report in the reader's language.
pub fn columns(tr: &Tr) -> Table {
    let mut t = Table::default();
    t.column("customer_code", tr.t("field-code"), Kind::Text)
        .column("customer_name", tr.t("report-customer"), Kind::Text)
        .column("orders", tr.t("report-orders"), Kind::Count)
        .column("amount", tr.t("report-amount"), Kind::Money)
        .column("share", tr.t("report-share"), Kind::Share);
    t
}

/// A row of the report.
pub fn row(c: &Contribution, totals: &ContributionTotals) -> Vec<Value> {
    vec![
        Value::Text(c.customer_code.clone()),
        Value::Text(c.customer_name.clone()),
        Value::Int(c.orders),
        Value::Int(c.amount),
        Value::Int(basis_points(c.amount, totals.amount)),
    ]
}

/// The totals row.
pub fn totals_row(tr: &Tr, t: &ContributionTotals) -> Vec<Value> {
    vec![
        Value::Text(tr.t("report-total")),
        Value::Text(tr.t_fill(
            "report-customers-count",
            &[("count", &t.customers.to_string())],
        )),
        Value::Int(t.orders),
        Value::Int(t.amount),
        Value::Int(if t.amount > 0 { 10_000 } else { 0 }),
    ]
}

/// The whole report under `f` in `sort`, every row (an export), read a page at a time.
pub async fn whole(
    state: &AppState,
    user: &Principal,
    tr: &Tr,
    f: &Filter,
    sort: kehu_store::page::Sort<ContributionSort>,
) -> StoreResult<Table> {
    let mut t = columns(tr);
    let (db, scope, fig) = (&state.store.db, user.owner_filter(), f.figures());
    let totals = figures::contribution_totals(db, scope, &fig).await?;
    let mut req = ListRequest::new(
        sort,
        None,
        PageRequest::new(None, Some(PageRequest::MAX_PER_PAGE)),
    );
    loop {
        let l = figures::contribution(db, scope, &fig, &req).await?;
        t.rows.extend(l.items.iter().map(|c| row(c, &totals)));
        match l.next {
            Some(next) => req = ListRequest::new(sort, Some(next), req.page),
            None => break,
        }
    }
    t.totals = Some(totals_row(tr, &totals));
    Ok(t)
}
