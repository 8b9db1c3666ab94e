//! The gateway's HTTP API: front ends set up catalogues and upload contributions; editors follow progress,
//! waive findings, exclude contributions, assemble the catalogue and download its bundles. The routes, their
//! scopes and answers are in docs/API.md.
//!
//! Errors are `application/problem+json` (RFC 9457) with a sentence a person understands ([`problem`]).
//! Requests carry bearer tokens with scopes ([`auth`]).

mod answers;
pub mod auth;
mod desk;
pub mod edge;
mod editorial;
mod intake;
pub mod problem;
mod routes;
pub mod server;

use crate::build::sweep::BuildSettings;
use crate::roles::health::{self, Dependencies};
use auth::{authorise, Token};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use folio_core::upload::{catalogue_id_for_key, is_catalogue_key};
use folio_core::CatalogueConfig;
use folio_store::{BlobStore, Store, WorkQueue};
use problem::Problem;
use std::path::PathBuf;
use std::sync::Arc;
use uuid::Uuid;

/// What one upload may be.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// The whole request: metadata and every file.
    pub max_request_bytes: usize,
    pub max_file_bytes: u64,
    pub max_files: usize,
}

#[derive(Clone)]
pub struct Gateway {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Arc<dyn WorkQueue>,
    /// No token: the API is open.
    pub tokens: Arc<Vec<Token>>,
    pub limits: UploadLimits,
    /// Where uploads are spooled on their way to the blob store.
    pub spool_dir: PathBuf,
    /// For assemblies an editor starts.
    pub builds: BuildSettings,
    /// The stamps of the catalogues' inputs by change marker, so that `GET /builds` reads a catalogue's
    /// records only when something changed.
    pub stamps: Arc<tokio::sync::Mutex<crate::build::sweep::StampCache>>,
    /// Each contribution's suggested classification, with what it was made from (the contribution's
    /// metadata and its texts' SHA-256s): a text is read again only when it changed.
    pub suggestions: Arc<tokio::sync::Mutex<SuggestionCache>>,
    /// Request ids, the limit on requests in flight, time limits ([`edge`]).
    pub edge: edge::EdgeSettings,
}

/// Suggested classifications by contribution id: `(inputs, suggestion)`.
pub type SuggestionCache = std::collections::HashMap<Uuid, (String, folio_core::classify::Classification)>;

/// The API (from [`routes::table`]), the web desk and, when `health` is given, the health endpoints (the
/// cluster serves them on a port of their own instead: `health_addr`).
///
/// Access is the route table's, enforced here for every route by one layer that runs before the handler
/// and its extractors: a request without the right token is answered 401 or 403 before its path is parsed
/// or a byte of its body is read. Each route's body limit and time limit are the table's too (small bodies
/// for JSON and TOML, `gateway.max_upload_mib` for uploads; long times for uploads, assembly and
/// downloads). Around them all, the [`edge`] layers: request ids, panics caught, the limit on requests in
/// flight and on stalled bodies (the health endpoints are outside that limit, so that probes still answer).
pub fn router(gateway: Gateway, health: Option<Dependencies>) -> Router {
    let upload_limit = gateway.limits.max_request_bytes;
    let settings = gateway.edge;
    let mut by_path: Vec<(&'static str, MethodRouter<Gateway>)> = Vec::new();
    for (route, handler) in routes::table() {
        let guard = AccessGuard { tokens: gateway.tokens.clone(), access: route.access };
        let time = match route.time_limit() {
            edge::TimeLimit::Short => settings.short,
            edge::TimeLimit::Long => settings.long,
        };
        let handler = handler
            .route_layer(axum::middleware::from_fn_with_state(time, edge::limit_time))
            .route_layer(DefaultBodyLimit::max(route.body.limit(upload_limit)))
            .route_layer(axum::middleware::from_fn_with_state(guard, check_access));
        match by_path.iter_mut().find(|(path, _)| *path == route.path) {
            Some((_, methods)) => *methods = std::mem::take(methods).merge(handler),
            None => by_path.push((route.path, handler)),
        }
    }
    let api = by_path
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| router.route(path, methods))
        .with_state(gateway)
        .merge(desk::router())
        .layer(axum::middleware::from_fn_with_state(settings.body_idle, edge::limit_body_idle))
        .layer(axum::middleware::from_fn_with_state(
            edge::InFlight::new(settings.max_in_flight),
            edge::limit_in_flight,
        ));
    let app = match health {
        Some(dependencies) => api.merge(health::router(dependencies)),
        None => api,
    };
    edge::around(app)
}

/// What the access layer of one route checks.
#[derive(Clone)]
struct AccessGuard {
    tokens: Arc<Vec<Token>>,
    access: routes::Access,
}

/// The access layer: the caller's token against the route's access, before anything else of the request is
/// read. The caller goes to the handler as an extension ([`auth::Caller`]).
async fn check_access(
    State(guard): State<AccessGuard>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let needed = match guard.access {
        routes::Access::Open => return next.run(request).await,
        routes::Access::Read => None,
        routes::Access::Needs(scope) => Some(scope),
    };
    match authorise(&guard.tokens, request.headers(), needed) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(problem) => problem.into_response(),
    }
}

pub use routes::Access;

/// One route of the API as the access layer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteAccess {
    pub method: axum::http::Method,
    /// With its parameters in braces: `/v1/catalogues/{key}`.
    pub path: &'static str,
    pub access: Access,
    /// The most bytes its body may hold; `None` for an upload, bounded by `gateway.max_upload_mib`.
    pub max_body_bytes: Option<usize>,
}

/// Every route of the API with who may call it and how large its body may be, from the route table the
/// router is built from (for tests that walk it, and for documentation).
pub fn route_access() -> Vec<RouteAccess> {
    routes::table()
        .into_iter()
        .map(|(route, _)| RouteAccess {
            method: route.method,
            path: route.path,
            access: route.access,
            max_body_bytes: match route.body {
                routes::Body::Upload => None,
                body => Some(body.limit(0)),
            },
        })
        .collect()
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> serde_json::Value {
    routes::document()
}

/// The catalogue a key names: its id, or 404.
fn catalogue_key(key: &str) -> Result<Uuid, Problem> {
    if is_catalogue_key(key) {
        Ok(catalogue_id_for_key(key))
    } else {
        Err(Problem::not_found("No such catalogue", "a catalogue key is 1 to 64 lowercase letters, digits and '-'"))
    }
}

/// The catalogue a key names, which must exist.
async fn existing_catalogue(gateway: &Gateway, key: &str) -> Result<(Uuid, folio_store::CatalogueRow), Problem> {
    let id = catalogue_key(key)?;
    match gateway.store.catalogue(id).await? {
        Some(row) => Ok((id, row)),
        None => Err(Problem::not_found("No such catalogue", format!("there is no catalogue '{key}'"))),
    }
}

async fn put_catalogue(
    State(gateway): State<Gateway>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = catalogue_key(&key)?;
    let text = std::str::from_utf8(&body).map_err(|_| Problem::refused("the body is not UTF-8 text"))?;
    let config = CatalogueConfig::from_toml(text).map_err(|e| Problem::refused(format!("catalogue.toml: {e}")))?;
    if config.chapters.is_empty() {
        return Err(Problem::refused("a catalogue fed by uploads lists its chapters ([[chapters]] with id and title)"));
    }
    let existed = gateway.store.catalogue(id).await?.is_some();
    gateway.store.put_catalogue(id, &config, &format!("gateway:{key}")).await?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(answers::CatalogueRef { key, id, title: config.title })).into_response())
}

async fn catalogue(State(gateway): State<Gateway>, Path(key): Path<String>) -> Result<Response, Problem> {
    let (id, row) = existing_catalogue(&gateway, &key).await?;
    let chapters = editorial::chapter_progress(&gateway, id).await?;
    Ok(Json(answers::Catalogue { key, id, title: row.title, deadline: row.deadline, chapters }).into_response())
}
