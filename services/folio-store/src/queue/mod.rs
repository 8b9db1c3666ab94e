//! The work queue. A message is a request for work on one document, never the work's result: the database
//! says what is done, so a message delivered twice, or lost and sent again, changes nothing.

pub mod amqp;

use async_trait::async_trait;
use folio_core::upload::UploadRequest;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use uuid::Uuid;

/// Version 1 of the message that asks a worker to process a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkRequest {
    /// Always 1 for this shape; a consumer rejects versions it does not know.
    pub version: u32,
    pub document_id: Uuid,
    pub catalogue_id: Uuid,
    /// W3C trace context of the operation that asked for this work (an upload), when there is one
    /// (`folio_core::trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl WorkRequest {
    pub const VERSION: u32 = 1;

    pub fn new(catalogue_id: Uuid, document_id: Uuid) -> Self {
        Self { version: Self::VERSION, document_id, catalogue_id, traceparent: None }
    }

    /// The same request, carrying a trace context.
    pub fn traced(mut self, traceparent: Option<&str>) -> Self {
        self.traceparent = traceparent.map(str::to_string);
        self
    }

    /// The trace id of its trace context, or `-`.
    pub fn trace_id(&self) -> &str {
        self.traceparent.as_deref().map(folio_core::trace::trace_id).unwrap_or("-")
    }
}

/// What a message on the work queue asks for: work on one document, or, from a front end that publishes
/// straight to the queue, an upload to take in (`folio.upload.v1`, docs/asyncapi.yaml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Work(WorkRequest),
    Upload(Box<UploadRequest>),
}

impl Message {
    /// Reads a message body: a version 1 work request or a version 1 upload, or says why it is neither.
    pub fn decode(body: &[u8]) -> Result<Message, String> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("not JSON ({e}, {} bytes)", body.len()))?;
        let is_upload = value.get("upload_id").is_some();
        let version = value.get("version").and_then(serde_json::Value::as_u64).unwrap_or(0);
        if is_upload {
            if version != u64::from(UploadRequest::VERSION) {
                return Err(format!("upload version {version} (this worker reads {})", UploadRequest::VERSION));
            }
            let upload: UploadRequest =
                serde_json::from_value(value).map_err(|e| format!("not a version 1 upload: {e}"))?;
            return Ok(Message::Upload(Box::new(upload)));
        }
        let request: WorkRequest = serde_json::from_value(value)
            .map_err(|e| format!("neither a work request nor an upload ({e}, {} bytes)", body.len()))?;
        if request.version != WorkRequest::VERSION {
            return Err(format!(
                "work request version {} (this worker reads {})",
                request.version,
                WorkRequest::VERSION
            ));
        }
        Ok(Message::Work(request))
    }

    /// The message's id on the broker: the document's id for work, the upload's id for an upload.
    pub fn id(&self) -> Uuid {
        match self {
            Message::Work(r) => r.document_id,
            Message::Upload(u) => u.upload_id,
        }
    }
}

/// Version 1 of the event that tells editors' systems a build of the catalogue is ready: routing key
/// [`CatalogueAssembled::ROUTING_KEY`] on the events exchange (docs/asyncapi.yaml).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueAssembled {
    pub version: u32,
    pub catalogue_id: Uuid,
    /// The build's number (1, 2, ...).
    pub build: u32,
    /// Where the bundle is: its object-storage URL (`s3://BUCKET/PREFIX/bundles/…/`, without the blob URL's
    /// query), or its key in a local blob folder (`bundles/…/`); never a path on a server.
    pub location: String,
    /// SHA-256 of the bundle's manifest.json, hex.
    pub manifest_sha256: String,
    /// When the build was done (RFC 3339, UTC).
    pub assembled_at: String,
}

impl CatalogueAssembled {
    pub const VERSION: u32 = 1;
    pub const ROUTING_KEY: &'static str = "catalogue.assembled";
}

/// What went wrong with the queue, and whether trying again later may help ([`QueueError::is_retryable`]).
/// URLs in these messages have their password replaced by `***`.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no queue for URL '{url}': {hint}")]
    UnsupportedUrl { url: String, hint: &'static str },
    #[error("queue URL '{url}': {reason} (the parameters are listed in docs/CONFIGURATION.md)")]
    InvalidUrl { url: String, reason: String },
    #[error("the queue is closed")]
    Closed,
    #[error(
        "cannot reach the message broker at {target}: {reason}; check that RabbitMQ is running there and that \
         the URL's host and port are right"
    )]
    Connect { target: String, reason: String },
    #[error(
        "the TLS handshake with the message broker at {target} failed: {reason}; this side trusts {trusted}, \
         and the broker's certificate must be signed by one of them and name the URL's host"
    )]
    Tls { target: String, reason: String, trusted: String },
    #[error("the broker refused to {action}: {reason}; {hint}")]
    Refused { action: String, reason: String, hint: &'static str },
    #[error(
        "the broker could not route a message to the queue '{queue}' ({reason}): the queue was deleted, with \
         its messages; restart Folio to declare it again (the documents stay queued in the database)"
    )]
    Unroutable { queue: String, reason: String },
    #[error(
        "the broker refused to take responsibility for a message for '{queue}' (negative confirm): see the \
         broker's log (a queue without a quorum of its nodes, or full); try again later"
    )]
    Rejected { queue: String },
    #[error(
        "no confirm from the broker for a message for '{queue}' within {secs} s (the broker may be blocked on \
         memory or disk, or partitioned); try again later"
    )]
    Unconfirmed { queue: String, secs: f32 },
    #[error("the connection this message came on is gone, so it cannot be settled; the broker delivers it again")]
    Stale,
    #[error("queue transport: {0}; try again later (Folio reconnects by itself)")]
    Transport(String),
}

impl QueueError {
    /// Whether the same operation may succeed later (a connection, a broker that is busy or restarting), as
    /// opposed to a mistake in the URL or the broker's setup, which needs a person.
    pub fn is_retryable(&self) -> bool {
        match self {
            QueueError::Connect { .. }
            | QueueError::Rejected { .. }
            | QueueError::Unconfirmed { .. }
            | QueueError::Stale
            | QueueError::Transport(_) => true,
            QueueError::UnsupportedUrl { .. }
            | QueueError::InvalidUrl { .. }
            | QueueError::Closed
            | QueueError::Refused { .. }
            | QueueError::Tls { .. }
            | QueueError::Unroutable { .. } => false,
        }
    }
}

/// One delivered message. Settle it with `ack` once the database has the result, or `nack` to give it back;
/// a delivery dropped unsettled goes back to the queue, as a broker does when a consumer dies.
#[async_trait]
pub trait Delivery: Send {
    fn message(&self) -> &Message;
    /// The work request, when the message is one.
    fn request(&self) -> Option<&WorkRequest> {
        match self.message() {
            Message::Work(request) => Some(request),
            Message::Upload(_) => None,
        }
    }
    /// Whether this message was delivered before (and not acknowledged).
    fn redelivered(&self) -> bool;
    async fn ack(self: Box<Self>) -> Result<(), QueueError>;
    async fn nack(self: Box<Self>, requeue: bool) -> Result<(), QueueError>;
}

#[async_trait]
pub trait WorkQueue: Send + Sync {
    async fn publish(&self, request: &WorkRequest) -> Result<(), QueueError>;
    /// The next delivery, waiting for one; `None` once the queue is closed (what was waiting stays for the
    /// next consumer: a durable queue keeps it, the in-process one is gone with the process).
    async fn next(&self) -> Option<Box<dyn Delivery>>;
    /// Stops deliveries: consumers waiting in `next` get `None`.
    fn close(&self);
    /// Messages waiting (not delivered).
    async fn depth(&self) -> Result<u64, QueueError>;
    /// The next request the broker gave up on (its delivery limit passed), without waiting: `None` when there
    /// is none. The reconciler settles each. The in-process queue has no delivery limit, so none.
    async fn next_dead_letter(&self) -> Result<Option<Box<dyn Delivery>>, QueueError> {
        Ok(None)
    }
    /// Publishes an event for other systems (persistent, confirmed). Nobody listens to the in-process queue's
    /// events, so it drops them.
    async fn publish_event(&self, routing_key: &str, message_id: &str, body: &[u8]) -> Result<(), QueueError> {
        let _ = (routing_key, message_id, body);
        Ok(())
    }
    /// Whether the queue lives in this process, so that no other process can be working from it.
    fn is_in_process(&self) -> bool {
        false
    }
}

#[derive(Default)]
struct State {
    ready: VecDeque<(WorkRequest, bool)>,
    closed: bool,
}

/// The embedded default: a queue inside the process.
#[derive(Clone, Default)]
pub struct InProcessQueue {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
}

impl InProcessQueue {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&self, request: WorkRequest, redelivered: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.ready.push_back((request, redelivered));
        drop(state);
        self.notify.notify_one();
    }
}

#[async_trait]
impl WorkQueue for InProcessQueue {
    async fn publish(&self, request: &WorkRequest) -> Result<(), QueueError> {
        if self.state.lock().unwrap_or_else(|p| p.into_inner()).closed {
            return Err(QueueError::Closed);
        }
        self.push(request.clone(), false);
        Ok(())
    }

    async fn next(&self) -> Option<Box<dyn Delivery>> {
        loop {
            let notified = self.notify.notified();
            {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if state.closed {
                    return None;
                }
                if let Some((request, redelivered)) = state.ready.pop_front() {
                    // Wake another consumer if more is waiting.
                    if !state.ready.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(Box::new(InProcessDelivery {
                        queue: self.clone(),
                        message: Message::Work(request.clone()),
                        request: Some(request),
                        redelivered,
                    }));
                }
            }
            notified.await;
        }
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        self.notify.notify_waiters();
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.closed {
            return Err(QueueError::Closed);
        }
        Ok(state.ready.len() as u64)
    }

    fn is_in_process(&self) -> bool {
        true
    }
}

struct InProcessDelivery {
    queue: InProcessQueue,
    /// `None` once settled.
    request: Option<WorkRequest>,
    /// The request as a message (what `message` lends).
    message: Message,
    redelivered: bool,
}

#[async_trait]
impl Delivery for InProcessDelivery {
    fn message(&self) -> &Message {
        &self.message
    }
    fn redelivered(&self) -> bool {
        self.redelivered
    }
    async fn ack(mut self: Box<Self>) -> Result<(), QueueError> {
        self.request = None;
        Ok(())
    }
    async fn nack(mut self: Box<Self>, requeue: bool) -> Result<(), QueueError> {
        if let Some(request) = self.request.take() {
            if requeue {
                self.queue.push(request, true);
            }
        }
        Ok(())
    }
}

impl Drop for InProcessDelivery {
    fn drop(&mut self) {
        if let Some(request) = self.request.take() {
            self.queue.push(request, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(n: u128) -> WorkRequest {
        WorkRequest::new(Uuid::nil(), Uuid::from_u128(n))
    }

    /// docs/asyncapi.yaml names the messages' fields and types as the code writes them.
    #[test]
    fn the_asyncapi_document_matches_the_messages() {
        let doc = include_str!("../../../../docs/asyncapi.yaml");
        let keys = |value: serde_json::Value| -> Vec<String> {
            value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
        };
        let request = keys(serde_json::to_value(req(1)).unwrap());
        let event = keys(
            serde_json::to_value(CatalogueAssembled {
                version: CatalogueAssembled::VERSION,
                catalogue_id: Uuid::nil(),
                build: 1,
                location: String::new(),
                manifest_sha256: String::new(),
                assembled_at: String::new(),
            })
            .unwrap(),
        );
        let upload = keys(
            serde_json::to_value(UploadRequest {
                version: UploadRequest::VERSION,
                upload_id: Uuid::nil(),
                catalogue: String::new(),
                contribution: folio_core::upload::ContributionFields {
                    chapter: String::new(),
                    state: String::new(),
                    author: String::new(),
                    title: String::new(),
                    kind: String::new(),
                    role: String::new(),
                    modality: String::new(),
                    received: String::new(),
                    rights: None,
                    layout: None,
                },
                files: Vec::new(),
                traceparent: None,
            })
            .unwrap(),
        );
        for (name, fields) in [("workRequest", request), ("catalogueAssembled", event), ("uploadRequest", upload)] {
            let schema = doc.split(&format!("\n    {name}:\n      type: object")).nth(1).expect(name);
            let required = schema.lines().find(|l| l.trim_start().starts_with("required:")).expect("required");
            let mut documented: Vec<String> = required
                .trim()
                .trim_start_matches("required:")
                .trim_matches(|c: char| c.is_whitespace() || c == '[' || c == ']')
                .split(',')
                .map(|f| f.trim().to_string())
                .collect();
            let mut written = fields.clone();
            documented.sort();
            written.sort();
            assert_eq!(documented, written, "{name}: the fields in docs/asyncapi.yaml");
        }
        assert!(doc.contains(&format!("messageType: {}", crate::queue::amqp::MESSAGE_TYPE)));
        assert!(doc.contains(&format!("messageType: {}", CatalogueAssembled::ROUTING_KEY)));
        assert!(doc.contains(&format!("messageType: {}", UploadRequest::MESSAGE_TYPE)));
        assert!(doc.contains("x-delivery-limit: 5") && crate::queue::amqp::DEFAULT_DELIVERY_LIMIT == 5);
    }

    #[tokio::test]
    async fn fifo_ack_nack_and_drop_redeliver() {
        let q = InProcessQueue::new();
        for n in 1..=3 {
            q.publish(&req(n)).await.unwrap();
        }
        assert_eq!(q.depth().await.unwrap(), 3);
        let first = q.next().await.unwrap();
        assert_eq!(first.request().unwrap().document_id, Uuid::from_u128(1));
        assert!(!first.redelivered());
        first.ack().await.unwrap();
        let second = q.next().await.unwrap();
        second.nack(true).await.unwrap();
        let third = q.next().await.unwrap();
        assert_eq!(third.request().unwrap().document_id, Uuid::from_u128(3));
        drop(third); // a consumer that dies mid-work gives its message back
        let again = q.next().await.unwrap();
        assert_eq!(again.request().unwrap().document_id, Uuid::from_u128(2));
        assert!(again.redelivered());
        again.nack(false).await.unwrap(); // rejected: gone
        let last = q.next().await.unwrap();
        assert_eq!(last.request().unwrap().document_id, Uuid::from_u128(3));
        last.ack().await.unwrap();
        assert_eq!(q.depth().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn close_wakes_waiting_consumers() {
        let q = InProcessQueue::new();
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move { q.next().await.is_none() })
        };
        tokio::task::yield_now().await;
        q.close();
        assert!(waiter.await.unwrap());
        assert!(matches!(q.publish(&req(1)).await, Err(QueueError::Closed)));
    }

    #[tokio::test]
    async fn many_consumers_share_the_work_once() {
        let q = InProcessQueue::new();
        for n in 0..200 {
            q.publish(&req(n)).await.unwrap();
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (q, seen) = (q.clone(), seen.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(d) = q.next().await {
                    let done = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(d.request().unwrap().document_id);
                        seen.len() == 200
                    };
                    d.ack().await.unwrap();
                    if done {
                        q.close();
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 200);
    }
}
