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
use folio_store::{CatalogueAssembled, Store};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tracing::{info, warn};
use uuid::Uuid;

/// The longest wait between two attempts of one delivery.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long one attempt may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct Webhook {
    url: String,
    client: reqwest::Client,
    signer: Option<Signer>,
}

/// Failed deliveries and when each may be tried again: `(catalogue, build) -> (failures, next attempt)`.
pub type Backoff = HashMap<(Uuid, u32), (u32, Instant)>;

impl Webhook {
    pub fn new(url: &str, signer: Option<Signer>) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("bundle.webhook_url '{url}': {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("bundle.webhook_url '{url}': an http:// or https:// URL"));
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
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
        let response = request.body(body).send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {}", response.status()))
        }
    }

    /// Delivers every build done and not yet delivered whose backoff has passed.
    pub async fn deliver_pending(
        &self,
        store: &dyn Store,
        backoff: &mut Backoff,
    ) -> Result<(), folio_store::StoreError> {
        for (catalogue_id, build) in store.undelivered_webhooks().await? {
            let key = (catalogue_id, build.number);
            if backoff.get(&key).is_some_and(|(_, next)| Instant::now() < *next) {
                continue;
            }
            let event = crate::builds::event_of(catalogue_id, &build);
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
