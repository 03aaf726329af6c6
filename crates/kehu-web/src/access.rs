//! Declarative rights checks: a handler names the right it needs in its signature
//! (`Granted<need::Users>` in the API, `PageGranted<need::Users>` on a page) and the extractor
//! refuses the request before the handler runs. Both ask the same policy (`Principal::require`);
//! they differ only in how they answer: problem+json for the API, a redirect or the error page
//! for pages.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use kehu_domain::{Principal, Right};

use crate::context::{ApiUser, Ctx, PageUser};
use crate::error::{ApiError, PageError};

/// The right an endpoint needs, named by a marker type (see [`need`]).
pub trait NeedsRight {
    const RIGHT: Right;
}

/// Marker types for [`Granted`] and [`PageGranted`], one per right checked up front.
pub mod need {
    /// Defines marker types: `needs! { Customers => CustomerRead }` makes `need::Customers`.
    /// Product modules define their own markers with it (`kehu_web::needs!`).
    #[macro_export]
    macro_rules! needs {
        ($($name:ident => $right:ident),* $(,)?) => {$(
            #[doc = concat!("Needs `Right::", stringify!($right), "`.")]
            pub struct $name;

            impl $crate::access::NeedsRight for $name {
                const RIGHT: ::kehu_domain::Right = ::kehu_domain::Right::$right;
            }
        )*};
    }

    crate::needs! {
        Users => SystemUsers,
        Roles => SystemRoles,
        Dictionary => SystemDictionary,
        Audit => SystemAudit,
        Jobs => SystemJobs,
    }
}

/// A signed-in API caller the policy allows `R::RIGHT`. As a parts extractor it runs before the
/// body is read, so a caller without the right gets 403 whatever they sent.
pub struct Granted<R> {
    pub user: Principal,
    pub ctx: Ctx,
    right: PhantomData<fn() -> R>,
}

impl<R: NeedsRight, S: Send + Sync> FromRequestParts<S> for Granted<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiUser { user, ctx } = ApiUser::from_request_parts(parts, state).await?;
        user.require(R::RIGHT)?;
        Ok(Self {
            user,
            ctx,
            right: PhantomData,
        })
    }
}

/// A signed-in user on a page whom the policy allows `R::RIGHT`. Like [`PageUser`] it sends an
/// anonymous visitor to sign-in and a user who must change their password to their profile;
/// without the right it answers the 403 error page. It runs before the form is read, so a user
/// without the right gets 403 whatever they posted.
pub struct PageGranted<R> {
    pub user: Principal,
    pub ctx: Ctx,
    right: PhantomData<fn() -> R>,
}

impl<R: NeedsRight, S: Send + Sync> FromRequestParts<S> for PageGranted<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PageUser { user, ctx } = PageUser::from_request_parts(parts, state).await?;
        if let Err(e) = user.require(R::RIGHT) {
            return Err(PageError::from(e).into_response());
        }
        Ok(Self {
            user,
            ctx,
            right: PhantomData,
        })
    }
}
