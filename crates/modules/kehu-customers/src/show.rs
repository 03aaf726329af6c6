//! The customer page (客户 360°): profile, contacts, the interaction timeline with the form to
//! record one, the panels other modules add (orders …, see `kehu_web::module::RecordPanel`)
//! and the change history of the customer and of what hangs off it. Sections with a tab bar
//! of plain links, so it works without JavaScript and reads on a phone. A bounded number of
//! queries, each a range on an index.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use kehu_domain::Principal;
use kehu_store::page::ListRequest;
use kehu_web::AppState;
use kehu_web::access::PageGranted;
use kehu_web::context::Ctx;
use kehu_web::error::PageError;
use kehu_web::history;
use kehu_web::i18n::Tr;
use kehu_web::module::{Panel, record_panels};
use kehu_web::pages::SavedQuery;
use kehu_web::views::{Chrome, FormErrors, Opt, field_label, when};

use crate::activities::{Activity, ActivityInput};
use crate::domain::{ContactInput, fen_to_decimal, kinds};
use crate::need;
use crate::pages::{KINDS, answer, gender_options};
use crate::store::{Contact, Customer};
use kehu_web::labels::Labels;

/// How many interactions the page shows; the rest are a "more" away.
pub const TIMELINE_LATEST: u64 = 20;
/// How many history entries the page shows.
pub const HISTORY_LATEST: u64 = 50;

/// One field of the profile: its label and value as shown.
struct Field {
    label: String,
    value: String,
}

/// One interaction on the timeline.
pub(crate) struct Item {
    pub id: i64,
    pub time: String,
    pub channel: String,
    /// The first character of the channel's label, the timeline's icon.
    pub icon: String,
    /// The channel's value, for the icon's colour (`ch-visit`).
    pub channel_class: String,
    pub title: String,
    pub place: String,
    pub contact: String,
    pub description: String,
    pub recorded_by: String,
}

/// The interactions of one day (in the configured time zone), newest first.
pub(crate) struct Day {
    pub date: String,
    pub items: Vec<Item>,
}

/// The timeline grouped by local day; `items` come newest first.
pub(crate) fn timeline(tr: &Tr, labels: &Labels, items: &[Activity]) -> Vec<Day> {
    let tz = tr.zone.tz();
    let mut days: Vec<Day> = Vec::new();
    for a in items {
        let local = a.at.with_timezone(&tz);
        let date = local.format("%Y-%m-%d").to_string();
        let channel = labels.of(kinds::CHANNEL, Some(&a.channel));
        let item = Item {
            id: a.id,
            time: local.format("%H:%M").to_string(),
            icon: channel.chars().next().map(String::from).unwrap_or_default(),
            channel,
            channel_class: a
                .channel
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect(),
            title: a.title.clone(),
            place: a.place.clone().unwrap_or_default(),
            contact: a.contact_name.clone().unwrap_or_default(),
            description: a.description.clone().unwrap_or_default(),
            recorded_by: a.recorded_by_name.clone().unwrap_or_default(),
        };
        match days.last_mut() {
            Some(d) if d.date == date => d.items.push(item),
            _ => days.push(Day {
                date,
                items: vec![item],
            }),
        }
    }
    days
}

/// The forms on the page, as entered, with their errors (a failed save shows the page again).
#[derive(Default)]
pub(crate) struct Forms {
    pub contact: ContactInput,
    pub contact_errors: FormErrors,
    pub activity: ActivityInput,
    pub activity_errors: FormErrors,
}

#[derive(Template)]
#[template(path = "customers/show.html")]
struct ShowPage {
    c: Chrome,
    cu: Customer,
    status: String,
    profile: Vec<Field>,
    contacts: Vec<Contact>,
    days: Vec<Day>,
    /// How many interactions there are ("10,000+" past the cap), and whether more than shown.
    activity_count: String,
    more_activities: bool,
    panels: Vec<Panel>,
    history: Vec<history::Change>,
    cf: ContactInput,
    genders: Vec<Opt>,
    /// The contact form's errors (`form_top.html` and the fields read `errors`).
    errors: FormErrors,
    af: ActivityInput,
    aerrors: FormErrors,
    channels: Vec<Opt>,
    contact_opts: Vec<Opt>,
    saved: bool,
}

/// The profile's rows that have a value.
fn profile(tr: &Tr, labels: &Labels, cu: &Customer) -> Vec<Field> {
    let code = |prefix: &str, v: &Option<String>| {
        v.as_ref()
            .map(|v| tr.t(&format!("{prefix}-{}", v.replace('_', "-"))))
            .unwrap_or_default()
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let stars = |n: Option<i16>| {
        n.map(|n| "★".repeat(usize::try_from(n).unwrap_or_default()))
            .unwrap_or_default()
    };
    let rows: Vec<(&str, String)> = vec![
        ("owner_id", cu.owner_name.clone()),
        ("region", labels.of(kinds::REGION, cu.region.as_deref())),
        ("level", labels.of(kinds::LEVEL, cu.level.as_deref())),
        (
            "industry",
            labels.of(kinds::INDUSTRY, cu.industry.as_deref()),
        ),
        ("source", labels.of(kinds::SOURCE, cu.source.as_deref())),
        ("satisfaction", stars(cu.satisfaction)),
        ("credit", stars(cu.credit)),
        ("phone", text(&cu.phone)),
        ("fax", text(&cu.fax)),
        ("website", text(&cu.website)),
        ("address", text(&cu.address)),
        ("postcode", text(&cu.postcode)),
        ("licence_no", text(&cu.licence_no)),
        ("legal_rep", text(&cu.legal_rep)),
        (
            "registered_capital",
            cu.registered_capital
                .map(fen_to_decimal)
                .unwrap_or_default(),
        ),
        (
            "annual_turnover",
            cu.annual_turnover.map(fen_to_decimal).unwrap_or_default(),
        ),
        ("bank", text(&cu.bank)),
        ("bank_account", text(&cu.bank_account)),
        ("local_tax_no", text(&cu.local_tax_no)),
        ("national_tax_no", text(&cu.national_tax_no)),
        ("size", code("size", &cu.size)),
        ("gender", code("gender", &cu.gender)),
        (
            "birthday",
            cu.birthday.map(|d| d.to_string()).unwrap_or_default(),
        ),
        ("income_band", text(&cu.income_band)),
        ("tags", cu.tag_list().join("、")),
        (
            "last_order_at",
            cu.last_order_at.map(|t| when(tr, &t)).unwrap_or_default(),
        ),
        ("memo", text(&cu.memo)),
    ];
    rows.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(f, value)| Field {
            label: field_label(tr, f),
            value,
        })
        .collect()
}

/// What the history needs to show values by their names.
struct Names<'a> {
    labels: &'a Labels,
    /// The customer's contacts by id.
    contacts: HashMap<String, String>,
    /// The account manager's id and name.
    owner: (String, String),
}

/// The history shows dictionary values, codes and yes/no by their labels, contacts and the
/// account manager by name; the customer's id in its records' entries is no news.
impl history::Names for Names<'_> {
    fn entity(&self) -> &str {
        "customer"
    }

    fn shown(&self, tr: &Tr, field: &str, s: String) -> String {
        let kind = match field {
            "owner_id" if s == self.owner.0 => return self.owner.1.clone(),
            // The customer's own status, or an order's.
            "status" if crate::domain::Status::from_code(&s).is_some() => {
                return tr.t(&format!("customer-status-{}", s.replace('_', "-")));
            }
            "status" if tr.has(&format!("order-status-{s}")) => {
                return tr.t(&format!("order-status-{s}"));
            }
            // An order's lines: product × quantity and unit each, not their JSON.
            "lines" => return order_lines(tr, &s).unwrap_or(s),
            // A day, kept as its midnight in the time zone.
            "last_order_at" => {
                return chrono::DateTime::parse_from_rfc3339(&s)
                    .map(|t| kehu_web::views::day(tr, &t.to_utc()))
                    .unwrap_or(s);
            }
            "gender" | "size" => return tr.t(&format!("{field}-{s}")),
            "region" => kinds::REGION,
            "level" => kinds::LEVEL,
            "industry" => kinds::INDUSTRY,
            "source" => kinds::SOURCE,
            "channel" => kinds::CHANNEL,
            "contact_id" => return self.contacts.get(&s).cloned().unwrap_or(s),
            "at" => {
                return chrono::DateTime::parse_from_rfc3339(&s)
                    .map(|t| when(tr, &t.to_utc()))
                    .unwrap_or(s);
            }
            _ => return s,
        };
        self.labels.of(kind, Some(&s))
    }

    fn named(&self, _entity: &str, id: &str) -> Option<String> {
        self.contacts.get(id).cloned()
    }

    fn hidden(&self, field: &str) -> bool {
        field == "customer_id"
    }
}

/// An order's lines as its audit entry keeps them (`[{"product_name", "quantity", "unit",
/// …}]`), as "压缩机 × 2 台；滤芯 × 10 个"; none when they are not that.
fn order_lines(tr: &Tr, json: &str) -> Option<String> {
    let lines: Vec<serde_json::Value> = serde_json::from_str(json).ok()?;
    let shown: Option<Vec<String>> = lines
        .iter()
        .map(|l| {
            let text = |k: &str| l.get(k).and_then(serde_json::Value::as_str);
            let unit = text("unit").filter(|u| !u.is_empty());
            Some(format!(
                "{} × {}{}",
                text("product_name")?,
                text("quantity")?,
                unit.map(|u| format!(" {u}")).unwrap_or_default()
            ))
        })
        .collect();
    Some(shown?.join(&tr.t("history-lines-separator")))
}

/// The customer page, with `forms` as entered (and their errors) after a failed save.
pub(crate) async fn page(
    state: &AppState,
    ctx: &Ctx,
    user: &Principal,
    id: i64,
    mut forms: Forms,
    saved: bool,
) -> Result<Response, PageError> {
    if forms.activity_errors.is_empty() && forms.activity.at.is_empty() {
        // Most interactions are recorded right after they happened: the time starts at now.
        forms.activity.at = chrono::Utc::now()
            .with_timezone(&ctx.tr.zone.tz())
            .format("%Y-%m-%dT%H:%M")
            .to_string();
    }
    let store = crate::store(state);
    let scope = user.owner_filter();
    let cu = store.get(scope, id).await?;
    let contacts = store.contacts_of_found(scope, id).await?;
    let activities = crate::activities(state)
        .of_found_customer(scope, id, ListRequest::first(TIMELINE_LATEST))
        .await?;
    let entries = crate::history::latest(&state.store.db, id, HISTORY_LATEST).await?;
    let panels = record_panels(state, user, ctx, "customer", id).await?;
    let labels = Labels::load(state, ctx.tr.lang, &KINDS).await?;
    let c = Chrome::new(ctx, "/customers");
    let tr = c.tr;
    let names = Names {
        labels: &labels,
        contacts: contacts
            .iter()
            .map(|k| (k.id.to_string(), k.name.clone()))
            .collect(),
        owner: (cu.owner_id.to_string(), cu.owner_name.clone()),
    };
    let history = entries
        .iter()
        .map(|e| history::change(&tr, &names, e))
        .collect();
    let count = activities.count;
    let contact_opts = Opt::list(
        contacts.iter().map(|k| (k.id, k.name.clone())),
        &forms.activity.contact_id,
    );
    let p = ShowPage {
        status: tr.t(&format!("customer-status-{}", cu.status.replace('_', "-"))),
        genders: gender_options(&tr, &forms.contact.gender),
        profile: profile(&tr, &labels, &cu),
        days: timeline(&tr, &labels, &activities.items),
        activity_count: if count.exact {
            count.value.to_string()
        } else {
            format!("{}+", count.value.saturating_sub(1))
        },
        more_activities: activities.next.is_some(),
        channels: labels.options(kinds::CHANNEL, &forms.activity.channel),
        contact_opts,
        cu,
        contacts,
        panels,
        history,
        cf: forms.contact,
        errors: forms.contact_errors,
        af: forms.activity,
        aerrors: forms.activity_errors,
        saved,
        c,
    };
    let status = if p.errors.is_empty() {
        &p.aerrors
    } else {
        &p.errors
    };
    answer(&p, status)
}

pub(crate) async fn show(
    State(state): State<AppState>,
    PageGranted { user, ctx, .. }: PageGranted<need::Customers>,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    page(&state, &ctx, &user, id, Forms::default(), q.saved.is_some()).await
}
