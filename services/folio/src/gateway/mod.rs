//! The gateway's HTTP API: front ends set up catalogues and upload contributions; editors read progress.
//!
//! | route | what |
//! |---|---|
//! | `PUT /v1/catalogues/{key}` | creates or updates a catalogue from its `catalogue.toml` (the body) |
//! | `GET /v1/catalogues/{key}` | the catalogue: its chapters, each with its documents' progress |
//! | `POST /v1/catalogues/{key}/contributions` | one contribution: a multipart form with a `metadata` part (JSON: chapter, state, author, title, kind, role, modality, received, rights) and one `file` part per file; 201 when new, 200 when the same contribution was already there (a retried upload) |
//! | `GET /v1/catalogues/{key}/contributions/{id}` | a contribution and its documents: state, attempts, last error, and the record's format, pages and language once extracted |
//! | `GET /livez`, `GET /readyz` | health, as every role |
//!
//! Errors are `application/problem+json` (RFC 9457) with a sentence a person understands. When
//! `gateway.token` is set, the `PUT` and `POST` routes need `Authorization: Bearer TOKEN`.

use crate::health::{self, Dependencies};
use crate::uploads::{self, IncomingFile, UploadError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use folio_core::upload::{catalogue_id_for_key, is_catalogue_key, ContributionFields};
use folio_core::CatalogueConfig;
use folio_store::{BlobStore, Store, StoreError, WorkQueue};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Clone)]
pub struct Gateway {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Arc<dyn WorkQueue>,
    /// Needed on every request that changes something, when set.
    pub token: Option<String>,
    pub max_upload_bytes: usize,
}

/// The API and the health endpoints.
pub fn router(gateway: Gateway, dependencies: Dependencies) -> Router {
    let limit = gateway.max_upload_bytes;
    let api = Router::new()
        .route("/v1/catalogues/{key}", get(catalogue).put(put_catalogue))
        .route("/v1/catalogues/{key}/contributions", post(upload))
        .route("/v1/catalogues/{key}/contributions/{id}", get(contribution))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(gateway);
    api.merge(health::router(dependencies))
}

/// An `application/problem+json` answer.
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    problems: Vec<String>,
}

impl Problem {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self { status, title, detail: detail.into(), problems: Vec::new() }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if !self.problems.is_empty() {
            body["problems"] = json!(self.problems);
        }
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "gateway: database error");
        if e.is_retryable() {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable", "try again in a moment")
        } else {
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Database error", e.to_string())
        }
    }
}

impl From<UploadError> for Problem {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Invalid(problems) => Problem {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                title: "The upload was refused",
                detail: problems.join("; "),
                problems,
            },
            UploadError::UnknownCatalogue(key) => {
                Problem::new(StatusCode::NOT_FOUND, "No such catalogue", format!("there is no catalogue '{key}'"))
            }
            other if other.is_retryable() => {
                tracing::warn!(error = %other, "gateway: upload failed for now");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Storage unavailable", format!("{other}; try again"))
            }
            other => {
                tracing::error!(error = %other, "gateway: upload failed");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Upload failed", other.to_string())
            }
        }
    }
}

fn authorise(gateway: &Gateway, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(token) = &gateway.token else { return Ok(()) };
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(Problem::new(StatusCode::FORBIDDEN, "Wrong token", "the bearer token is not the gateway's")),
        None => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "Token needed",
            "this request changes something: send `Authorization: Bearer TOKEN`",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn catalogue_key(key: &str) -> Result<Uuid, Problem> {
    if is_catalogue_key(key) {
        Ok(catalogue_id_for_key(key))
    } else {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            "No such catalogue",
            "a catalogue key is 1 to 64 lowercase letters, digits and '-'",
        ))
    }
}

async fn put_catalogue(
    State(gateway): State<Gateway>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    authorise(&gateway, &headers)?;
    let id = catalogue_key(&key)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Not a catalogue", "the body is not UTF-8 text"))?;
    let config = CatalogueConfig::from_toml(text)
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Not a catalogue", e.to_string()))?;
    if config.chapters.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not a catalogue",
            "a catalogue fed by uploads lists its chapters ([[chapters]] with id and title)",
        ));
    }
    let existed = gateway.store.catalogue(id).await?.is_some();
    gateway.store.put_catalogue(id, &config, &format!("gateway:{key}")).await?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(json!({ "key": key, "id": id, "title": config.title }))).into_response())
}

async fn catalogue(State(gateway): State<Gateway>, Path(key): Path<String>) -> Result<Response, Problem> {
    let id = catalogue_key(&key)?;
    let Some(row) = gateway.store.catalogue(id).await? else {
        return Err(Problem::new(StatusCode::NOT_FOUND, "No such catalogue", format!("there is no catalogue '{key}'")));
    };
    let chapters: Vec<serde_json::Value> = gateway
        .store
        .progress(id)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "key": c.key, "title": c.title, "position": c.position,
                "documents": c.documents, "finished": c.finished, "failed": c.failed,
            })
        })
        .collect();
    Ok(Json(json!({
        "key": key,
        "id": id,
        "title": row.title,
        "deadline": row.deadline,
        "chapters": chapters,
    }))
    .into_response())
}

async fn upload(
    State(gateway): State<Gateway>,
    Path(key): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, Problem> {
    authorise(&gateway, &headers)?;
    let mut fields: Option<ContributionFields> = None;
    let mut files = Vec::new();
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Upload too large",
                format!("an upload may hold {} MiB at most (gateway.max_upload_mib)", gateway.max_upload_bytes >> 20),
            )
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "Not a multipart form", e.body_text())
        }
    };
    while let Some(part) = form.next_field().await.map_err(too_large)? {
        match part.name() {
            Some("metadata") => {
                let bytes = part.bytes().await.map_err(too_large)?;
                fields = Some(serde_json::from_slice(&bytes).map_err(|e| {
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "The upload was refused", format!("metadata: {e}"))
                })?);
            }
            Some("file") => {
                let name = part.file_name().unwrap_or_default().to_string();
                let bytes = part.bytes().await.map_err(too_large)?;
                files.push(IncomingFile { name, bytes: bytes.to_vec() });
            }
            other => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The upload was refused",
                    format!("unexpected form part {other:?}: send `metadata` (JSON) and `file` parts"),
                ))
            }
        }
    }
    let Some(fields) = fields else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The upload was refused",
            "the form has no `metadata` part (JSON: chapter, state, author, title, kind, role, modality, received, rights)",
        ));
    };
    let accepted =
        uploads::accept(gateway.store.as_ref(), gateway.blobs.as_ref(), gateway.queue.as_ref(), &key, &fields, files)
            .await?;
    let status = if accepted.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(accepted)).into_response())
}

async fn contribution(
    State(gateway): State<Gateway>,
    Path((key, contribution_id)): Path<(String, Uuid)>,
) -> Result<Response, Problem> {
    let id = catalogue_key(&key)?;
    let store = gateway.store.as_ref();
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "No such contribution",
            format!("catalogue '{key}' has no contribution {contribution_id}"),
        )
    };
    let contribution =
        store.contributions(id).await?.into_iter().find(|c| c.id == contribution_id).ok_or_else(not_found)?;
    let mut documents = Vec::new();
    for d in store.documents(id).await?.into_iter().filter(|d| d.contribution_id == contribution_id) {
        let record = store.record(d.id).await?;
        documents.push(json!({
            "id": d.id,
            "file_name": d.file_name,
            "sha256": d.sha256,
            "bytes": d.bytes,
            "state": d.state.as_str(),
            "attempts": d.attempts,
            "last_error": d.last_error,
            "record": record.map(|r| json!({
                "format": r.record.format,
                "pages": r.record.pages,
                "language": r.record.language,
                "error": r.record.error,
                "thumbnail": r.thumbnail_key,
            })),
        }));
    }
    Ok(Json(json!({
        "id": contribution.id,
        "chapter": contribution.chapter_key,
        "state": contribution.state,
        "author": contribution.author,
        "title": contribution.title,
        "kind": contribution.kind.as_str(),
        "role": contribution.role.as_str(),
        "modality": contribution.modality.as_str(),
        "received": contribution.received,
        "rights": contribution.rights,
        "documents": documents,
    }))
    .into_response())
}
