//! The work queue on RabbitMQ (`amqp://` URLs): a durable quorum queue with a delivery limit and a dead-letter
//! queue, publisher confirms on every publish, acknowledgements only when the caller acknowledges (after its
//! database commit), and reconnection with backoff. A message stays a request: a redelivery changes nothing.
//!
//! The client declares what it uses on every connection (an operator policy may set the same arguments):
//! - `QUEUE` (default `folio.work`): quorum, durable, `x-delivery-limit` (default 5), dead-lettered at least once
//!   (`x-dead-letter-strategy: at-least-once`, which requires `x-overflow: reject-publish`) to
//! - `QUEUE.dlx`, a durable direct exchange, routing to `QUEUE.dead`, a durable quorum queue;
//! - `QUEUE.events`, a durable topic exchange for events (`catalogue.assembled`).
//!
//! `amqps://` connects over TLS (rustls with the ring provider, as every other TLS connection of Folio), checking
//! the broker's certificate against the platform's roots and, when the URL names one, a CA file of the
//! operator's (`cacertfile=`); `certfile=` and `keyfile=` present a client certificate (PEM), which
//! `auth_mechanism=external` makes the login (RabbitMQ's EXTERNAL mechanism). The names are those of RabbitMQ's
//! own URI query parameters.

use crate::queue::{Delivery, Message, QueueError, WorkQueue, WorkRequest};
use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, BasicRejectOptions, ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable};
use lapin::uri::AMQPUri;
use lapin::{
    Acker, BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Consumer, ErrorKind, ExchangeKind,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex};
use tracing::{info, warn};
use uuid::Uuid;

/// The work queue's name when the URL gives none.
pub const DEFAULT_QUEUE: &str = "folio.work";
/// Deliveries of one message (returned by a nack, a dropped delivery or a dead consumer) before the broker
/// dead-letters it.
pub const DEFAULT_DELIVERY_LIMIT: u32 = 5;
/// How long opening a connection (TCP, login, channels, declarations) may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a publish waits for the broker's confirm.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// The AMQP `type` of a [`WorkRequest`] version 1.
pub const MESSAGE_TYPE: &str = "folio.work.v1";
/// First and longest pause between reconnection attempts.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(200);
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How often a consumer waiting for a message checks that its connection is still up.
const HEALTH_CHECK: Duration = Duration::from_secs(5);
/// The longest queue name accepted: AMQP names are at most 255 bytes, and the dead-letter names add 5.
const MAX_QUEUE_NAME: usize = 200;
/// Query parameters lapin reads itself, passed through.
const LAPIN_PARAMS: [&str; 4] = ["heartbeat", "frame_max", "channel_max", "auth_mechanism"];
/// The most bytes of a CA bundle, a client certificate or its key read from a file named in the URL.
const MAX_TLS_FILE_BYTES: u64 = 1 << 20;

/// What the URL's query parameters set; everything else about the connection is in the URL itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmqpOptions {
    /// `queue`: the work queue; the dead-letter exchange and queue are named after it.
    pub queue: String,
    /// `delivery_limit`: see [`DEFAULT_DELIVERY_LIMIT`].
    pub delivery_limit: u32,
    /// Unacknowledged messages the broker hands this consumer at once (the caller's concurrency).
    pub prefetch: u16,
    /// `connection_name`: shown by the broker (`rabbitmqctl list_connections client_properties`).
    pub connection_name: String,
    /// `connection_timeout` (milliseconds).
    pub connect_timeout: Duration,
    /// `confirm_timeout` (milliseconds).
    pub confirm_timeout: Duration,
    /// For `amqps://`: the CA bundle (`cacertfile`) and client certificate (`certfile`, `keyfile`) read from
    /// the files the URL names. Secret: never logged (its `Debug` names the files only).
    pub tls: AmqpTls,
}

/// What an `amqps://` connection presents and trusts beyond the platform's roots.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AmqpTls {
    /// `cacertfile`: where the CA bundle came from, and its PEM text.
    pub ca: Option<(String, String)>,
    /// `certfile` and `keyfile`: the client's certificate chain and private key (PEM).
    pub client: Option<(String, Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for AmqpTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpTls")
            .field("cacertfile", &self.ca.as_ref().map(|(file, _)| file))
            .field("certfile", &self.client.as_ref().map(|(file, _, _)| file))
            .finish()
    }
}

impl AmqpTls {
    fn config(&self) -> lapin::tcp::OwnedTLSConfig {
        lapin::tcp::OwnedTLSConfig {
            identity: self
                .client
                .as_ref()
                .map(|(_, pem, key)| lapin::tcp::OwnedIdentity::PKCS8 { pem: pem.clone(), key: key.clone() }),
            cert_chain: self.ca.as_ref().map(|(_, pem)| pem.clone()),
        }
    }
}

/// Reads a PEM file named by a URL parameter, at most [`MAX_TLS_FILE_BYTES`].
fn read_pem(parameter: &str, file: &str) -> Result<Vec<u8>, String> {
    let bytes = folio_core::bounded::read_file(std::path::Path::new(file), MAX_TLS_FILE_BYTES)
        .map_err(|e| format!("{parameter}={file}: {e}"))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(format!("{parameter}={file}: not a PEM file (no '-----BEGIN' line)"));
    }
    Ok(bytes)
}

impl AmqpOptions {
    pub fn new(prefetch: u16) -> Self {
        Self {
            queue: DEFAULT_QUEUE.into(),
            delivery_limit: DEFAULT_DELIVERY_LIMIT,
            prefetch: prefetch.max(1),
            connection_name: default_connection_name(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
            tls: AmqpTls::default(),
        }
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.queue)
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead", self.queue)
    }

    /// The topic exchange events go to (`catalogue.assembled`); bind a queue to it to receive them.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.queue)
    }
}

fn default_connection_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "folio".into());
    format!("folio {host}-{}", std::process::id())
}

/// Splits an `amqp://` or `amqps://` URL into what lapin connects to and Folio's options (see
/// docs/CONFIGURATION.md); reads the TLS files it names.
pub fn parse_url(url: &str, prefetch: u16) -> Result<(AMQPUri, AmqpOptions), QueueError> {
    let invalid = |reason: String| QueueError::InvalidUrl { url: folio_core::redact::url(url), reason };
    let parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    let tls = match parsed.scheme() {
        "amqp" => false,
        "amqps" => true,
        _ => return Err(invalid("the scheme must be amqp:// or amqps://".into())),
    };
    let mut options = AmqpOptions::new(prefetch);
    let (mut certfile, mut keyfile) = (None, None);
    for (key, value) in parsed.query_pairs() {
        let millis = |what: &str| {
            value
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis)
                .ok_or_else(|| invalid(format!("{what}={value} is not a positive number of milliseconds")))
        };
        match key.as_ref() {
            "queue" => {
                let ok = !value.is_empty()
                    && value.len() <= MAX_QUEUE_NAME
                    && value.chars().all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
                    && !value.starts_with("amq.");
                if !ok {
                    return Err(invalid(format!(
                        "queue={value}: a queue name is 1 to {MAX_QUEUE_NAME} letters, digits, '.', '_', ':' or \
                         '-', not starting with 'amq.'"
                    )));
                }
                options.queue = value.into_owned();
            }
            "delivery_limit" => {
                options.delivery_limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=i32::MAX as u32).contains(n))
                    .ok_or_else(|| invalid(format!("delivery_limit={value} is not a whole number from 1")))?;
            }
            "connection_name" => {
                if value.is_empty() || value.len() > 200 {
                    return Err(invalid("connection_name must be 1 to 200 bytes".into()));
                }
                options.connection_name = value.into_owned();
            }
            "connection_timeout" => options.connect_timeout = millis("connection_timeout")?,
            "confirm_timeout" => options.confirm_timeout = millis("confirm_timeout")?,
            "cacertfile" | "certfile" | "keyfile" if !tls => {
                return Err(invalid(format!("{key}= is for amqps:// (TLS); this URL is amqp://")))
            }
            "cacertfile" => {
                let pem = read_pem("cacertfile", &value).map_err(invalid)?;
                let text = String::from_utf8(pem).map_err(|_| invalid(format!("cacertfile={value}: not text")))?;
                options.tls.ca = Some((value.into_owned(), text));
            }
            "certfile" => certfile = Some(value.into_owned()),
            "keyfile" => keyfile = Some(value.into_owned()),
            other if LAPIN_PARAMS.contains(&other) => {}
            other => {
                return Err(invalid(format!(
                    "unknown parameter '{other}' (known: queue, delivery_limit, connection_name, \
                     connection_timeout, confirm_timeout, cacertfile, certfile, keyfile, {})",
                    LAPIN_PARAMS.join(", ")
                )))
            }
        }
    }
    match (certfile, keyfile) {
        (Some(cert), Some(key)) => {
            let pem = read_pem("certfile", &cert).map_err(invalid)?;
            let key_pem = read_pem("keyfile", &key).map_err(invalid)?;
            options.tls.client = Some((cert, pem, key_pem));
        }
        (None, None) => {}
        _ => return Err(invalid("a client certificate needs both certfile= and keyfile=".into())),
    }
    let mut uri: AMQPUri = url.parse().map_err(invalid)?;
    // lapin takes the host from `Url::domain`, which is `None` for an IPv6 address (`[::1]`), and then
    // connects to localhost: give it the address.
    if let Some(url::Host::Ipv6(ip)) = parsed.host() {
        uri.authority.host = ip.to_string();
    }
    Ok((uri, options))
}

/// Where a connection goes, without the password.
fn describe(uri: &AMQPUri) -> String {
    format!(
        "{}:{} (virtual host '{}', user '{}')",
        uri.authority.host, uri.authority.port, uri.vhost, uri.authority.userinfo.username
    )
}

/// A lapin error, said in terms of what to do about it. `action` completes "the broker refused to …".
fn broker_error(action: &str, error: lapin::Error) -> QueueError {
    let code = match error.kind() {
        ErrorKind::ProtocolError(amqp) => Some(amqp.kind().clone()),
        _ => None,
    };
    let hint = match code {
        Some(AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED)) => {
            "a queue or exchange of that name exists with other arguments (an older declaration or a policy): \
             delete it, or name another queue with ?queue="
        }
        Some(AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)) => {
            "check the user and password in the URL, and the user's permissions on the virtual host \
             (rabbitmqctl set_permissions)"
        }
        Some(AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND)) => {
            "it does not exist: check the URL's virtual host and ?queue="
        }
        Some(AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED)) => {
            "check that the URL's virtual host exists (rabbitmqctl list_vhosts) and that the user may use it"
        }
        Some(AMQPErrorKind::Soft(AMQPSoftError::RESOURCELOCKED)) => {
            "another connection holds it exclusively: stop that client"
        }
        _ => return QueueError::Transport(format!("{action}: {error}")),
    };
    QueueError::Refused { action: action.to_string(), reason: error.to_string(), hint }
}

/// A pause that doubles from [`BACKOFF_FIRST`] to [`BACKOFF_MAX`], each shortened by up to a quarter at random so
/// that workers cut off together do not come back together.
#[derive(Debug)]
pub struct ReconnectBackoff {
    next: Duration,
}

impl Default for ReconnectBackoff {
    fn default() -> Self {
        Self { next: BACKOFF_FIRST }
    }
}

impl ReconnectBackoff {
    pub fn reset(&mut self) {
        self.next = BACKOFF_FIRST;
    }

    pub fn next_pause(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        // 53 random bits from a v4 UUID: a fraction in [0, 1).
        let unit = (Uuid::new_v4().as_u128() as u64 >> 11) as f64 / (1u64 << 53) as f64;
        base.mul_f64(1.0 - unit / 4.0)
    }
}

/// Decodes a message body, or says why it is neither a version 1 work request nor a version 1 upload.
pub fn decode(body: &[u8]) -> Result<Message, String> {
    Message::decode(body)
}

/// Whether the broker has delivered this message before: the redelivered flag, or the quorum queue's count of
/// earlier deliveries.
fn was_delivered_before(redelivered: bool, properties: &BasicProperties) -> bool {
    let count = properties.headers().as_ref().and_then(|h| h.inner().get("x-delivery-count")).and_then(|v| match v {
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongLongInt(n) => Some(*n),
        _ => None,
    });
    redelivered || count.is_some_and(|n| n > 0)
}

/// One connection with its two channels. Deliveries keep the link they came on: they are settled on their own
/// channel or not at all (a delivery tag means nothing on another channel).
struct Link {
    generation: u64,
    connection: Connection,
    /// Publisher confirms on.
    publish: Channel,
    /// Prefetch set; carries the consumer and the acknowledgements.
    consume: Channel,
}

impl Link {
    fn can_consume(&self) -> bool {
        self.connection.status().connected() && self.consume.status().connected()
    }

    fn healthy(&self) -> bool {
        self.can_consume() && self.publish.status().connected()
    }
}

struct Shared {
    uri: AMQPUri,
    target: String,
    options: AmqpOptions,
    link: Mutex<Option<Arc<Link>>>,
    generations: AtomicU64,
    /// The consumer and the link it runs on; `None` before the first `next` and after a failure.
    consumer: Mutex<Option<(Arc<Link>, Consumer)>>,
    closed: watch::Sender<bool>,
}

/// The work queue on RabbitMQ. Clones share one connection.
#[derive(Clone)]
pub struct AmqpQueue {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AmqpQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpQueue").field("target", &self.shared.target).field("options", &self.shared.options).finish()
    }
}

impl AmqpQueue {
    /// Connects to the broker named by an `amqp://` URL and declares the queues; `prefetch` is how many
    /// unacknowledged messages this consumer may hold (the worker's concurrency).
    pub async fn open(url: &str, prefetch: u16) -> Result<Self, QueueError> {
        let (uri, options) = parse_url(url, prefetch)?;
        Self::connect(uri, options).await
    }

    pub async fn connect(uri: AMQPUri, options: AmqpOptions) -> Result<Self, QueueError> {
        let shared = Arc::new(Shared {
            target: describe(&uri),
            uri,
            options,
            link: Mutex::new(None),
            generations: AtomicU64::new(0),
            consumer: Mutex::new(None),
            closed: watch::Sender::new(false),
        });
        shared.current().await?;
        Ok(Self { shared })
    }

    pub fn options(&self) -> &AmqpOptions {
        &self.shared.options
    }

    /// Messages waiting in the dead-letter queue: those past the delivery limit and those that were not work
    /// requests. The coordinator's reconciler takes them off (see `WorkQueue::next_dead_letter`): a document
    /// is sent again or recorded as failed, by what the database says of it.
    pub async fn dead_letter_depth(&self) -> Result<u64, QueueError> {
        self.shared.count(&self.shared.options.dead_letter_queue()).await
    }

    /// Deletes what [`AmqpQueue::open`] declared, messages included: the work queue, the dead-letter queue
    /// and the dead-letter exchange. For retiring a queue name (and for tests that made their own).
    pub async fn delete_declared(&self) -> Result<(), QueueError> {
        let options = &self.shared.options;
        let link = self.shared.current().await?;
        let channel = link.connection.create_channel().await.map_err(|e| broker_error("open a channel", e))?;
        for queue in [options.queue.clone(), options.dead_letter_queue()] {
            channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .map_err(|e| broker_error(&format!("delete the queue '{queue}'"), e))?;
        }
        for exchange in [options.dead_letter_exchange(), options.events_exchange()] {
            channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await
                .map_err(|e| broker_error(&format!("delete the exchange '{exchange}'"), e))?;
        }
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }
}

impl Shared {
    /// The connection, opened again (one attempt) when it is gone.
    async fn current(&self) -> Result<Arc<Link>, QueueError> {
        let mut slot = self.link.lock().await;
        if let Some(link) = slot.as_ref().filter(|l| l.healthy()) {
            return Ok(link.clone());
        }
        let generation = self.generations.fetch_add(1, Ordering::SeqCst) + 1;
        let link = match tokio::time::timeout(self.options.connect_timeout, self.open_link(generation)).await {
            Ok(result) => Arc::new(result?),
            Err(_) => {
                return Err(QueueError::Connect {
                    target: self.target.clone(),
                    reason: format!("no answer in {} s", self.options.connect_timeout.as_secs_f32()),
                })
            }
        };
        if generation > 1 {
            info!(broker = %self.target, generation, "reconnected to the broker");
        }
        *slot = Some(link.clone());
        Ok(link)
    }

    async fn open_link(&self, generation: u64) -> Result<Link, QueueError> {
        let o = &self.options;
        let properties = ConnectionProperties::default().with_connection_name(o.connection_name.clone().into());
        let runtime = lapin::runtime::default_runtime()
            .map_err(|e| QueueError::Connect { target: self.target.clone(), reason: e.to_string() })?;
        let connection = Connection::connect_uri_with_config(self.uri.clone(), properties, o.tls.config(), runtime)
            .await
            .map_err(|e| self.connect_error(e))?;
        let channel_error = |e| broker_error("open a channel", e);
        let publish = connection.create_channel().await.map_err(channel_error)?;
        publish.confirm_select(ConfirmSelectOptions::default()).await.map_err(channel_error)?;
        let consume = connection.create_channel().await.map_err(channel_error)?;
        consume.basic_qos(o.prefetch, BasicQosOptions::default()).await.map_err(channel_error)?;
        self.declare(&publish).await?;
        Ok(Link { generation, connection, publish, consume })
    }

    /// Why a connection failed: the broker's refusal, a TLS handshake that failed (a certificate this side
    /// does not trust, or a client certificate the broker does not), or no broker at all.
    fn connect_error(&self, e: lapin::Error) -> QueueError {
        if let ErrorKind::ProtocolError(_) = e.kind() {
            return broker_error(&format!("open a connection to {}", self.target), e);
        }
        let reason = e.to_string();
        let lowered = reason.to_lowercase();
        let tls_failed = ["certificate", "tls", "handshake", "alert"].iter().any(|w| lowered.contains(w));
        if self.uri.scheme == lapin::uri::AMQPScheme::AMQPS && tls_failed {
            let trusted = match &self.options.tls.ca {
                Some((file, _)) => format!("the platform's roots and the CA in cacertfile={file}"),
                None => "the platform's roots (name the broker's CA with cacertfile=)".to_string(),
            };
            return QueueError::Tls { target: self.target.clone(), reason, trusted };
        }
        QueueError::Connect { target: self.target.clone(), reason }
    }

    /// Declares the exchange and both queues (idempotent when the arguments match).
    async fn declare(&self, channel: &Channel) -> Result<(), QueueError> {
        let o = &self.options;
        let (dlx, dlq) = (o.dead_letter_exchange(), o.dead_letter_queue());
        let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
        let quorum = || {
            let mut args = FieldTable::default();
            args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
            args
        };
        let exchange = |name: String, kind: ExchangeKind| async move {
            channel
                .exchange_declare(
                    name.as_str().into(),
                    kind,
                    ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() },
                    FieldTable::default(),
                )
                .await
                .map_err(|e| broker_error(&format!("declare the exchange '{name}'"), e))
        };
        exchange(dlx.clone(), ExchangeKind::Direct).await?;
        channel
            .queue_declare(dlq.clone().into(), durable, quorum())
            .await
            .map_err(|e| broker_error(&format!("declare the queue '{dlq}'"), e))?;
        channel
            .queue_bind(
                dlq.clone().into(),
                dlx.clone().into(),
                dlq.clone().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| broker_error(&format!("bind '{dlq}' to '{dlx}'"), e))?;
        exchange(o.events_exchange(), ExchangeKind::Topic).await?;
        let mut args = quorum();
        args.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(i64::from(o.delivery_limit)));
        args.insert("x-dead-letter-exchange".into(), AMQPValue::LongString(dlx.into()));
        args.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(dlq.into()));
        args.insert("x-dead-letter-strategy".into(), AMQPValue::LongString("at-least-once".into()));
        args.insert("x-overflow".into(), AMQPValue::LongString("reject-publish".into()));
        channel
            .queue_declare(o.queue.clone().into(), durable, args)
            .await
            .map_err(|e| broker_error(&format!("declare the queue '{}'", o.queue), e))?;
        Ok(())
    }

    /// Messages ready in a queue, asked on a channel of its own (a missing queue closes the channel).
    async fn count(&self, queue: &str) -> Result<u64, QueueError> {
        let link = self.current().await?;
        let channel = link.connection.create_channel().await.map_err(|e| broker_error("open a channel", e))?;
        let declared = channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() },
                FieldTable::default(),
            )
            .await;
        if channel.status().connected() {
            let _ = channel.close(200, "OK".into()).await;
        }
        let queue_state = declared.map_err(|e| broker_error(&format!("count the messages in '{queue}'"), e))?;
        Ok(u64::from(queue_state.message_count()))
    }

    async fn publish_on(&self, link: &Link, request: &WorkRequest, body: &[u8]) -> Result<(), QueueError> {
        let queue = &self.options.queue;
        let message_id = request.document_id.to_string();
        let outgoing = Outgoing {
            exchange: "",
            routing_key: queue,
            mandatory: true,
            message_id: &message_id,
            message_type: MESSAGE_TYPE,
            target: queue,
        };
        match self.publish_confirmed(link, &outgoing, body).await? {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                Err(QueueError::Unroutable { queue: queue.clone(), reason: returned.reply_text.to_string() })
            }
            _ => Err(QueueError::Rejected { queue: queue.clone() }),
        }
    }

    /// Publishes an event to the events exchange and waits for the confirm. Not `mandatory`: an event nobody
    /// has bound a queue for is not an error.
    async fn publish_event_on(
        &self,
        link: &Link,
        routing_key: &str,
        message_id: &str,
        body: &[u8],
    ) -> Result<(), QueueError> {
        let exchange = self.options.events_exchange();
        let outgoing = Outgoing {
            exchange: &exchange,
            routing_key,
            mandatory: false,
            message_id,
            message_type: routing_key,
            target: &exchange,
        };
        match self.publish_confirmed(link, &outgoing, body).await? {
            Confirmation::Ack(_) => Ok(()),
            _ => Err(QueueError::Rejected { queue: exchange.clone() }),
        }
    }

    /// Publishes persistently on the confirming channel and waits (up to `confirm_timeout`) for the broker's
    /// confirm, which it returns; a channel without confirms is an error.
    async fn publish_confirmed(&self, link: &Link, o: &Outgoing<'_>, body: &[u8]) -> Result<Confirmation, QueueError> {
        let target = o.target;
        let properties = BasicProperties::default()
            .with_message_id(o.message_id.into())
            .with_type(o.message_type.into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2);
        let options = BasicPublishOptions { mandatory: o.mandatory, ..BasicPublishOptions::default() };
        let confirm = link
            .publish
            .basic_publish(o.exchange.into(), o.routing_key.into(), options, body, properties)
            .await
            .map_err(|e| broker_error(&format!("take a message for '{target}'"), e))?;
        let confirmation = tokio::time::timeout(self.options.confirm_timeout, confirm)
            .await
            .map_err(|_| QueueError::Unconfirmed {
                queue: target.to_string(),
                secs: self.options.confirm_timeout.as_secs_f32(),
            })?
            .map_err(|e| broker_error(&format!("confirm a message for '{target}'"), e))?;
        if let Confirmation::NotRequested = confirmation {
            return Err(QueueError::Transport("the publishing channel has no publisher confirms".into()));
        }
        Ok(confirmation)
    }

    /// Takes one message off the consumer, starting the consumer (again) when needed.
    async fn receive(&self) -> Received {
        let link = match self.current().await {
            Ok(link) => link,
            Err(e) => return Received::Lost(e),
        };
        let mut slot = self.consumer.lock().await;
        if slot.as_ref().is_none_or(|(l, _)| l.generation != link.generation || !l.can_consume()) {
            *slot = None;
            let tag = format!("{}-{}", self.options.connection_name, link.generation);
            let consumer = link
                .consume
                .basic_consume(
                    self.options.queue.clone().into(),
                    tag.into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await;
            match consumer {
                Ok(consumer) => *slot = Some((link.clone(), consumer)),
                Err(e) => return Received::Lost(broker_error(&format!("consume from '{}'", self.options.queue), e)),
            }
        }
        let Some((link, consumer)) = slot.as_mut() else {
            return Received::Lost(QueueError::Transport("no consumer".into()));
        };
        // `None` when the connection is found dead while waiting (lapin also ends or fails the stream then).
        let item = loop {
            tokio::select! {
                item = consumer.next() => break Some(item),
                _ = tokio::time::sleep(HEALTH_CHECK) => if !link.can_consume() { break None },
            }
        };
        match item {
            Some(Some(Ok(delivery))) => {
                let link = link.clone();
                drop(slot);
                self.accept(link, delivery).await
            }
            Some(Some(Err(e))) => {
                *slot = None;
                Received::Lost(QueueError::Transport(format!("the consumer's connection failed: {e}")))
            }
            None => {
                *slot = None;
                Received::Lost(QueueError::Transport("the consumer's connection is gone".into()))
            }
            Some(None) => {
                *slot = None;
                Received::Lost(QueueError::Transport(format!(
                    "the broker cancelled the consumer of '{}' (queue deleted or moved)",
                    self.options.queue
                )))
            }
        }
    }

    /// Hands a delivery out, or rejects a body that is not a work request to the dead-letter queue.
    async fn accept(&self, link: Arc<Link>, delivery: lapin::message::Delivery) -> Received {
        let redelivered = was_delivered_before(delivery.redelivered, &delivery.properties);
        match decode(&delivery.data) {
            Ok(message) => Received::Delivery(Box::new(AmqpDelivery {
                link,
                acker: Some(delivery.acker),
                message,
                redelivered,
                runtime: tokio::runtime::Handle::current(),
            })),
            Err(reason) => {
                let message_id = delivery.properties.message_id().as_ref().map(|m| m.to_string());
                warn!(
                    queue = %self.options.queue,
                    message_id = message_id.as_deref().unwrap_or("none"),
                    %reason,
                    "malformed message rejected to the dead-letter queue {}",
                    self.options.dead_letter_queue()
                );
                if let Err(e) = delivery.acker.reject(BasicRejectOptions { requeue: false }).await {
                    warn!(error = %e, "could not reject the malformed message; the broker will deliver it again");
                }
                Received::Skipped
            }
        }
    }

    /// After `close`: cancels the consumer and gives back what it holds but has not handed out.
    async fn stop_consuming(&self) {
        let Some((link, mut consumer)) = self.consumer.lock().await.take() else { return };
        if link.can_consume() {
            let _ = link.consume.basic_cancel(consumer.tag(), BasicCancelOptions::default()).await;
        }
        // What arrived before the cancel is already here: wait only briefly for more.
        while let Ok(Some(Ok(delivery))) = tokio::time::timeout(Duration::from_millis(200), consumer.next()).await {
            let _ = delivery.acker.nack(BasicNackOptions { requeue: true, multiple: false }).await;
        }
    }
}

/// Where and how [`Shared::publish_confirmed`] sends a message.
struct Outgoing<'a> {
    /// `""` is the default exchange, which routes by queue name.
    exchange: &'a str,
    routing_key: &'a str,
    mandatory: bool,
    message_id: &'a str,
    /// The AMQP `type` property.
    message_type: &'a str,
    /// The destination, as errors name it.
    target: &'a str,
}

enum Received {
    Delivery(Box<dyn Delivery>),
    /// A malformed message, rejected; nothing to hand out.
    Skipped,
    Lost(QueueError),
}

#[async_trait]
impl WorkQueue for AmqpQueue {
    /// Publishes persistently and waits for the broker's confirm; after a connection failure, reconnects and
    /// tries once more, then returns the (retryable) error.
    async fn publish(&self, request: &WorkRequest) -> Result<(), QueueError> {
        if *self.shared.closed.borrow() {
            return Err(QueueError::Closed);
        }
        let body = serde_json::to_vec(request).map_err(|e| QueueError::Transport(format!("encoding: {e}")))?;
        let first = match self.shared.current().await {
            Ok(link) => match self.shared.publish_on(&link, request, &body).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            },
            Err(e) => e,
        };
        if !first.is_retryable() {
            return Err(first);
        }
        warn!(error = %first, document_id = %request.document_id, "publish failed; trying once more");
        tokio::time::sleep(ReconnectBackoff::default().next_pause()).await;
        let link = self.shared.current().await?;
        self.shared.publish_on(&link, request, &body).await
    }

    async fn next(&self) -> Option<Box<dyn Delivery>> {
        let mut closed = self.shared.closed.subscribe();
        let mut backoff = ReconnectBackoff::default();
        loop {
            if *closed.borrow_and_update() {
                return None;
            }
            let received = tokio::select! {
                biased;
                _ = closed.changed() => continue,
                received = self.shared.receive() => received,
            };
            match received {
                Received::Delivery(delivery) => return Some(delivery),
                Received::Skipped => backoff.reset(),
                Received::Lost(e) => {
                    let pause = backoff.next_pause();
                    warn!(error = %e, pause_ms = pause.as_millis() as u64, "waiting for the broker");
                    tokio::select! {
                        _ = closed.changed() => {}
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }

    fn close(&self) {
        if self.shared.closed.send_replace(true) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = self.shared.clone();
            runtime.spawn(async move { shared.stop_consuming().await });
        }
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        self.shared.count(&self.shared.options.queue).await
    }

    async fn publish_event(&self, routing_key: &str, message_id: &str, body: &[u8]) -> Result<(), QueueError> {
        if *self.shared.closed.borrow() {
            return Err(QueueError::Closed);
        }
        let link = self.shared.current().await?;
        match self.shared.publish_event_on(&link, routing_key, message_id, body).await {
            Err(e) if e.is_retryable() => {
                warn!(error = %e, routing_key, "publishing an event failed; trying once more");
                let link = self.shared.current().await?;
                self.shared.publish_event_on(&link, routing_key, message_id, body).await
            }
            done => done,
        }
    }

    /// Takes the next message off the dead-letter queue (a pull, `basic.get`). A work request is handed out
    /// like a delivery; a message that is not one can never become a record (it names no document), so it is
    /// logged with its first bytes and acknowledged, which removes it.
    async fn next_dead_letter(&self) -> Result<Option<Box<dyn Delivery>>, QueueError> {
        let queue = self.shared.options.dead_letter_queue();
        loop {
            let link = self.shared.current().await?;
            let got = link
                .consume
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(|e| QueueError::Transport(format!("reading the dead-letter queue '{queue}': {e}")))?;
            let Some(message) = got else { return Ok(None) };
            let delivery = message.delivery;
            match decode(&delivery.data) {
                Ok(message) => {
                    return Ok(Some(Box::new(AmqpDelivery {
                        link,
                        acker: Some(delivery.acker),
                        message,
                        redelivered: true,
                        runtime: tokio::runtime::Handle::current(),
                    })))
                }
                Err(reason) => {
                    let start = String::from_utf8_lossy(&delivery.data[..delivery.data.len().min(200)]).into_owned();
                    tracing::error!(queue = %queue, %reason, body_start = %start, "malformed dead letter removed");
                    delivery
                        .acker
                        .ack(BasicAckOptions::default())
                        .await
                        .map_err(|e| QueueError::Transport(format!("removing a malformed dead letter: {e}")))?;
                }
            }
        }
    }
}

struct AmqpDelivery {
    link: Arc<Link>,
    /// `None` once settled.
    acker: Option<Acker>,
    message: Message,
    redelivered: bool,
    runtime: tokio::runtime::Handle,
}

impl AmqpDelivery {
    async fn settle(mut self: Box<Self>, how: Settle) -> Result<(), QueueError> {
        let Some(acker) = self.acker.take() else { return Ok(()) };
        if !self.link.can_consume() {
            return Err(QueueError::Stale);
        }
        let done = match how {
            Settle::Ack => acker.ack(BasicAckOptions::default()).await,
            Settle::Nack { requeue } => acker.nack(BasicNackOptions { requeue, multiple: false }).await,
        };
        match done {
            Ok(true) => Ok(()),
            // The channel failed since the message came: the broker delivers it again.
            Ok(false) => Err(QueueError::Stale),
            Err(e) => Err(QueueError::Transport(format!("settling a message: {e}"))),
        }
    }
}

enum Settle {
    Ack,
    Nack { requeue: bool },
}

#[async_trait]
impl Delivery for AmqpDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    fn redelivered(&self) -> bool {
        self.redelivered
    }

    async fn ack(self: Box<Self>) -> Result<(), QueueError> {
        self.settle(Settle::Ack).await
    }

    async fn nack(self: Box<Self>, requeue: bool) -> Result<(), QueueError> {
        self.settle(Settle::Nack { requeue }).await
    }
}

impl Drop for AmqpDelivery {
    fn drop(&mut self) {
        if let Some(acker) = self.acker.take() {
            // Given back as a dead consumer's would be; the task keeps the connection open until it is sent.
            let link = self.link.clone();
            self.runtime.spawn(async move {
                if link.can_consume() {
                    let _ = acker.nack(BasicNackOptions { requeue: true, multiple: false }).await;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_options_and_refuse_mistakes() {
        let (uri, o) = parse_url("amqp://guest:secret@127.0.0.1:5672/%2f", 4).unwrap();
        assert_eq!((uri.authority.host.as_str(), uri.authority.port, uri.vhost.as_str()), ("127.0.0.1", 5672, "/"));
        assert_eq!((o.queue.as_str(), o.delivery_limit, o.prefetch), (DEFAULT_QUEUE, DEFAULT_DELIVERY_LIMIT, 4));
        assert_eq!(
            (o.dead_letter_exchange().as_str(), o.dead_letter_queue().as_str()),
            ("folio.work.dlx", "folio.work.dead")
        );

        let url = concat!(
            "amqp://u:p@[::1]/v?queue=jobs.a&delivery_limit=9&connection_name=w1&heartbeat=30",
            "&connection_timeout=500&confirm_timeout=2000"
        );
        let (uri, o) = parse_url(url, 0).unwrap();
        assert_eq!((uri.authority.host.as_str(), uri.vhost.as_str(), uri.query.heartbeat), ("::1", "v", Some(30)));
        assert_eq!(
            (o.queue.as_str(), o.delivery_limit, o.prefetch, o.connection_name.as_str()),
            ("jobs.a", 9, 1, "w1")
        );
        assert_eq!((o.connect_timeout, o.confirm_timeout), (Duration::from_millis(500), Duration::from_secs(2)));

        for bad in [
            "amqp://h/?queue=",
            "amqp://h/?queue=a%20b",
            "amqp://h/?queue=amq.x",
            "amqp://h/?delivery_limit=0",
            "amqp://h/?delivery_limit=x",
            "amqp://h/?delivery_limt=3",
            "amqp://h/?confirm_timeout=0",
            "http://h/",
            "amqp//h",
        ] {
            let e = parse_url(bad, 1).unwrap_err();
            assert!(matches!(e, QueueError::InvalidUrl { .. }), "{bad}: {e}");
            assert!(!e.is_retryable());
        }
        let (uri, options) = parse_url("amqps://u:hunter2@h/", 1).unwrap();
        assert_eq!((uri.scheme, uri.authority.port), (lapin::uri::AMQPScheme::AMQPS, 5671));
        assert_eq!(options.tls, AmqpTls::default());
        let e = parse_url("amqps://u:hunter2@h/?cacertfile=/no/such/ca.pem", 1).unwrap_err();
        assert!(e.to_string().contains("cacertfile=/no/such/ca.pem"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = parse_url("amqp://u:hunter2@h/?cacertfile=/etc/hostname", 1).unwrap_err();
        assert!(e.to_string().contains("is for amqps://"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.der");
        std::fs::write(&not_pem, [0x30, 0x82, 0x01]).unwrap();
        let e = parse_url(&format!("amqps://h/?cacertfile={}", not_pem.display()), 1).unwrap_err();
        assert!(e.to_string().contains("not a PEM file"), "{e}");
        let e = parse_url(&format!("amqps://h/?certfile={}", not_pem.display()), 1).unwrap_err();
        assert!(e.to_string().contains("needs both certfile= and keyfile="), "{e}");
        let e = parse_url("amqp://u:hunter2@h/?nope=1", 1).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn backoff_grows_to_ten_seconds_with_jitter() {
        let mut b = ReconnectBackoff::default();
        let pauses: Vec<Duration> = (0..12).map(|_| b.next_pause()).collect();
        assert!(pauses[0] >= BACKOFF_FIRST * 3 / 4 && pauses[0] <= BACKOFF_FIRST, "{pauses:?}");
        assert!(pauses.iter().all(|p| *p <= BACKOFF_MAX), "{pauses:?}");
        assert!(pauses[11] >= BACKOFF_MAX * 3 / 4, "{pauses:?}");
        b.reset();
        assert!(b.next_pause() <= BACKOFF_FIRST);
    }

    #[test]
    fn bodies_that_are_not_version_1_requests_or_uploads_are_refused() {
        let good = WorkRequest::new(Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(decode(&serde_json::to_vec(&good).unwrap()).unwrap(), Message::Work(good));
        let upload = serde_json::json!({
            "version": 1, "upload_id": Uuid::from_u128(3), "catalogue": "ccm-2012",
            "contribution": {"chapter": "c", "state": "S", "author": "A", "title": "T", "kind": "text",
                             "role": "donor", "modality": "bilateral", "received": "2012-04-01"},
            "files": [{"name": "a.pdf", "content_base64": "JVBERg=="}]
        });
        match decode(upload.to_string().as_bytes()).unwrap() {
            Message::Upload(u) => assert_eq!(u.upload_id, Uuid::from_u128(3)),
            other => panic!("{other:?}"),
        }
        let upload_v2 = upload.to_string().replacen("\"version\":1", "\"version\":2", 1);
        assert!(decode(upload_v2.as_bytes()).unwrap_err().contains("upload version 2"), "{upload_v2}");
        assert!(decode(b"not json").is_err());
        assert!(decode(b"{}").is_err());
        let v2 = serde_json::json!({"version": 2, "document_id": Uuid::nil(), "catalogue_id": Uuid::nil()});
        assert!(decode(v2.to_string().as_bytes()).unwrap_err().contains("version 2"));
    }

    #[test]
    fn a_delivery_count_means_delivered_before() {
        let mut headers = FieldTable::default();
        assert!(!was_delivered_before(false, &BasicProperties::default()));
        assert!(was_delivered_before(true, &BasicProperties::default()));
        headers.insert("x-delivery-count".into(), AMQPValue::LongLongInt(0));
        assert!(!was_delivered_before(false, &BasicProperties::default().with_headers(headers.clone())));
        headers.insert("x-delivery-count".into(), AMQPValue::LongInt(2));
        assert!(was_delivered_before(false, &BasicProperties::default().with_headers(headers)));
    }
}
