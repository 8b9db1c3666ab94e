//! Health endpoints for an orchestrator, and `GET /metrics` (Prometheus). `GET /livez` (or `/healthz`) answers
//! 200 while the process runs (restart it when
//! it does not); `GET /readyz` answers 200 only when the database and the queue answer (take the process out
//! of service while they do not), and 503 with what failed otherwise.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use folio_store::{Store, WorkQueue};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What readiness checks.
#[derive(Clone)]
pub struct Dependencies {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn WorkQueue>,
    /// Turns true when the process is shutting down: it is then not ready, whatever its dependencies say.
    pub stopping: CancellationToken,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub database: String,
    pub queue: String,
}

/// Each dependency gets this long to answer before it counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

impl Dependencies {
    pub async fn check(&self) -> Readiness {
        // What failed is named; why (a driver's message, which may name hosts and users) goes to the log.
        let database = match tokio::time::timeout(CHECK_TIMEOUT, self.store.ping()).await {
            Ok(Ok(())) => "ok".to_string(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database does not answer");
                "unavailable".to_string()
            }
            Err(_) => format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
        };
        let queue = match tokio::time::timeout(CHECK_TIMEOUT, self.queue.depth()).await {
            Ok(Ok(_)) => "ok".to_string(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the queue does not answer");
                "unavailable".to_string()
            }
            Err(_) => format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
        };
        let stopping = self.stopping.is_cancelled();
        Readiness { ready: !stopping && database == "ok" && queue == "ok", database, queue }
    }
}

pub fn router(dependencies: Dependencies) -> Router {
    Router::new()
        .route("/livez", get(|| async { "alive\n" }))
        .route("/healthz", get(|| async { "alive\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(dependencies)
}

/// Prometheus metrics (see [`crate::metrics`]), with the queue's depth and the oldest waiting document's age
/// read now; a dependency that does not answer in time leaves its gauge as last read.
async fn metrics(State(dependencies): State<Dependencies>) -> impl IntoResponse {
    let depth = tokio::time::timeout(CHECK_TIMEOUT, dependencies.queue.depth()).await.ok().and_then(Result::ok);
    let oldest = tokio::time::timeout(CHECK_TIMEOUT, dependencies.store.oldest_queued_secs())
        .await
        .ok()
        .and_then(Result::ok)
        .map(|age| age.unwrap_or(0.0));
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        crate::metrics::render(depth, oldest),
    )
}

async fn ready(State(dependencies): State<Dependencies>) -> (StatusCode, Json<Readiness>) {
    let readiness = dependencies.check().await;
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(readiness))
}

/// Serves the endpoints on `listener` until `stop` is cancelled.
pub async fn serve(listener: TcpListener, dependencies: Dependencies, stop: CancellationToken) -> std::io::Result<()> {
    axum::serve(listener, router(dependencies)).with_graceful_shutdown(stop.cancelled_owned()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: folio\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn live_while_running_ready_only_while_dependencies_answer_and_not_stopping() {
        let dir = tempfile::tempdir().unwrap();
        let store = folio_store::open_store(&format!("sqlite://{}", dir.path().join("f.db").display())).await.unwrap();
        let queue: Arc<dyn WorkQueue> = Arc::new(folio_store::InProcessQueue::new());
        let (stopping, exiting) = (CancellationToken::new(), CancellationToken::new());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let dependencies = Dependencies { store, queue: queue.clone(), stopping: stopping.clone() };
        let server = tokio::spawn(serve(listener, dependencies, exiting.clone()));

        assert!(get(addr, "/livez").await.starts_with("HTTP/1.1 200"));
        let ready = get(addr, "/readyz").await;
        assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
        assert!(ready.contains(r#""database":"ok""#), "{ready}");

        // A closed queue is a dependency that no longer answers.
        queue.close();
        let closed = get(addr, "/readyz").await;
        assert!(closed.starts_with("HTTP/1.1 503"), "{closed}");
        assert!(closed.contains(r#""queue":"unavailable""#), "named, without its error text: {closed}");

        // Stopping: still alive, no longer ready.
        stopping.cancel();
        assert!(get(addr, "/livez").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
        exiting.cancel();
        server.await.unwrap().unwrap();
    }
}
