//! Errors as `application/problem+json` (RFC 9457), each with a sentence a person understands.

use crate::uploads::UploadError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use folio_store::StoreError;
use serde_json::json;

/// An `application/problem+json` answer.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    problems: Vec<String>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self { status, title, detail: detail.into(), problems: Vec::new() }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn not_found(title: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, title, detail)
    }

    pub fn refused(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "The request was refused", detail)
    }

    fn listing(status: StatusCode, title: &'static str, problems: Vec<String>) -> Self {
        Self { status, title, detail: problems.join("; "), problems }
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
        match e {
            StoreError::NotFound(what) => Problem::not_found("Not found", what),
            e if e.is_retryable() => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable", "try again in a moment")
            }
            e => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Database error", e.to_string()),
        }
    }
}

impl From<UploadError> for Problem {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Invalid(problems) => {
                Problem::listing(StatusCode::UNPROCESSABLE_ENTITY, "The upload was refused", problems)
            }
            UploadError::Unsupported(problems) => {
                Problem::listing(StatusCode::UNSUPPORTED_MEDIA_TYPE, "A file is not what Folio takes", problems)
            }
            UploadError::TooLarge(limit) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "File too large",
                format!("a file may be {} MiB at most (gateway.max_file_mib)", limit >> 20),
            ),
            UploadError::UnknownCatalogue(key) => {
                Problem::not_found("No such catalogue", format!("there is no catalogue '{key}'"))
            }
            UploadError::KeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency-Key reused",
                "this Idempotency-Key was used before for another upload: use a new key for a new upload",
            ),
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

impl From<anyhow::Error> for Problem {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{e:#}"), "gateway: request failed");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Failed", format!("{e:#}"))
    }
}
