//! The coordinator's builds in cluster mode: it follows every catalogue in the database and, once each of its
//! chapters has cleared processing, assembles the catalogue, exactly once per change of its inputs (their
//! stamp, [`inputs::input_stamp`]), even with several coordinators (a claim in the database decides
//! which one). The bundle goes to the blob store under `bundles/<catalogue id>/<build>/`; the build is then
//! announced with a `catalogue.assembled` event, at least once: a build done but not yet confirmed is
//! announced again by the next sweep.

use crate::build::assemble::{book_date, build_into, claim, BundleJob, BundleSink, Claimed};
use crate::build::inputs;
use anyhow::Result;
use folio_store::{BlobStore, CatalogueAssembled, Store, WorkQueue};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct BuildSettings {
    /// This coordinator's name, held in its build claims.
    pub name: String,
    /// Time between sweeps.
    pub every: Duration,
    /// How long a build claim holds: another coordinator takes over a build whose coordinator died after
    /// this long.
    pub lease: Duration,
    /// The blob store's URL, for the `location` of bundles (without a password).
    pub blob_url: String,
    /// Bundles are signed with this key, when set.
    pub signer: Option<folio_bundle::signature::Signer>,
    /// Where each build is announced over HTTP too, when set.
    pub webhook: Option<crate::build::webhook::Webhook>,
}

/// One build made by a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub catalogue_id: Uuid,
    pub build: u32,
    pub location: String,
}

/// The stamps of the catalogues' inputs, with the change marker each was read at
/// ([`folio_store::Store::change_marker`]): a catalogue is read whole again only when its marker moved.
pub type StampCache = HashMap<Uuid, (String, String)>;

/// The stamp of a catalogue's inputs as they stand, read again only when its change marker moved since the
/// stamp in `cache` was made.
pub async fn current_stamp(
    store: &dyn Store,
    catalogue_id: Uuid,
    cache: &tokio::sync::Mutex<StampCache>,
) -> Result<String, folio_store::StoreError> {
    let marker = store.change_marker(catalogue_id).await?;
    if let Some((read_at, stamp)) = cache.lock().await.get(&catalogue_id) {
        if *read_at == marker {
            return Ok(stamp.clone());
        }
    }
    let stamp = inputs::input_stamp(store, catalogue_id).await?;
    // Kept only when nothing moved while it was read.
    if store.change_marker(catalogue_id).await? == marker {
        cache.lock().await.insert(catalogue_id, (marker, stamp.clone()));
    }
    Ok(stamp)
}

/// What asking for a build of one catalogue came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Built(Built),
    /// The latest build (this number) was made from the same inputs.
    Unchanged(u32),
    /// Not every chapter has cleared processing (or the catalogue has no documents yet).
    NotCleared,
    /// The inputs moved while they were read, or another coordinator is assembling them now.
    Busy,
}

/// Assembles every catalogue that has cleared and changed since its last build, then announces every build
/// not yet announced. Returns the builds it made.
pub async fn sweep(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    queue: &dyn WorkQueue,
    s: &BuildSettings,
    stamps: &mut StampCache,
) -> Result<Vec<Built>> {
    let mut built = Vec::new();
    for catalogue_id in store.catalogue_ids().await? {
        match build_if_changed(store, blobs, s, catalogue_id, stamps).await {
            Ok(Outcome::Built(b)) => built.push(b),
            Ok(_) => {}
            // The claim was given back (or, where it could not be, runs out with its lease): the next sweep,
            // this coordinator's or another's, tries again.
            Err(e) => warn!(%catalogue_id, error = %format!("{e:#}"), "assembly failed; tried again at the next sweep"),
        }
    }
    announce(store, queue).await?;
    Ok(built)
}

/// Assembles one catalogue now, as the coordinator would once it sees it cleared (the same claim, so a
/// change is built once whoever asks), and announces the build: an editor's "assemble" on the gateway.
pub async fn assemble_now(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    queue: &dyn WorkQueue,
    s: &BuildSettings,
    catalogue_id: Uuid,
) -> Result<Outcome> {
    let outcome = build_if_changed(store, blobs, s, catalogue_id, &mut StampCache::new()).await?;
    if matches!(outcome, Outcome::Built(_)) {
        announce(store, queue).await?;
    }
    Ok(outcome)
}

async fn build_if_changed(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    s: &BuildSettings,
    catalogue_id: Uuid,
    stamps: &mut StampCache,
) -> Result<Outcome> {
    let progress = store.progress(catalogue_id).await?;
    // Nothing to build before every chapter has cleared, nor for a catalogue without documents.
    if !progress.iter().all(|p| p.cleared()) || progress.iter().all(|p| p.documents == 0) {
        return Ok(Outcome::NotCleared);
    }
    let marker = store.change_marker(catalogue_id).await?;
    let stamp = match stamps.get(&catalogue_id) {
        Some((read_at, stamp)) if *read_at == marker => stamp.clone(),
        _ => {
            // The stamp is read in several queries; an intake committing between them would give a mixed
            // stamp. A catalogue whose marker moved meanwhile is left for the next sweep.
            let stamp = inputs::input_stamp(store, catalogue_id).await?;
            if store.change_marker(catalogue_id).await? != marker {
                return Ok(Outcome::Busy);
            }
            stamps.insert(catalogue_id, (marker, stamp.clone()));
            stamp
        }
    };
    let number = match claim(store, catalogue_id, &stamp, &s.name, s.lease).await? {
        Claimed::New(number) => number,
        Claimed::Unchanged(number) => return Ok(Outcome::Unchanged(number)),
        Claimed::Busy => return Ok(Outcome::Busy),
    };
    let span = tracing::info_span!("build", %catalogue_id, build = number);
    let location = match build(store, blobs, catalogue_id, number, s).instrument(span).await {
        Ok(location) => location,
        Err(e) => {
            // Given back, so that the next sweep tries again (a database or object store that was away for a
            // moment) rather than after the claim's lease; where it cannot be given back, the lease runs out.
            if let Err(release) = store.release_build(catalogue_id, number, &s.name).await {
                warn!(%catalogue_id, build = number, error = %release, "could not give the build's claim back");
            }
            return Err(e);
        }
    };
    crate::metrics::build_assembled();
    Ok(Outcome::Built(Built { catalogue_id, build: number, location }))
}

/// Assembles build `number` of the catalogue into the blob store, under `bundles/<catalogue>/<build>/`, and
/// marks it done; returns its location.
async fn build(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    catalogue_id: Uuid,
    number: u32,
    s: &BuildSettings,
) -> Result<String> {
    info!("assembling");
    let findings = inputs::evaluate(store, catalogue_id).await?;
    let job = BundleJob { catalogue_id, findings, date: book_date(), signer: s.signer.as_ref() };
    let prefix = format!("bundles/{catalogue_id}/{number}");
    let location = bundle_location(&s.blob_url, &prefix);
    let sink = BundleSink::blobs(blobs, prefix)?;
    let summary = build_into(store, blobs, job, (number, false), (&s.name, sink, &location)).await?;
    info!(%location, included = summary.included, left_out = summary.left_out.len(), changed = !summary.changes.is_empty(), "assembled");
    Ok(location)
}

/// Where a bundle under `prefix` is, as events and the API show it: in object storage, its URL
/// (`s3://BUCKET/PREFIX/bundles/…/`, without the URL's query); in a local blob folder, its key
/// (`bundles/…/`), never a path on the server.
pub fn bundle_location(blob_url: &str, prefix: &str) -> String {
    let base = blob_url.split('?').next().unwrap_or_default().trim_end_matches('/');
    if base.starts_with("s3://") {
        format!("{base}/{prefix}/")
    } else {
        format!("{prefix}/")
    }
}

/// A build's location as the API and events show it: an object storage URL or a blob key as kept, and of a
/// folder on the server (a `folio process` build) only its name.
pub fn shown_location(location: &str) -> String {
    if location.starts_with('/') || location.starts_with("file:") {
        match location.find("bundles/") {
            Some(at) => location[at..].to_string(),
            None => {
                std::path::Path::new(location).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            }
        }
    } else {
        folio_core::redact::url(location)
    }
}

/// The `catalogue.assembled` event of a build.
pub fn event_of(catalogue_id: Uuid, build: &folio_store::BuildRow) -> CatalogueAssembled {
    CatalogueAssembled {
        version: CatalogueAssembled::VERSION,
        catalogue_id,
        build: build.number,
        location: shown_location(&build.location),
        manifest_sha256: build.manifest_sha256.clone(),
        assembled_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Publishes `catalogue.assembled` for every build done but not announced, and notes each once confirmed.
async fn announce(store: &dyn Store, queue: &dyn WorkQueue) -> Result<()> {
    for (catalogue_id, build) in store.unannounced_builds().await? {
        let event = event_of(catalogue_id, &build);
        let body = serde_json::to_vec(&event)?;
        let message_id = format!("{catalogue_id}/{}", build.number);
        queue.publish_event(CatalogueAssembled::ROUTING_KEY, &message_id, &body).await?;
        store.mark_announced(catalogue_id, build.number).await?;
        info!(%catalogue_id, build = build.number, location = %build.location, "announced catalogue.assembled");
    }
    Ok(())
}

/// Sweeps every `settings.every` until `stop` is cancelled; errors are logged and the next sweep tries again.
pub async fn run(
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    queue: Arc<dyn WorkQueue>,
    settings: BuildSettings,
    stop: CancellationToken,
) {
    let mut stamps = StampCache::new();
    let mut backoff = crate::build::webhook::DeliveryRetries::new();
    loop {
        if let Err(e) = sweep(store.as_ref(), blobs.as_ref(), queue.as_ref(), &settings, &mut stamps).await {
            warn!(error = %format!("{e:#}"), "build sweep failed; trying again at the next");
        }
        if let Some(webhook) = &settings.webhook {
            if let Err(e) = webhook.deliver_pending(store.as_ref(), &mut backoff).await {
                warn!(error = %e, "webhook deliveries: database unavailable; trying again at the next sweep");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.every) => {}
            () = stop.cancelled() => return,
        }
    }
}
