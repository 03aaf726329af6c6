//! The JSON API under `/api/v1`, one module per product area, and its OpenAPI 3.1 document
//! (generated from the handlers' annotations) with a browsable UI at `/api/docs`.

use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;
use crate::error::{ApiError, AppError, InvalidParam, Problem};

pub mod me;

#[derive(OpenApi)]
#[openapi(
    info(title = "kehu API", description = "kehu (客户), the customer relationship manager."),
    paths(me::me),
    components(schemas(Problem, InvalidParam, me::Me)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = []))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("kehu_session"))),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new().merge(me::router())
}

/// The OpenAPI document and its browsable UI (assets vendored into the binary).
pub fn docs_router() -> Router<AppState> {
    SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()).into()
}

/// One page of a list, as every list endpoint answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOf<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

impl<T> ListOf<T> {
    pub fn from_page<U>(p: kehu_store::Page<U>, f: impl FnMut(U) -> T) -> Self {
        Self {
            total: p.total,
            page: p.page,
            per_page: p.per_page,
            items: p.items.into_iter().map(f).collect(),
        }
    }
}

/// JSON body whose rejections are problem+json (`malformed_json`), never axum's plain text.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError(AppError::bad_request(
                "unsupported_media_type",
                "Content-Type must be application/json",
            ))),
            Err(e) => Err(ApiError(AppError::bad_request("malformed_json", e.body_text()))),
        }
    }
}

/// Query string whose rejections are problem+json (`malformed_query`).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(ApiError(AppError::bad_request("malformed_query", e.body_text())))
            }
            Err(e) => Err(ApiError(AppError::bad_request("malformed_query", e.body_text()))),
        }
    }
}
