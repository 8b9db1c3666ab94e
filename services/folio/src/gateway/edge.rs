//! What the gateway does for every request before its route, to hold up on the open network:
//!
//! - a **request id**, taken from `X-Request-Id` when the caller sent a plain one (1 to 64 letters, digits,
//!   `.`, `_`, `-`), made otherwise; answered in `X-Request-Id`, carried by the `request` span of every log
//!   line the request causes and by every problem answer (`request_id`);
//! - the `Authorization` header marked sensitive (shown as `Sensitive` by anything that prints headers), and
//!   no header in the log at all;
//! - a **panic** in a handler answered as a 500 problem, its message in the log under the request id;
//! - a **limit on requests in flight** (`gateway.max_in_flight`): past it, 503 with `Retry-After` at once,
//!   rather than a queue that grows until memory runs out;
//! - a **body that stalls** (no byte for `gateway.body_idle_secs`) ends the request with 408 and closes the
//!   connection; headers that stall are hyper's (see [`super::server`]);
//! - a **time limit** by kind of route ([`TimeLimit`]): short for reads and small writes, long for uploads,
//!   assembly and bundle downloads; past it, 503.

use super::problem::Problem;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONNECTION, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tracing::Instrument;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The longest request id taken from a caller.
const MAX_REQUEST_ID: usize = 64;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered, inside its handler and layers.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(String::clone).ok()
}

/// What the gateway's edge holds to (from `[gateway]`, docs/CONFIGURATION.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeSettings {
    /// Requests answered at once, at most; past it, 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// The longest pause between two pieces of a request body.
    pub body_idle: Duration,
    /// How long a read or a small write may take.
    pub short: Duration,
    /// How long an upload, an assembly or a bundle download may take to answer.
    pub long: Duration,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        Self {
            max_in_flight: 256,
            body_idle: Duration::from_secs(20),
            short: Duration::from_secs(30),
            long: Duration::from_secs(900),
        }
    }
}

/// Which of the two time limits a route has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    Short,
    Long,
}

fn acceptable_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The outermost layer: the request id, its span, the `Authorization` header marked sensitive, and one log
/// line per answer (status and milliseconds; never a header or a query).
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable_request_id(id))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    if let Some(value) = request.headers_mut().get_mut(AUTHORIZATION) {
        value.set_sensitive(true);
    }
    let header = HeaderValue::from_str(&id).ok();
    if let Some(value) = &header {
        request.headers_mut().insert(X_REQUEST_ID, value.clone());
    }
    // Probes and scrapes come every few seconds: their answers are logged at debug.
    let probe = matches!(request.uri().path(), "/livez" | "/healthz" | "/readyz" | "/metrics");
    let span = tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path());
    let started = Instant::now();
    let mut response = REQUEST_ID.scope(id, next.run(request)).instrument(span.clone()).await;
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let status = response.status().as_u16();
    span.in_scope(|| match probe {
        true => tracing::debug!(status, millis, "answered"),
        false => tracing::info!(status, millis, "answered"),
    });
    if let Some(value) = header {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

/// `app` with the layers every request of it passes first: its request id and span (outermost), then the
/// catching of a handler's panic.
pub fn around(app: axum::Router) -> axum::Router {
    app.layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_answer))
        .layer(axum::middleware::from_fn(request_id))
}

/// A handler's panic as the answer to its request: a 500 problem; the panic's message goes to the log.
pub fn panic_answer(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    Problem::internal("The request failed", format!("a handler panicked: {message}")).into_response()
}

/// The requests in flight, shared by every route of one gateway.
#[derive(Clone)]
pub struct InFlight {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl InFlight {
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Self { permits: Arc::new(Semaphore::new(limit)), limit }
    }
}

/// Answers 503 with `Retry-After` when the gateway already answers its limit of requests; the permit is
/// held until the response is made (a download's body then streams without one).
pub async fn limit_in_flight(State(in_flight): State<InFlight>, request: Request, next: Next) -> Response {
    let Ok(permit) = in_flight.permits.clone().try_acquire_owned() else {
        tracing::warn!(limit = in_flight.limit, "gateway: request refused, the limit of requests in flight is reached");
        let mut response = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many requests at once",
            format!(
                "the gateway is answering {} requests, its limit (gateway.max_in_flight); try again in a second",
                in_flight.limit
            ),
        )
        .into_response();
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let response = next.run(request).await;
    drop(permit);
    response
}

/// Ends a request whose body stalls for `idle`: 408, and the connection closed.
pub async fn limit_body_idle(State(idle): State<Duration>, request: Request, next: Next) -> Response {
    let stalled = Arc::new(AtomicBool::new(false));
    let flag = stalled.clone();
    let request = request.map(move |body| Body::new(IdleBody { inner: body, idle, timer: None, stalled: flag }));
    let response = next.run(request).await;
    if !stalled.load(Ordering::Relaxed) {
        return response;
    }
    tracing::info!(idle_secs = idle.as_secs(), "gateway: a request body stalled");
    let mut response = Problem::new(
        StatusCode::REQUEST_TIMEOUT,
        "The request body stalled",
        format!(
            "no byte of the body arrived for {} s (gateway.body_idle_secs); send the request again",
            idle.as_secs()
        ),
    )
    .into_response();
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A route's time limit: past it the request is dropped (its body with it) and answered 503.
pub async fn limit_time(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "gateway: a request ran past its time limit");
            let mut response = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The request took too long",
                format!(
                    "the gateway gives this kind of request {} s (gateway.request_timeout_secs or \
                     gateway.long_request_timeout_secs); try again later",
                    limit.as_secs()
                ),
            )
            .into_response();
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// A request body that fails when no frame arrives for `idle` (counted from the first time it is read).
struct IdleBody {
    inner: Body,
    idle: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    stalled: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("no byte of the request body arrived for {0:?}")]
struct BodyStalled(Duration);

impl http_body::Body for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.timer = None;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.stalled.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(axum::Error::new(BodyStalled(idle)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: folio\r\nX-Request-Id: req-1\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn a_handler_that_panics_is_answered_500_and_the_server_goes_on() {
        let app = axum::Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    if std::hint::black_box(true) {
                        panic!("the handler's bug");
                    }
                    "unreached"
                }),
            )
            .route("/fine", axum::routing::get(|| async { "fine" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let server =
            tokio::spawn(super::super::server::serve(listener, around(app), Duration::from_secs(5), stop.clone()));
        let answer = get(addr, "/boom").await;
        assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(
            answer.contains(r#""request_id":"req-1""#) && answer.contains(r#""correlation_id":"req-1""#),
            "{answer}"
        );
        assert!(!answer.contains("the handler's bug"), "the panic's message stays in the log: {answer}");
        assert!(get(addr, "/fine").await.ends_with("fine"));
        stop.cancel();
        server.await.unwrap().unwrap();
    }

    /// A route past its time limit is answered 503 with a problem naming the settings, and its connection
    /// closed; a route within it answers as usual.
    #[tokio::test]
    async fn a_request_past_its_time_limit_is_answered_503() {
        let slow = axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "late"
        })
        .route_layer(axum::middleware::from_fn_with_state(Duration::from_millis(200), limit_time));
        let quick = axum::routing::get(|| async { "quick" })
            .route_layer(axum::middleware::from_fn_with_state(Duration::from_millis(200), limit_time));
        let app = axum::Router::new().route("/slow", slow).route("/quick", quick);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let server =
            tokio::spawn(super::super::server::serve(listener, around(app), Duration::from_secs(5), stop.clone()));
        let started = std::time::Instant::now();
        let answer = get(addr, "/slow").await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(
            answer.contains("gateway.request_timeout_secs") && answer.contains(r#""request_id":"req-1""#),
            "{answer}"
        );
        assert!(started.elapsed() < Duration::from_secs(4), "answered at the limit, not when the handler ended");
        assert!(get(addr, "/quick").await.ends_with("quick"));
        stop.cancel();
        server.await.unwrap().unwrap();
    }

    #[test]
    fn a_caller_request_id_is_taken_only_when_plain() {
        assert!(acceptable_request_id("a1-B2_c3.d4"));
        assert!(acceptable_request_id(&"x".repeat(64)));
        assert!(!acceptable_request_id(&"x".repeat(65)));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id("a\"}{"));
    }
}
