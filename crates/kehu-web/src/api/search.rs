//! `GET /api/v1/search`: the header search's index for API clients — the records the modules
//! index (`Module::searchable`: customers, contacts …) that the query finds, best first, of
//! the kinds whose right the caller holds and within their data scope.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kehu_domain::FieldError;
use kehu_store::search::{LIMIT_MAX, MatchRank, QUERY_MAX_CHARS};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::context::ApiUser;
use crate::error::{ApiError, AppError, Problem};
use crate::state::AppState;

use super::{Query, Unauthenticated};

/// Hits answered when `limit` is not given.
const LIMIT_DEFAULT: u64 = 20;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(search))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What to find: part of a name (Chinese, its pinyin or initials: `张三`, `zhangsan`,
    /// `zs`), a code, three or more digits of a phone number, part of an email. Required and
    /// not blank; only its first 64 characters are used (the rest is ignored).
    q: Option<String>,
    /// The most hits, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "limit")]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
}

fn limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    super::bounded(d, 1, LIMIT_MAX as u64)
}

/// One record found.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitOut {
    /// What it is: `customer`, `contact` …
    pub kind: String,
    pub id: i64,
    /// Its name.
    pub title: String,
    /// What tells it apart: a customer's code, a contact's customer …
    pub subtitle: String,
    /// How well it matched: `exact`, `prefix` or `substring`.
    #[schema(value_type = String, example = "exact")]
    pub rank: MatchRank,
    /// Its page.
    pub href: String,
}

/// The hits, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchOut {
    pub items: Vec<SearchHitOut>,
}

#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "search",
    params(SearchParams),
    responses(
        (status = 200, description = "The records found, best first: exact matches, then prefix, then substring. Empty when the caller may search nothing.", body = SearchOut),
        (status = 400, description = "`q` missing or blank (`query_required`), or `limit` not a whole number (`malformed_query`) or out of range (`parameter_out_of_range`); `errors` names the parameter", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
    )
)]
pub async fn search(
    State(state): State<AppState>,
    ApiUser { user, ctx }: ApiUser,
    Query(p): Query<SearchParams>,
) -> Result<axum::Json<SearchOut>, ApiError> {
    let q: String =
        p.q.unwrap_or_default()
            .trim()
            .chars()
            .take(QUERY_MAX_CHARS)
            .collect();
    if q.is_empty() {
        return Err(ApiError(AppError::BadParam {
            code: "query_required",
            reason: ctx.tr.t("err-search-query"),
            param: FieldError::new("q", "err-search-query"),
        }));
    }
    let kinds = state.searchables_for(&user);
    let entities: Vec<&str> = kinds.iter().map(|s| s.entity).collect();
    let limit = usize::try_from(p.limit.unwrap_or(LIMIT_DEFAULT)).unwrap_or(LIMIT_MAX);
    let hits = if entities.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .search
            .search(&user.owner_filter(), &q, Some(&entities), limit)
            .await?
    };
    let items = hits
        .into_iter()
        .filter_map(|h| {
            let kind = kinds.iter().find(|s| s.entity == h.entity)?;
            Some(SearchHitOut {
                href: (kind.href)(h.entity_id),
                kind: h.entity,
                id: h.entity_id,
                title: h.title,
                subtitle: h.subtitle,
                rank: h.rank,
            })
        })
        .collect();
    Ok(axum::Json(SearchOut { items }))
}
