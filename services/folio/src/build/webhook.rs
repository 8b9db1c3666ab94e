//! The operator's webhook (`bundle.webhook_url`): each build's `catalogue.assembled` event, the same JSON as
//! on the broker, POSTed to it, so editors' systems learn where a bundle is without an AMQP client.
//!
//! - Headers: `Folio-Event: catalogue.assembled`, `Folio-Delivery: CATALOGUE/BUILD` (the same for every
//!   attempt of one build: receivers drop repeats by it), and, when bundles are signed,
//!   `Folio-Signature: ed25519=HEX`, the Ed25519 signature of the body by the bundle signing key (check it
//!   with the public key `folio keygen` printed).
//! - The body is signed as sent; its `assembled_at` is when that attempt's event was made.
//! - Delivered at least once: a build counts as delivered when the webhook answers 2xx (noted in the
//!   database); until then each coordinator sweep tries again, waiting 1 s after the first failure, doubling
//!   to at most 5 minutes.

use folio_bundle::signature::Signer;
use folio_store::{Builds, CatalogueAssembled};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tracing::{info, warn};
use uuid::Uuid;

/// The longest wait between two attempts of one delivery.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long one attempt may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Webhook {
    url: String,
    client: reqwest::Client,
    signer: Option<Signer>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({})", folio_core::redact::url(&self.url))
    }
}

/// Failed deliveries and when each may be tried again: `(catalogue, build) -> (failures, next attempt)`.
pub type DeliveryRetries = HashMap<(Uuid, u32), (u32, Instant)>;

impl Webhook {
    pub fn new(url: &str, signer: Option<Signer>) -> Result<Self, String> {
        let shown = folio_core::redact::url(url);
        let parsed = url::Url::parse(url).map_err(|e| format!("bundle.webhook_url '{shown}': {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("bundle.webhook_url '{shown}': an http:// or https:// URL"));
        }
        // A redirect is an answer, not a place to send the event (and its signature) to.
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("an HTTP client for the webhook: {e}"))?;
        Ok(Self { url: url.to_string(), client, signer })
    }

    /// One attempt: `Ok` when the webhook answered 2xx.
    pub async fn post(&self, event: &CatalogueAssembled) -> Result<(), String> {
        let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("folio-event", CatalogueAssembled::ROUTING_KEY)
            .header("folio-delivery", format!("{}/{}", event.catalogue_id, event.build));
        if let Some(signer) = &self.signer {
            request = request.header("folio-signature", format!("ed25519={}", signer.sign_bytes_hex(&body)));
        }
        // reqwest's errors name the URL, query and all: shown without it.
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| folio_core::redact::text(&e.without_url().to_string()).into_owned())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {}", response.status()))
        }
    }

    /// Delivers every build done and not yet delivered whose backoff has passed.
    pub async fn deliver_pending(
        &self,
        store: &dyn Builds,
        backoff: &mut DeliveryRetries,
    ) -> Result<(), folio_store::StoreError> {
        for (catalogue_id, build) in store.undelivered_webhooks().await? {
            let key = (catalogue_id, build.number);
            if backoff.get(&key).is_some_and(|(_, next)| Instant::now() < *next) {
                continue;
            }
            let event = crate::build::sweep::event_of(catalogue_id, &build);
            match self.post(&event).await {
                Ok(()) => {
                    store.mark_webhook_delivered(catalogue_id, build.number).await?;
                    backoff.remove(&key);
                    info!(%catalogue_id, build = build.number, "webhook delivered");
                }
                Err(why) => {
                    let failures = backoff.get(&key).map_or(0, |(n, _)| *n) + 1;
                    let wait = Duration::from_secs(1u64 << (failures - 1).min(9)).min(MAX_BACKOFF);
                    backoff.insert(key, (failures, Instant::now() + wait));
                    warn!(%catalogue_id, build = build.number, failures, retry_in_secs = wait.as_secs(), error = %why, "webhook not delivered; trying again");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A webhook that answers with a redirect has not taken the event: the redirect is not followed (the
    /// event and its signature go nowhere else), and the delivery counts as failed.
    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        elsewhere.set_nonblocking(true).unwrap();
        let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target = format!("http://{}/stolen", elsewhere.local_addr().unwrap());
        let url = format!("http://{}/hook?token=redirect-test-token", hook.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut stream, _) = hook.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let answer = format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n");
            stream.write_all(answer.as_bytes()).unwrap();
        });
        let webhook = Webhook::new(&url, None).unwrap();
        let event = CatalogueAssembled {
            version: CatalogueAssembled::VERSION,
            catalogue_id: Uuid::nil(),
            build: 1,
            location: "bundles/x/1/".into(),
            manifest_sha256: "00".into(),
            assembled_at: "2012-01-01T00:00:00Z".into(),
        };
        let error = webhook.post(&event).await.unwrap_err();
        assert!(error.contains("307"), "{error}");
        assert!(elsewhere.accept().is_err(), "nothing was sent where the redirect pointed");
        assert!(!format!("{webhook:?}").contains("redirect-test-token"), "Debug hides the URL's query");
    }
}
