//! `/api/v1/opportunities` and `/api/v1/pipeline`: sales opportunities (销售机会), their
//! development plans (客户开发计划) and the pipeline over JSON, on the platform's conventions
//! (`ListOf`, problem+json, a PATCH as a merge patch parsed like a create). Money is a decimal
//! string (`"120000.00"`). Opportunities are within the caller's data scope: another
//! manager's is 404. A transition the workflow refuses for the state is 409 `not_allowed`
//! with a `reason` (`err-opportunity-closed` …), for the person 403. Transition bodies may
//! carry the `version` read (a stale one is 409 `version_conflict`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use chrono::{DateTime, NaiveDate, Utc};
use kehu_domain::DomainError;
use kehu_domain::error::Errors;
use kehu_domain::money::{Money, fen_to_decimal};
use kehu_store::page::Sort;
use kehu_web::AppState;
use kehu_web::api::{
    BadRequest, Conflict, Decimal, Forbidden, Granted, Invalid, Json, ListOf, NotFound, Path,
    Query, Unauthenticated, VersionQuery, blank_as_none, created, list_request, merge_patch,
    period, required_version, rules,
};
use kehu_web::context::Ctx;
use kehu_web::error::{ApiError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::domain::{
    OpportunityDraft, OpportunityInput, PlanItemDraft, PlanItemInput, REASON_MAX, RESULT_MAX,
    Status, required_text,
};
use crate::need;
use crate::pipeline::{self, StageTotal};
use crate::plan::PlanItem;
use crate::store::{Acting, Opportunity, OpportunityFilter, OpportunitySort, Won};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/opportunities",
            get(opportunity_list).post(create_opportunity),
        )
        .route(
            "/api/v1/opportunities/{id}",
            get(show_opportunity)
                .patch(update_opportunity)
                .delete(remove_opportunity),
        )
        .route("/api/v1/opportunities/{id}/assign", post(assign))
        .route(
            "/api/v1/opportunities/{id}/plan-items",
            get(plan_items).post(add_plan_item),
        )
        .route(
            "/api/v1/opportunities/{id}/plan-items/{item_id}",
            patch(record_result),
        )
        .route("/api/v1/opportunities/{id}/succeed", post(succeed))
        .route("/api/v1/opportunities/{id}/fail", post(fail))
        .route("/api/v1/pipeline", get(pipeline))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        opportunity_list, create_opportunity, show_opportunity, update_opportunity,
        remove_opportunity, assign, plan_items, add_plan_item, record_result, succeed, fail,
        pipeline
    ),
    components(schemas(CustomerExists)),
    tags((name = "sales", description = "Sales opportunities (销售机会), development plans (客户开发计划) and the pipeline"))
)]
pub struct SalesApi;

fn text(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn who(user: &kehu_domain::Principal, ctx: &Ctx) -> Acting {
    crate::store::acting(user, ctx.actor())
}

/// A sales opportunity (销售机会).
#[derive(Debug, Serialize, ToSchema)]
pub struct OpportunityOut {
    pub id: i64,
    pub title: String,
    /// The prospect (客户名称).
    pub prospect_name: String,
    /// A value of the dictionary `opportunity_source`.
    pub source: Option<String>,
    /// Percent, 0–100.
    pub success_rate: i16,
    pub contact_name: Option<String>,
    /// E.164 (`+8613812345678`).
    pub contact_phone: Option<String>,
    pub description: Option<String>,
    /// Yuan as a decimal string (`"120000.00"`).
    pub expected_amount: Option<String>,
    /// ISO 4217.
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    /// `unassigned`, `assigned`, `developing`, `success` or `failure`.
    pub status: String,
    /// Whose it is: its creator until assigned, then its assignee.
    pub owner_id: i64,
    pub owner_name: String,
    pub assignee_id: Option<i64>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub assigned_at: Option<DateTime<Utc>>,
    /// Why it was lost (`failure`).
    pub failure_reason: Option<String>,
    /// The customer it became or was linked to (`success`).
    pub customer_id: Option<i64>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back on PATCH and DELETE, and on transitions (optimistic locking).
    pub version: i32,
    /// What the caller may do with it now: `edit`, `delete`, `assign`, `plan`, `record`,
    /// `succeed`, `fail`.
    pub actions: Vec<String>,
}

impl OpportunityOut {
    fn of(o: Opportunity, who: &Acting) -> Self {
        let actions = o.actions(who).iter().map(|a| a.code().to_owned()).collect();
        Self {
            expected_amount: o.expected_amount.map(fen_to_decimal),
            id: o.id,
            title: o.title,
            prospect_name: o.prospect_name,
            source: o.source,
            success_rate: o.success_rate,
            contact_name: o.contact_name,
            contact_phone: o.contact_phone,
            description: o.description,
            currency: o.currency,
            expected_close_date: o.expected_close_date,
            status: o.status,
            owner_id: o.owner_id,
            owner_name: o.owner_name,
            assignee_id: o.assignee_id,
            assigned_at: o.assigned_at,
            failure_reason: o.failure_reason,
            customer_id: o.customer_id,
            closed_at: o.closed_at,
            created_by: o.created_by,
            created_at: o.created_at,
            updated_at: o.updated_at,
            version: o.version,
            actions,
        }
    }
}

kehu_web::bodies! {
    /// An opportunity's fields: `title`, `prospect_name` and `success_rate` are required;
    /// money is a decimal with at most two places, not negative.
    OpportunityBody,
    /// Changes to an opportunity while it is unassigned: absent fields stay, `null` clears a
    /// field.
    OpportunityPatch {
        /// 1–100 characters.
        title: String,
        /// The prospect (客户名称), 1–100 characters.
        prospect_name: String,
        /// A value of the dictionary `opportunity_source`.
        source: String,
        /// A whole percent, 0–100 (`60` or `"60"`).
        success_rate: Decimal,
        contact_name: String,
        /// A phone number (`13812345678`, `+86 10 1234 5678`).
        contact_phone: String,
        description: String,
        /// Yuan, `"120000.00"` or `120000`.
        expected_amount: Decimal,
        /// ISO 4217; `CNY` when empty.
        currency: String,
        /// `YYYY-MM-DD`.
        expected_close_date: String,
    }
}

impl From<OpportunityBody> for OpportunityInput {
    fn from(b: OpportunityBody) -> Self {
        let decimal = |d: Option<Decimal>| d.as_ref().map(Decimal::text).unwrap_or_default();
        Self {
            title: text(b.title),
            prospect_name: text(b.prospect_name),
            source: text(b.source),
            success_rate: decimal(b.success_rate),
            contact_name: text(b.contact_name),
            contact_phone: text(b.contact_phone),
            description: text(b.description),
            expected_amount: decimal(b.expected_amount),
            currency: text(b.currency),
            expected_close_date: text(b.expected_close_date),
        }
    }
}

impl From<&Opportunity> for OpportunityBody {
    fn from(o: &Opportunity) -> Self {
        Self {
            title: Some(o.title.clone()),
            prospect_name: Some(o.prospect_name.clone()),
            source: o.source.clone(),
            success_rate: Some(Decimal::Text(o.success_rate.to_string())),
            contact_name: o.contact_name.clone(),
            contact_phone: o.contact_phone.clone(),
            description: o.description.clone(),
            expected_amount: o.expected_amount.map(|f| Decimal::Text(fen_to_decimal(f))),
            currency: Some(o.currency.clone()),
            expected_close_date: o.expected_close_date.map(|d| d.to_string()),
        }
    }
}

fn opportunity_sort() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    rules::sort::<OpportunitySort>()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpportunityQuery {
    /// `unassigned`, `assigned`, `developing`, `success` or `failure`.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(value_type = Option<String>)]
    status: Option<Status>,
    /// A value of the dictionary `opportunity_source`.
    #[param(max_length = 64)]
    source: Option<String>,
    /// Assigned to this user.
    #[serde(default, deserialize_with = "blank_as_none")]
    assignee_id: Option<i64>,
    /// Became or linked to this customer.
    #[serde(default, deserialize_with = "blank_as_none")]
    customer_id: Option<i64>,
    /// Created on or after this day (`2026-03-01`) or instant (RFC 3339).
    created_from: Option<String>,
    /// Created on or before this day, or before this instant.
    created_to: Option<String>,
    /// An expected amount of at least this many yuan (`"10000"`).
    min_amount: Option<String>,
    /// An expected amount of at most this many yuan.
    max_amount: Option<String>,
    /// `true`: only the caller's own (those they entered, until assigned, and those given to
    /// them).
    #[serde(default, deserialize_with = "blank_as_none")]
    mine: Option<bool>,
    /// `created_at` (`-created_at`, newest first, is the default), `expected_amount` or
    /// `expected_close_date`; `-` in front sorts descending.
    #[serde(default, deserialize_with = "blank_as_none")]
    #[param(schema_with = opportunity_sort)]
    sort: Option<Sort<OpportunitySort>>,
    /// Where to continue (a `next_cursor` or `prev_cursor`).
    #[param(max_length = 512)]
    cursor: Option<String>,
    #[serde(default, deserialize_with = "kehu_web::api::page_number")]
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<u64>,
    #[serde(default, deserialize_with = "kehu_web::api::per_page")]
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
}

impl OpportunityQuery {
    fn filter(
        &self,
        user_id: i64,
        zone: kehu_web::config::TimeZone,
    ) -> Result<OpportunityFilter, ApiError> {
        let mut e = Errors::new();
        let (from, to) = period(
            &mut e,
            "created",
            (self.created_from.as_deref(), self.created_to.as_deref()),
            zone,
        );
        let money = |f: &str, v: &Option<String>| Money::parse(f, v.as_deref().unwrap_or_default());
        let min = e.check(money("min_amount", &self.min_amount)).flatten();
        let max = e.check(money("max_amount", &self.max_amount)).flatten();
        e.finish()?;
        Ok(OpportunityFilter {
            status: self.status,
            source: self.source.clone().filter(|s| !s.trim().is_empty()),
            assignee_id: self.assignee_id,
            owner_id: self.mine.unwrap_or(false).then_some(user_id),
            customer_id: self.customer_id,
            created_from: from,
            created_to: to,
            min_amount: min.map(Money::fen),
            max_amount: max.map(Money::fen),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/opportunities", tag = "sales", params(OpportunityQuery),
    responses(
        (status = 200, description = "One page of the opportunities in the caller's scope, newest first unless `sort` says otherwise", body = ListOf<OpportunityOut>),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn opportunity_list(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Opportunities>,
    Query(q): Query<OpportunityQuery>,
) -> Result<axum::Json<ListOf<OpportunityOut>>, ApiError> {
    let req = list_request(q.sort, q.cursor.as_deref(), q.page, q.per_page)?;
    let f = q.filter(user.user_id, state.config.time_zone)?;
    let l = crate::opportunities(&state)
        .list(user.owner_filter(), &f, req)
        .await?;
    let who = who(&user, &ctx);
    Ok(axum::Json(ListOf::from_listing(l, |o| {
        OpportunityOut::of(o, &who)
    })))
}

#[utoipa::path(post, path = "/api/v1/opportunities", tag = "sales",
    request_body = OpportunityBody,
    responses(
        (status = 201, description = "Recorded, unassigned and the caller's", body = OpportunityOut,
            headers(("Location" = String, description = "The new opportunity's URL"))),
        BadRequest, Unauthenticated, Forbidden, Invalid,
    ))]
pub async fn create_opportunity(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::OpportunityWrite>,
    Json(b): Json<OpportunityBody>,
) -> Result<Response, ApiError> {
    let store = crate::opportunities(&state);
    let dict = store.dictionary().await?;
    let d = OpportunityDraft::parse(&OpportunityInput::from(b), &dict)?;
    let who = who(&user, &ctx);
    let o = store.create(&who, &d).await?;
    Ok(created(
        format!("/api/v1/opportunities/{}", o.id),
        OpportunityOut::of(o, &who),
    ))
}

#[utoipa::path(get, path = "/api/v1/opportunities/{id}", tag = "sales",
    params(("id" = i64, Path, description = "Opportunity id", minimum = 1)),
    responses(
        (status = 200, description = "The opportunity", body = OpportunityOut),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn show_opportunity(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Opportunities>,
    Path(id): Path<i64>,
) -> Result<axum::Json<OpportunityOut>, ApiError> {
    let o = crate::opportunities(&state)
        .get(user.owner_filter(), id)
        .await?;
    Ok(axum::Json(OpportunityOut::of(o, &who(&user, &ctx))))
}

#[utoipa::path(patch, path = "/api/v1/opportunities/{id}", tag = "sales",
    params(("id" = i64, Path, description = "Opportunity id", minimum = 1)),
    request_body = OpportunityPatch,
    responses(
        (status = 200, description = "The changed opportunity (only while unassigned, by its creator or a supervisor)", body = OpportunityOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn update_opportunity(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::OpportunityWrite>,
    Path(id): Path<i64>,
    Json(p): Json<OpportunityPatch>,
) -> Result<axum::Json<OpportunityOut>, ApiError> {
    let store = crate::opportunities(&state);
    let current = store.get(user.owner_filter(), id).await?;
    let version = required_version(p.version)?;
    let merged = merge_patch(OpportunityBody::from(&current), &p)?;
    let dict = store.dictionary().await?;
    let d = OpportunityDraft::parse(&OpportunityInput::from(merged), &dict)?;
    let who = who(&user, &ctx);
    let o = store.update(&who, id, &d, version).await?;
    Ok(axum::Json(OpportunityOut::of(o, &who)))
}

#[utoipa::path(delete, path = "/api/v1/opportunities/{id}", tag = "sales",
    params(("id" = i64, Path, description = "Opportunity id", minimum = 1), VersionQuery),
    responses(
        (status = 204, description = "Deleted (only while unassigned, by its creator or a supervisor; otherwise 409 `not_allowed`, reason `err-opportunity-assigned`)"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn remove_opportunity(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::OpportunityWrite>,
    Path(id): Path<i64>,
    Query(v): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    let version = required_version(v.version)?;
    crate::opportunities(&state)
        .delete(&who(&user, &ctx), id, version)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Who develops the opportunity.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OpportunityAssignBody {
    /// An active user holding `plan.write` (an account manager).
    pub assignee_id: Option<i64>,
    /// The opportunity's `version` last read.
    pub version: Option<i32>,
}

#[utoipa::path(post, path = "/api/v1/opportunities/{id}/assign", tag = "sales",
    params(("id" = i64, Path, description = "Opportunity id", minimum = 1)),
    request_body = OpportunityAssignBody,
    responses(
        (status = 200, description = "Assigned (or reassigned, while not closed): it is the assignee's now", body = OpportunityOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn assign(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::OpportunityAssign>,
    Path(id): Path<i64>,
    Json(b): Json<OpportunityAssignBody>,
) -> Result<axum::Json<OpportunityOut>, ApiError> {
    let Some(assignee_id) = b.assignee_id else {
        return Err(DomainError::field("assignee_id", "err-required").into());
    };
    let assignee = state
        .principal(assignee_id)
        .await?
        .ok_or_else(|| DomainError::field("assignee_id", "err-assignee-right"))?;
    let who = who(&user, &ctx);
    let o = crate::opportunities(&state)
        .assign(&who, id, &assignee, b.version)
        .await?;
    Ok(axum::Json(OpportunityOut::of(o, &who)))
}

/// A dated to-do of a development plan and, once carried out, its result (执行效果).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanItemOut {
    pub id: i64,
    pub opportunity_id: i64,
    pub date: NaiveDate,
    pub todo: String,
    pub result: Option<String>,
    /// Not carried out and its day has passed (in the configured time zone).
    pub overdue: bool,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "kehu_web::api::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Send it back when recording the result.
    pub version: i32,
}

impl PlanItemOut {
    fn of(p: PlanItem, today: NaiveDate) -> Self {
        Self {
            overdue: p.is_overdue(today),
            id: p.id,
            opportunity_id: p.opportunity_id,
            date: p.date,
            todo: p.todo,
            result: p.result,
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

/// A new plan item.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlanItemBody {
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    /// What to do, 1–500 characters.
    pub todo: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/opportunities/{id}/plan-items", tag = "sales",
    params(("id" = i64, Path, description = "Opportunity id", minimum = 1)),
    responses(
        (status = 200, description = "The development plan, by date", body = Vec<PlanItemOut>),
        BadRequest, Unauthenticated, Forbidden, NotFound,
    ))]
pub async fn plan_items(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Opportunities>,
    Path(id): Path<i64>,
) -> Result<axum::Json<Vec<PlanItemOut>>, ApiError> {
    let store = crate::opportunities(&state);
    let today = store.today();
    let items = store.plan(user.owner_filter(), id).await?;
    Ok(axum::Json(
        items
            .into_iter()
            .map(|p| PlanItemOut::of(p, today))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/opportunities/{id}/plan-items", tag = "sales",
    params(("id" = i64, Path, description = "Opportunity id", minimum = 1)),
    request_body = PlanItemBody,
    responses(
        (status = 201, description = "Added by the assignee; the first item starts the development (`developing`)", body = PlanItemOut,
            headers(("Location" = String, description = "The plan's URL"))),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn add_plan_item(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::PlanWrite>,
    Path(id): Path<i64>,
    Json(b): Json<PlanItemBody>,
) -> Result<Response, ApiError> {
    let input = PlanItemInput {
        date: text(b.date),
        todo: text(b.todo),
    };
    let d = PlanItemDraft::parse(&input)?;
    let store = crate::opportunities(&state);
    let item = store.add_plan_item(&who(&user, &ctx), id, &d).await?;
    Ok(created(
        format!("/api/v1/opportunities/{id}/plan-items"),
        PlanItemOut::of(item, store.today()),
    ))
}

/// The result of a plan item as carried out (执行效果).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ResultBody {
    /// 1–2000 characters.
    pub result: Option<String>,
    /// The plan item's `version` last read.
    #[schema(required = true)]
    pub version: Option<i32>,
}

#[utoipa::path(patch, path = "/api/v1/opportunities/{id}/plan-items/{item_id}", tag = "sales",
    params(
        ("id" = i64, Path, description = "Opportunity id", minimum = 1),
        ("item_id" = i64, Path, description = "Plan item id", minimum = 1),
    ),
    request_body = ResultBody,
    responses(
        (status = 200, description = "The result recorded (the assignee, while developing)", body = PlanItemOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn record_result(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::PlanWrite>,
    Path((id, item_id)): Path<(i64, i64)>,
    Json(b): Json<ResultBody>,
) -> Result<axum::Json<PlanItemOut>, ApiError> {
    let version = required_version(b.version)?;
    let result = required_text("result", &text(b.result), RESULT_MAX)?;
    let store = crate::opportunities(&state);
    let item = store
        .record_result(&who(&user, &ctx), id, item_id, &result, version)
        .await?;
    Ok(axum::Json(PlanItemOut::of(item, store.today())))
}

/// Closing as won.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SucceedBody {
    /// Link this existing customer (in the caller's scope) instead of creating one.
    pub link_customer_id: Option<i64>,
    /// The opportunity's `version` last read.
    pub version: Option<i32>,
}

/// A customer that already has the prospect's name or phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExistingCustomer {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// Its API URL.
    pub href: String,
}

/// 409 `customer_exists`: a problem document with the customers that have the prospect's
/// name or phone. Nothing was written; send `link_customer_id` to link one of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerExists {
    #[serde(flatten)]
    pub problem: Problem,
    pub customers: Vec<ExistingCustomer>,
}

fn customer_exists(found: Vec<(i64, String, String)>) -> Response {
    let tr = kehu_web::context::current_tr();
    let status = StatusCode::CONFLICT;
    let body = CustomerExists {
        problem: Problem {
            type_: "https://kehu.dev/problems/customer_exists".into(),
            title: tr.t("problem-conflict"),
            status: status.as_u16(),
            detail: tr.t("err-customer-exists"),
            code: "customer_exists".into(),
            reason: Some("err-customer-exists".into()),
            errors: Vec::new(),
            request_id: kehu_web::request_id::current(),
        },
        customers: found
            .into_iter()
            .map(|(id, code, name)| ExistingCustomer {
                href: format!("/api/v1/customers/{id}"),
                id,
                code,
                name,
            })
            .collect(),
    };
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    resp
}

#[utoipa::path(post, path = "/api/v1/opportunities/{id}/succeed", tag = "sales",
    params(("id" = i64, Path, description = "Opportunity id", minimum = 1)),
    request_body = SucceedBody,
    responses(
        (status = 200, description = "Closed as won (the assignee or a supervisor, while developing): `customer_id` is the customer created from it — the prospect's name and source, the assignee as account manager, its contact as primary contact — or the one linked", body = OpportunityOut),
        (status = 409, description = "`customer_exists`: a customer with the prospect's name or phone exists (listed in `customers`; nothing written, link one instead); or `not_allowed` with a `reason` (e.g. already closed); or `version_conflict`", body = CustomerExists, content_type = "application/problem+json"),
        BadRequest, Unauthenticated, Forbidden, NotFound, Invalid,
    ))]
pub async fn succeed(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Opportunities>,
    Path(id): Path<i64>,
    Json(b): Json<SucceedBody>,
) -> Result<Response, ApiError> {
    let who = who(&user, &ctx);
    let won = crate::opportunities(&state)
        .succeed(&who, id, b.link_customer_id, b.version)
        .await?;
    Ok(match won {
        Won::Closed(o) => axum::Json(OpportunityOut::of(*o, &who)).into_response(),
        Won::Exists(found) => customer_exists(found),
    })
}

/// Closing as lost.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FailBody {
    /// Why it was lost, 1–500 characters (required).
    pub reason: Option<String>,
    /// The opportunity's `version` last read.
    pub version: Option<i32>,
}

#[utoipa::path(post, path = "/api/v1/opportunities/{id}/fail", tag = "sales",
    params(("id" = i64, Path, description = "Opportunity id", minimum = 1)),
    request_body = FailBody,
    responses(
        (status = 200, description = "Closed as lost, with its reason (the assignee or a supervisor, while assigned or developing)", body = OpportunityOut),
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Invalid,
    ))]
pub async fn fail(
    State(state): State<AppState>,
    Granted { user, ctx, .. }: Granted<need::Opportunities>,
    Path(id): Path<i64>,
    Json(b): Json<FailBody>,
) -> Result<axum::Json<OpportunityOut>, ApiError> {
    let reason = required_text("reason", &text(b.reason), REASON_MAX)?;
    let who = who(&user, &ctx);
    let o = crate::opportunities(&state)
        .fail(&who, id, &reason, b.version)
        .await?;
    Ok(axum::Json(OpportunityOut::of(o, &who)))
}

/// The sums of one status in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageAmount {
    /// ISO 4217.
    pub currency: String,
    /// Σ expected amounts, yuan (`"1200000.00"`).
    pub amount: String,
    /// Σ expected amount × success rate, yuan rounded to the fen.
    pub weighted_amount: String,
}

/// One column of the pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stage {
    /// `unassigned`, `assigned`, `developing`, `success` or `failure`.
    pub status: String,
    pub count: i64,
    /// Per currency, CNY first.
    pub amounts: Vec<StageAmount>,
}

/// The pipeline (销售漏斗) of the opportunities in the caller's scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineOut {
    /// Every status, in the workflow's order.
    pub stages: Vec<Stage>,
}

/// The board's stages from the totals: every status, its count, and its amounts per
/// currency (CNY first).
pub fn stages(totals: &[StageTotal]) -> Vec<Stage> {
    Status::ALL
        .iter()
        .map(|s| {
            let rows = pipeline::of_status(totals, s.code());
            Stage {
                status: s.code().to_owned(),
                count: rows.iter().map(|t| t.count).sum(),
                amounts: rows
                    .into_iter()
                    .map(|t| StageAmount {
                        currency: t.currency.clone(),
                        amount: fen_to_decimal(t.amount),
                        weighted_amount: fen_to_decimal(t.weighted_fen()),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/pipeline", tag = "sales",
    responses(
        (status = 200, description = "Per status: how many opportunities, their summed and weighted expected amounts", body = PipelineOut),
        Unauthenticated, Forbidden,
    ))]
pub async fn pipeline(
    State(state): State<AppState>,
    Granted { user, .. }: Granted<need::Opportunities>,
) -> Result<axum::Json<PipelineOut>, ApiError> {
    let totals = crate::opportunities(&state)
        .pipeline(user.owner_filter())
        .await?;
    Ok(axum::Json(PipelineOut {
        stages: stages(&totals),
    }))
}
