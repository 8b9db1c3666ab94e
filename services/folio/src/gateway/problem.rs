//! Errors as `application/problem+json` (RFC 9457), each with a sentence a person understands. A fault of
//! the server's own (a 500) says only that, with a correlation id; the detail (which may name a table, a
//! path or a library's message) goes to the log line that carries the same id, never to the client.

use crate::intake::uploads::UploadError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use folio_store::StoreError;

/// An `application/problem+json` answer.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    problems: Vec<String>,
    correlation_id: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self { status, title, detail: detail.into(), problems: Vec::new(), correlation_id: None }
    }

    /// A fault of the server's own: logged with `detail` under a new correlation id, answered with the id
    /// alone.
    /// The correlation id is the request's id, when there is one.
    pub fn internal(title: &'static str, detail: impl std::fmt::Display) -> Self {
        let id = super::edge::current_request_id().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        tracing::error!(correlation_id = %id, error = %detail, "gateway: {title}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title,
            detail: format!(
                "the server failed to answer this request; the operator finds why in its log under correlation id {id}"
            ),
            problems: Vec::new(),
            correlation_id: Some(id),
        }
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
        Self { status, title, detail: problems.join("; "), problems, correlation_id: None }
    }
}

/// A problem as it is sent (RFC 9457).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "Problem")]
pub struct ProblemBody {
    /// Always `about:blank`: the status and title say what happened.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Each thing to fix, where there are several (a refused upload's fields).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The id of a fault of the server's own in its log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The request's id (also answered in `X-Request-Id`), which every log line of the request carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            kind: "about:blank",
            title: self.title,
            status: self.status.as_u16(),
            detail: self.detail,
            problems: self.problems,
            correlation_id: self.correlation_id,
            request_id: super::edge::current_request_id(),
        };
        let text = serde_json::to_string(&body).unwrap_or_default();
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], text).into_response()
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Problem::not_found("Not found", what),
            e if e.is_retryable() => {
                tracing::warn!(error = %e, "gateway: database unavailable");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Database unavailable", "try again in a moment")
            }
            e => Problem::internal("Database error", e),
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
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage unavailable",
                    "the database, blob store or queue did not answer; try again in a moment",
                )
            }
            other => Problem::internal("Upload failed", other),
        }
    }
}

impl From<anyhow::Error> for Problem {
    fn from(e: anyhow::Error) -> Self {
        Problem::internal("Failed", format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_fault_answers_a_correlation_id_and_no_detail() {
        let problem = Problem::from(anyhow::anyhow!("reading /srv/folio/blobs/x: permission denied"));
        let response = problem.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let id = body["correlation_id"].as_str().expect("a correlation id");
        assert!(body["detail"].as_str().unwrap().contains(id), "{body}");
        assert!(!body.to_string().contains("/srv/folio"), "no server path: {body}");
    }
}
