//! The guard in an axum (tower) stack: [`GuardLayer`] verifies the token and puts [`Auth`] in
//! the request's extensions; [`RequireScope`] and [`RequirePermission`] layers, or
//! [`Auth::require_scope`] in a handler, answer 403 when the token lacks what the route needs.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use sigil_guard::{Auth, Guard, RequireScope};
//!
//! let guard = Guard::builder()
//!     .issuer("https://tenant.example.com/")
//!     .audience("https://api.example.com/")
//!     .build()
//!     .await?;
//! let app: Router = Router::new()
//!     .route("/api/messages", get(|auth: Auth| async move { auth.sub.clone() }))
//!     .route_layer(RequireScope::all(["read:messages"]))
//!     .route_layer(guard.layer());
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::Request;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::request::Parts;
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer::bearer_token;
use crate::claims::{Claims, Requirement};
use crate::error::Rejection;
use crate::guard::Guard;

/// The verified claims of the request's token, put in the extensions by [`GuardLayer`].
/// As an extractor, it fails with 401 if the route is not behind the layer.
#[derive(Clone, Debug)]
pub struct Auth {
    claims: Arc<Claims>,
    realm: Arc<str>,
}

impl Deref for Auth {
    type Target = Claims;
    fn deref(&self) -> &Claims {
        &self.claims
    }
}

impl Auth {
    /// The claims, shared.
    pub fn claims(&self) -> &Arc<Claims> {
        &self.claims
    }

    /// 403 `insufficient_scope` unless the token's `scope` meets `requirement`.
    pub fn require_scope(&self, requirement: &Requirement) -> Result<(), Refusal> {
        self.require(Granted::Scope, requirement)
    }

    /// 403 `insufficient_scope` unless the token's `permissions` meet `requirement`.
    pub fn require_permission(&self, requirement: &Requirement) -> Result<(), Refusal> {
        self.require(Granted::Permissions, requirement)
    }

    fn require(&self, granted: Granted, requirement: &Requirement) -> Result<(), Refusal> {
        let met = match granted {
            Granted::Scope => requirement.is_met_by(|s| self.claims.scope.contains(s)),
            Granted::Permissions => {
                requirement.is_met_by(|p| self.claims.permissions.iter().any(|g| g == p))
            }
        };
        if met {
            return Ok(());
        }
        let what = match granted {
            Granted::Scope => "scope",
            Granted::Permissions => "permission",
        };
        let description = match requirement {
            Requirement::AllOf(v) | Requirement::AnyOf(v) if v.len() == 1 => {
                format!("this needs the {what} {}", v[0])
            }
            Requirement::AllOf(_) => {
                format!("this needs all of the {what}s {}", requirement.values())
            }
            Requirement::AnyOf(_) => {
                format!("this needs one of the {what}s {}", requirement.values())
            }
        };
        Err(Refusal {
            rejection: Rejection::InsufficientScope {
                scope: requirement.values(),
                description,
            },
            realm: self.realm.clone(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Refusal> {
        parts.extensions.get::<Auth>().cloned().ok_or_else(|| {
            tracing::error!("the Auth extractor is used on a route without the guard's layer");
            Refusal {
                rejection: Rejection::MissingToken,
                realm: Arc::from("api"),
            }
        })
    }
}

/// A [`Rejection`] with the realm to challenge in: the response itself.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// Why.
    pub rejection: Rejection,
    realm: Arc<str>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = self.rejection.body().to_string();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.rejection.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // `challenge` keeps to printable ASCII, so this cannot fail; if it ever did, the
        // status and body still say what happened.
        if let Ok(value) = HeaderValue::from_str(&self.rejection.challenge(&self.realm)) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl Guard {
    /// The layer that verifies every request's bearer token; see the module docs.
    pub fn layer(&self) -> GuardLayer {
        GuardLayer {
            guard: self.clone(),
            realm: Arc::from(self.realm()),
        }
    }
}

/// Verifies the bearer token of every request; see [`Guard::layer`].
#[derive(Clone, Debug)]
pub struct GuardLayer {
    guard: Guard,
    realm: Arc<str>,
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;
    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService {
            layer: self.clone(),
            inner,
        }
    }
}

/// The service [`GuardLayer`] wraps around a route.
#[derive(Clone, Debug)]
pub struct GuardService<S> {
    layer: GuardLayer,
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request<B>> for GuardService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was not polled ready stays; the ready one serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let verified = match bearer_token(request.headers()) {
                Ok(token) => layer.guard.verify(token).await,
                Err(rejection) => Err(rejection),
            };
            match verified {
                Ok(claims) => {
                    request.extensions_mut().insert(Auth {
                        claims,
                        realm: layer.realm.clone(),
                    });
                    inner.call(request).await
                }
                Err(rejection) => Ok(Refusal {
                    rejection,
                    realm: layer.realm,
                }
                .into_response()),
            }
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Granted {
    Scope,
    Permissions,
}

/// Layers that require scopes of the token (the `scope` claim). Put them inside the guard's
/// layer (`.route_layer(RequireScope::…)` before `.route_layer(guard.layer())`).
#[derive(Debug)]
pub struct RequireScope;

impl RequireScope {
    /// Every one of `scopes`.
    pub fn all<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> RequireLayer {
        RequireLayer::new(Granted::Scope, Requirement::all(scopes))
    }

    /// At least one of `scopes`.
    pub fn any<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> RequireLayer {
        RequireLayer::new(Granted::Scope, Requirement::any(scopes))
    }
}

/// Layers that require RBAC permissions of the token (Auth0's `permissions` claim).
#[derive(Debug)]
pub struct RequirePermission;

impl RequirePermission {
    /// Every one of `permissions`.
    pub fn all<I: IntoIterator<Item = S>, S: Into<String>>(permissions: I) -> RequireLayer {
        RequireLayer::new(Granted::Permissions, Requirement::all(permissions))
    }

    /// At least one of `permissions`.
    pub fn any<I: IntoIterator<Item = S>, S: Into<String>>(permissions: I) -> RequireLayer {
        RequireLayer::new(Granted::Permissions, Requirement::any(permissions))
    }
}

/// A scope or permission requirement as a layer; see [`RequireScope`], [`RequirePermission`].
#[derive(Clone, Debug)]
pub struct RequireLayer {
    granted: Granted,
    requirement: Arc<Requirement>,
}

impl RequireLayer {
    fn new(granted: Granted, requirement: Requirement) -> Self {
        RequireLayer {
            granted,
            requirement: Arc::new(requirement),
        }
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;
    fn layer(&self, inner: S) -> RequireService<S> {
        RequireService {
            layer: self.clone(),
            inner,
        }
    }
}

/// The service [`RequireLayer`] wraps around a route.
#[derive(Clone, Debug)]
pub struct RequireService<S> {
    layer: RequireLayer,
    inner: S,
}

impl<S, B> Service<Request<B>> for RequireService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Without the guard's layer in front there is no token to check: refuse, never pass.
        let verdict = match request.extensions().get::<Auth>() {
            Some(auth) => auth.require(self.layer.granted, &self.layer.requirement),
            None => {
                tracing::error!("a scope requirement is used on a route without the guard's layer");
                Err(Refusal {
                    rejection: Rejection::MissingToken,
                    realm: Arc::from("api"),
                })
            }
        };
        match verdict {
            Ok(()) => {
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(async move { inner.call(request).await })
            }
            Err(refusal) => Box::pin(async move { Ok(refusal.into_response()) }),
        }
    }
}
