//! The RabbitMQ work queue against a real broker, at `FOLIO_TEST_AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`). Each test declares queues of its own, named afresh, and deletes them
//! when it ends, passed or failed. The reconnection test closes its connection from the broker's side with
//! `rabbitmqctl` (`FOLIO_TEST_RABBITMQCTL`, default `rabbitmqctl` on PATH; it needs the broker's Erlang cookie,
//! so run the tests as the user that started the broker, or as root).

use folio_store::queue::amqp::MESSAGE_TYPE;
use folio_store::{AmqpQueue, Delivery, QueueError, WorkQueue, WorkRequest};
use futures_util::future::join_all;
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::collections::HashSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

fn broker_url() -> String {
    std::env::var("FOLIO_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn how_to_start(error: impl std::fmt::Display) -> String {
    format!(
        "RabbitMQ does not answer at {}: {error}\nStart it with `rabbitmq-server -detached` as root (install it with \
         `apt-get install rabbitmq-server`) and wait for `rabbitmqctl await_startup`; scripts/test does both. Or \
         point FOLIO_TEST_AMQP_URL at a broker.",
        folio_core::redact::url(&broker_url())
    )
}

fn req(n: u128) -> WorkRequest {
    WorkRequest::new(Uuid::from_u128(7), Uuid::from_u128(n))
}

/// A raw channel, to look at the queues the way another client would.
async fn raw_channel() -> (Connection, Channel) {
    let connection = Connection::connect(&broker_url(), ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("{}", how_to_start(e)));
    let channel = connection.create_channel().await.expect("a channel");
    (connection, channel)
}

/// A test's queue name; its queues and exchange are deleted when it is dropped.
struct TestQueues {
    name: String,
}

impl TestQueues {
    fn new() -> Self {
        Self { name: format!("folio.test.{}", Uuid::new_v4().simple()) }
    }

    fn url(&self, params: &str) -> String {
        let base = broker_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        let params = if params.is_empty() { String::new() } else { format!("&{params}") };
        format!("{base}{sep}queue={}{params}", self.name)
    }

    async fn open(&self, prefetch: u16, params: &str) -> AmqpQueue {
        AmqpQueue::open(&self.url(params), prefetch).await.unwrap_or_else(|e| panic!("{}", how_to_start(e)))
    }
}

impl Drop for TestQueues {
    fn drop(&mut self) {
        let name = self.name.clone();
        // A runtime of its own: this runs at the end of a test, or while a failed one unwinds.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let connection = Connection::connect(&broker_url(), ConnectionProperties::default()).await?;
                let channel = connection.create_channel().await?;
                for queue in [name.clone(), format!("{name}.dead")] {
                    channel.queue_delete(queue.into(), QueueDeleteOptions::default()).await?;
                }
                for exchange in [format!("{name}.dlx"), format!("{name}.events")] {
                    channel.exchange_delete(exchange.into(), ExchangeDeleteOptions::default()).await?;
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("could not delete the test queues {}*: {e}", self.name);
        }
    }
}

async fn next_within(queue: &AmqpQueue, secs: u64) -> Option<Box<dyn Delivery>> {
    tokio::time::timeout(Duration::from_secs(secs), queue.next()).await.ok().flatten()
}

/// Polls until `f` gives `want`, for up to 15 s; returns the last value.
async fn eventually<F, Fut>(want: u64, mut f: F) -> u64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, QueueError>>,
{
    let mut last = u64::MAX;
    for _ in 0..150 {
        last = f().await.expect("a count");
        if last == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test]
async fn a_request_goes_round_trip_persistent_with_its_id_and_type() {
    let t = TestQueues::new();
    let q = t.open(1, "").await;
    q.publish(&req(1)).await.unwrap();
    q.publish(&req(2)).await.unwrap();
    assert_eq!(eventually(2, || q.depth()).await, 2);

    // The first as any client sees it.
    let (_connection, raw) = raw_channel().await;
    let got = raw
        .basic_get(t.name.clone().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .expect("a message in the work queue");
    let p = &got.delivery.properties;
    assert_eq!(p.message_id().as_ref().map(|s| s.to_string()), Some(Uuid::from_u128(1).to_string()));
    assert_eq!(p.kind().as_ref().map(|s| s.to_string()).as_deref(), Some(MESSAGE_TYPE));
    assert_eq!(p.content_type().as_ref().map(|s| s.to_string()).as_deref(), Some("application/json"));
    assert_eq!(*p.delivery_mode(), Some(2), "persistent");
    assert_eq!(serde_json::from_slice::<WorkRequest>(&got.delivery.data).unwrap(), req(1));

    // The second through the queue.
    let d = next_within(&q, 10).await.expect("the second request");
    assert_eq!(d.request(), Some(&req(2)));
    assert!(!d.redelivered());
    d.ack().await.unwrap();
    assert_eq!(eventually(0, || q.depth()).await, 0);
    assert_eq!(q.dead_letter_depth().await.unwrap(), 0);
    // Acknowledged means gone, for a consumer that comes later too.
    drop(q);
    let later = t.open(1, "").await;
    assert!(next_within(&later, 1).await.is_none());
}

#[tokio::test]
async fn a_nacked_request_comes_back_marked_redelivered() {
    let t = TestQueues::new();
    let q = t.open(1, "").await;
    q.publish(&req(1)).await.unwrap();
    let d = next_within(&q, 10).await.expect("a delivery");
    assert!(!d.redelivered());
    d.nack(true).await.unwrap();
    let again = next_within(&q, 10).await.expect("the request again");
    assert_eq!(again.request(), Some(&req(1)));
    assert!(again.redelivered());
    again.ack().await.unwrap();
    assert_eq!(eventually(0, || q.depth()).await, 0);
}

#[tokio::test]
async fn a_dropped_delivery_comes_back() {
    let t = TestQueues::new();
    let q = t.open(1, "").await;
    q.publish(&req(1)).await.unwrap();
    let d = next_within(&q, 10).await.expect("a delivery");
    drop(d); // a worker task that died mid-document
    let again = next_within(&q, 10).await.expect("the request again");
    assert_eq!(again.request(), Some(&req(1)));
    assert!(again.redelivered());
    again.ack().await.unwrap();
}

#[tokio::test]
async fn past_the_delivery_limit_a_request_is_dead_lettered() {
    let t = TestQueues::new();
    let limit = 2;
    let q = t.open(1, &format!("delivery_limit={limit}")).await;
    q.publish(&req(9)).await.unwrap();
    let mut deliveries = 0;
    while let Some(d) = next_within(&q, 3).await {
        deliveries += 1;
        assert!(deliveries <= 10, "never dead-lettered");
        d.nack(true).await.unwrap();
    }
    assert_eq!(deliveries, limit + 1, "delivered once, then again up to the limit");
    assert_eq!(eventually(1, || q.dead_letter_depth()).await, 1);
    assert_eq!(eventually(0, || q.depth()).await, 0);
    // The reconciler's reading of the dead-letter queue: the request, settled once handled.
    let dead = q.next_dead_letter().await.unwrap().expect("the dead letter");
    assert_eq!(dead.request(), Some(&req(9)));
    dead.ack().await.unwrap();
    assert!(q.next_dead_letter().await.unwrap().is_none());
    assert_eq!(eventually(0, || q.dead_letter_depth()).await, 0);
}

#[tokio::test]
async fn malformed_messages_are_dead_lettered_and_the_consumer_goes_on() {
    let t = TestQueues::new();
    let q = t.open(2, "").await;
    let (_connection, raw) = raw_channel().await;
    raw.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    let v2 = serde_json::json!({"version": 2, "document_id": Uuid::nil(), "catalogue_id": Uuid::nil()}).to_string();
    for body in [b"not json".as_slice(), v2.as_bytes(), b"{}"] {
        let confirm = raw
            .basic_publish(
                "".into(),
                t.name.clone().into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap();
        assert!(confirm.await.unwrap().is_ack());
    }
    // Confirmed: in the queue before the good one.
    q.publish(&req(1)).await.unwrap();
    let d = next_within(&q, 10).await.expect("the good request after the bad ones");
    assert_eq!(d.request(), Some(&req(1)));
    d.ack().await.unwrap();
    assert_eq!(eventually(3, || q.dead_letter_depth()).await, 3);
    assert_eq!(eventually(0, || q.depth()).await, 0);
    // They name no document, so the reconciler removes them (and logs them) rather than handing them out.
    assert!(q.next_dead_letter().await.unwrap().is_none());
    assert_eq!(eventually(0, || q.dead_letter_depth()).await, 0);
}

#[tokio::test]
async fn the_broker_hands_out_no_more_than_the_prefetch() {
    let t = TestQueues::new();
    let q = t.open(2, "").await;
    for n in 1..=5 {
        q.publish(&req(n)).await.unwrap();
    }
    assert_eq!(eventually(5, || q.depth()).await, 5);
    assert_eq!(q.dead_letter_depth().await.unwrap(), 0);
    let first = next_within(&q, 10).await.expect("a first delivery");
    let second = next_within(&q, 10).await.expect("a second delivery");
    assert!(next_within(&q, 2).await.is_none(), "a third delivery before an ack");
    assert_eq!(q.depth().await.unwrap(), 3, "three ready, two held");
    first.ack().await.unwrap();
    let third = next_within(&q, 10).await.expect("a third delivery after an ack");
    let seen: HashSet<_> = [&second, &third].iter().map(|d| d.request().unwrap().document_id).collect();
    assert_eq!(seen.len(), 2);
    second.ack().await.unwrap();
    third.ack().await.unwrap();
    for _ in 0..2 {
        next_within(&q, 10).await.expect("the last two").ack().await.unwrap();
    }
    assert_eq!(eventually(0, || q.depth()).await, 0);
}

#[tokio::test]
async fn close_ends_next_and_gives_back_what_was_not_handed_out() {
    let t = TestQueues::new();
    let q = t.open(5, "").await;
    let waiting = {
        let q = q.clone();
        tokio::spawn(async move { tokio::time::timeout(Duration::from_secs(10), q.next()).await })
    };
    for n in 1..=3 {
        q.publish(&req(n)).await.unwrap();
    }
    let first = waiting.await.unwrap().expect("a delivery").expect("a delivery");
    // The other two are with this consumer (prefetch 5) but not handed out.
    let blocked = {
        let q = q.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            q.close();
        })
    };
    blocked.await.unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(5), q.next()).await.expect("next returns at once").is_none());
    assert!(matches!(q.publish(&req(4)).await, Err(QueueError::Closed)));

    let other = t.open(5, "").await;
    let mut rest = Vec::new();
    while let Some(d) = next_within(&other, 5).await {
        rest.push(d.request().unwrap().document_id);
        d.ack().await.unwrap();
        if rest.len() == 2 {
            break;
        }
    }
    rest.sort();
    let mut expected: Vec<_> =
        [1, 2, 3].map(Uuid::from_u128).into_iter().filter(|id| *id != first.request().unwrap().document_id).collect();
    expected.sort();
    assert_eq!(rest, expected, "the closed consumer's other messages went to the next one");
    // What was handed out before the close is still settled on its connection.
    first.ack().await.unwrap();
    assert!(next_within(&other, 1).await.is_none());
    assert_eq!(eventually(0, || other.depth()).await, 0);
}

#[tokio::test]
async fn five_hundred_requests_two_consumers_each_delivered_once() {
    const N: u128 = 500;
    let t = TestQueues::new();
    let publisher = t.open(1, "").await;
    for chunk in (0..N).collect::<Vec<_>>().chunks(50) {
        let requests: Vec<WorkRequest> = chunk.iter().map(|n| req(*n)).collect();
        for result in join_all(requests.iter().map(|r| publisher.publish(r))).await {
            result.unwrap();
        }
    }
    assert_eq!(eventually(N as u64, || publisher.depth()).await, N as u64);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut consumers = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let q = t.open(10, "").await;
        consumers.push(q.clone());
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = 0u32;
            while let Some(d) = next_within(&q, 10).await {
                assert!(!d.redelivered(), "nothing was given back, so nothing comes twice");
                let id = d.request().unwrap().document_id;
                d.ack().await.unwrap();
                mine += 1;
                seen.lock().unwrap().push(id);
            }
            mine
        }));
    }
    for _ in 0..600 {
        if seen.lock().unwrap().len() as u128 >= N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A little longer, for a duplicate to show up if there were one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for q in &consumers {
        q.close();
    }
    let per_consumer: Vec<u32> = join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    let seen = seen.lock().unwrap().clone();
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (N as usize, N as usize), "no loss, no duplicate");
    assert!(per_consumer.iter().all(|n| *n > 0), "both consumers took a share: {per_consumer:?}");
    assert_eq!(eventually(0, || publisher.depth()).await, 0);
}

/// Closes this test's connections from the broker's side; returns how many.
fn close_connections_named(name: &str) -> usize {
    let ctl = std::env::var("FOLIO_TEST_RABBITMQCTL").unwrap_or_else(|_| "rabbitmqctl".into());
    let out = Command::new(&ctl)
        .args(["-q", "list_connections", "pid", "client_properties"])
        .output()
        .unwrap_or_else(|e| panic!("running {ctl}: {e}; set FOLIO_TEST_RABBITMQCTL to rabbitmqctl's path"));
    assert!(out.status.success(), "{ctl} list_connections: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let pids: Vec<String> = text
        .lines()
        .filter(|line| line.contains(name))
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect();
    for pid in &pids {
        let out = Command::new(&ctl)
            .args(["-q", "close_connection", pid, "closed by the folio-store tests"])
            .output()
            .expect("rabbitmqctl close_connection");
        assert!(out.status.success(), "{ctl} close_connection: {}", String::from_utf8_lossy(&out.stderr));
    }
    pids.len()
}

#[tokio::test]
async fn publish_and_consume_go_on_after_the_broker_closes_the_connection() {
    let t = TestQueues::new();
    let name = format!("folio-test-{}", Uuid::new_v4());
    let q = t.open(4, &format!("connection_name={name}")).await;
    q.publish(&req(1)).await.unwrap();
    let held = next_within(&q, 10).await.expect("a delivery");
    // A consumer waiting when the connection goes.
    let waiting = {
        let q = q.clone();
        tokio::spawn(async move { tokio::time::timeout(Duration::from_secs(60), q.next()).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(close_connections_named(&name), 1, "this test's connection, found by its name");
    // Let the client read the broker's close: an ack written before that is lost with the socket (the broker
    // delivers the message again all the same), and this test wants the refusal.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = held.ack().await;
    let error = settled.expect_err("a delivery from the closed connection cannot be acknowledged");
    assert!(error.is_retryable(), "{error}");

    q.publish(&req(2)).await.expect("publish reconnects");
    let first = waiting.await.unwrap().expect("the waiting consumer got a message").expect("a delivery");
    let second = next_within(&q, 10).await.expect("a second delivery");
    let mut got: Vec<_> =
        [&first, &second].iter().map(|d| (d.request().unwrap().document_id, d.redelivered())).collect();
    got.sort();
    assert_eq!(got, vec![(Uuid::from_u128(1), true), (Uuid::from_u128(2), false)]);
    first.ack().await.unwrap();
    second.ack().await.unwrap();
    assert_eq!(eventually(0, || q.depth()).await, 0);
}

#[tokio::test]
async fn a_deleted_queue_makes_publish_fail_unroutable() {
    let t = TestQueues::new();
    let q = t.open(1, "").await;
    let (_connection, raw) = raw_channel().await;
    raw.queue_delete(t.name.clone().into(), QueueDeleteOptions::default()).await.unwrap();
    let error = q.publish(&req(1)).await.expect_err("nowhere to route");
    assert!(matches!(error, QueueError::Unroutable { .. }), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_queue_declared_otherwise_is_refused_with_what_to_do() {
    let t = TestQueues::new();
    let (_connection, raw) = raw_channel().await;
    raw.queue_declare(
        t.name.clone().into(),
        QueueDeclareOptions { durable: true, ..Default::default() },
        FieldTable::default(),
    )
    .await
    .unwrap();
    let error = AmqpQueue::open(&t.url(""), 1).await.expect_err("a classic queue of that name");
    assert!(matches!(error, QueueError::Refused { .. }), "{error}");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("?queue="), "{error}");
}

#[tokio::test]
async fn an_unreachable_broker_or_wrong_password_says_so() {
    let error = AmqpQueue::open("amqp://guest:hunter2@127.0.0.1:1/%2f?connection_timeout=2000", 1)
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(error, QueueError::Connect { .. }) && error.is_retryable(), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    eprintln!("{error}");

    let url = broker_url().replacen("guest:guest@", "guest:wrong-password@", 1);
    if url != broker_url() {
        let error = AmqpQueue::open(&url, 1).await.expect_err("a wrong password");
        assert!(matches!(error, QueueError::Refused { .. }) && !error.is_retryable(), "{error}");
        assert!(error.to_string().contains("password"), "{error}");
        assert!(!error.to_string().contains("wrong-password"), "{error}");
    }
}
