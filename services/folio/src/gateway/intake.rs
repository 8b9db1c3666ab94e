//! `POST /v1/catalogues/{key}/contributions`: one contribution, its metadata and files in one multipart form.
//! Files stream to temporary files as they arrive (hashed and counted on the way) and from there to the blob
//! store, so the gateway's memory does not grow with their size. An `Idempotency-Key` makes a retry safe: the
//! same key with the same request gets the first answer; with another request, a refusal.

use super::problem::Problem;
use super::{catalogue_key, Gateway};
use crate::intake::uploads::{self, IncomingFile, Spooler, UploadError};
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use folio_core::upload::ContributionFields;

/// The most bytes of an upload's `metadata` part (JSON: a few short fields).
pub(crate) const MAX_METADATA_BYTES: usize = 64 * 1024;

/// The header a client sets to make retries of one upload safe.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

pub(super) async fn upload(
    State(gateway): State<Gateway>,
    Path(key): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, Problem> {
    let catalogue_id = catalogue_key(&key)?;
    let idempotency_key = idempotency_key(&headers)?;
    let limits = gateway.limits;
    let too_large = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Upload too large",
                format!("an upload may hold {} MiB at most (gateway.max_upload_mib)", limits.max_request_bytes >> 20),
            )
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "Not a multipart form", e.body_text())
        }
    };
    let mut fields: Option<ContributionFields> = None;
    let mut files: Vec<IncomingFile> = Vec::new();
    while let Some(mut part) = form.next_field().await.map_err(too_large)? {
        match part.name() {
            Some("metadata") => {
                if fields.is_some() {
                    return Err(Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "The upload was refused",
                        "the form has more than one `metadata` part: send one",
                    ));
                }
                // Read in chunks against its own bound, never whole before it is counted.
                let mut bytes = Vec::new();
                while let Some(chunk) = part.chunk().await.map_err(too_large)? {
                    if bytes.len() + chunk.len() > MAX_METADATA_BYTES {
                        return Err(Problem::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "Metadata too large",
                            format!("the `metadata` part may hold {} KiB at most", MAX_METADATA_BYTES >> 10),
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                fields = Some(serde_json::from_slice(&bytes).map_err(|e| {
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "The upload was refused", format!("metadata: {e}"))
                })?);
            }
            Some("file") => {
                if files.len() == limits.max_files {
                    return Err(Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "Too many files",
                        format!("an upload carries at most {} files (gateway.max_files)", limits.max_files),
                    ));
                }
                let name = part.file_name().unwrap_or_default().to_string();
                let mut spooler = Spooler::new(&gateway.spool_dir, limits.max_file_bytes).await?;
                while let Some(chunk) = part.chunk().await.map_err(too_large)? {
                    spooler.write(&chunk).await?;
                }
                files.push(spooler.finish(&name).await?);
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
    let store = gateway.store.as_ref();
    let checksum = uploads::request_checksum(&key, &fields, &files);
    if let Some(idempotency_key) = &idempotency_key {
        if let Some((first, contribution_id)) = store.upload_key(catalogue_id, idempotency_key).await? {
            if first != checksum {
                return Err(UploadError::KeyReused.into());
            }
            let accepted = uploads::accepted_of(store, catalogue_id, contribution_id).await?;
            let mut response = (StatusCode::OK, Json(accepted)).into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(response);
        }
    }
    // The front end's trace context when it sent a well-formed one, else a new trace.
    let traceparent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(folio_core::trace::parse)
        .unwrap_or_else(folio_core::trace::new_traceparent);
    let queue = gateway.queue.as_ref();
    let accepted =
        uploads::accept(store, gateway.blobs.as_ref(), queue, &key, &fields, files, Some(&traceparent)).await?;
    if let Some(idempotency_key) = &idempotency_key {
        let first_use = folio_store::UploadKey {
            key: idempotency_key,
            request_sha256: &checksum,
            contribution_id: accepted.contribution_id,
        };
        store.remember_upload_key(catalogue_id, &first_use).await?;
    }
    let status = if accepted.created { StatusCode::CREATED } else { StatusCode::OK };
    let mut response = (status, Json(accepted)).into_response();
    if let Ok(value) = HeaderValue::from_str(&traceparent) {
        response.headers_mut().insert("traceparent", value);
    }
    Ok(response)
}

/// The request's `Idempotency-Key`: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    match value.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k.to_string())),
        _ => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "Bad Idempotency-Key",
            "an Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good one)",
        )),
    }
}
