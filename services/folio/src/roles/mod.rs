//! The long-running roles: `folio gateway`, `folio worker` and `folio coordinator` for the cluster, and
//! `folio serve`, every role in one process (the embedded default: SQLite, the in-process queue, a blob
//! folder, unless URLs say otherwise). Each stops on SIGTERM or SIGINT: it stops taking work, finishes what is
//! in flight within its grace period, and gives the rest back; its health endpoints answer until it exits.

pub mod backends;
pub mod health;
pub mod process;

use crate::config::Settings;
use crate::{build::sweep, worker::reconciler};
use anyhow::{bail, Context, Result};
use backends::Backends;
use health::Dependencies;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Resolves on the first SIGTERM (how Kubernetes stops a pod) or SIGINT (Ctrl-C).
pub async fn stop_signal() -> Result<&'static str> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => Ok("SIGTERM"),
        r = tokio::signal::ctrl_c() => r.map(|_| "SIGINT").context("installing the SIGINT handler"),
    }
}

/// `folio worker`: runs until a stop signal, or until the queue closes.
pub async fn run_worker(settings: &Settings) -> Result<()> {
    let backends = Backends::open_for_workers(settings).await?;
    backends.require_shared_queue("worker", settings)?;
    let (store, queue) = (backends.store.clone(), backends.queue.clone());

    // `stopping` ends the intake of work (and readiness); `exiting` ends the health endpoints, last.
    let (stopping, exiting) = (CancellationToken::new(), CancellationToken::new());
    let dependencies = Dependencies { store: store.clone(), queue: queue.clone(), stopping: stopping.clone() };
    let health = serve_health(settings, dependencies, exiting.clone()).await?;

    let worker = backends.worker(settings, None)?;
    info!(name = %worker.settings.name, concurrency = worker.settings.concurrency, queue = %folio_core::redact::url(&settings.queue_url), "worker started");
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    let mut running = tokio::spawn(worker.run_with_grace(stopping.clone(), Some(grace)));
    tokio::select! {
        signal = stop_signal() => {
            info!(signal = signal?, grace_secs = grace.as_secs(), "stopping: no new work");
            stopping.cancel();
            (&mut running).await.context("the worker loop failed")?;
        }
        finished = &mut running => {
            finished.context("the worker loop failed")?;
            warn!("the queue closed; the worker stops");
        }
    }
    exiting.cancel();
    end_health(health).await;
    info!("worker stopped");
    Ok(())
}

/// `folio coordinator`: runs the reconciler and the builds until a stop signal.
pub async fn run_coordinator(settings: &Settings) -> Result<()> {
    let backends = Backends::open(settings, 1).await?;
    backends.require_shared_queue("coordinator", settings)?;
    let Backends { store, blobs, queue } = backends;
    let (stopping, exiting) = (CancellationToken::new(), CancellationToken::new());
    let dependencies = Dependencies { store: store.clone(), queue: queue.clone(), stopping: stopping.clone() };
    let health = serve_health(settings, dependencies, exiting.clone()).await?;
    let reconciler = settings.reconciler_settings();
    info!(
        every_secs = reconciler.every.as_secs(),
        resend_after_secs = reconciler.resend_after.as_secs(),
        "coordinator started"
    );
    let builds =
        tokio::spawn(sweep::run(store.clone(), blobs, queue.clone(), settings.build_settings()?, stopping.clone()));
    let mut running = tokio::spawn(reconciler::run(store, queue.clone(), reconciler, stopping.clone()));
    tokio::select! {
        signal = stop_signal() => {
            info!(signal = signal?, "stopping");
            stopping.cancel();
            (&mut running).await.context("the reconciler failed")?;
        }
        finished = &mut running => finished.context("the reconciler failed")?,
    }
    // A build in progress gets the grace period to finish; past it, it is given up: its claim runs out and
    // a coordinator assembles it again.
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    let abort = builds.abort_handle();
    if tokio::time::timeout(grace, builds).await.is_err() {
        abort.abort();
        warn!("a build was still being assembled at the end of the grace period; it will be assembled again");
    }
    queue.close();
    exiting.cancel();
    end_health(health).await;
    info!("coordinator stopped");
    Ok(())
}

/// The gateway's HTTP service on `gateway.listen`, until `stopping` is cancelled (then it finishes the requests
/// in flight).
async fn serve_gateway(
    settings: &Settings,
    store: std::sync::Arc<dyn folio_store::Store>,
    blobs: std::sync::Arc<dyn folio_store::BlobStore>,
    queue: std::sync::Arc<dyn folio_store::WorkQueue>,
    stopping: CancellationToken,
) -> Result<(std::net::SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let addr = &settings.gateway.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("gateway: cannot listen on {addr} (gateway.listen)"))?;
    let local = listener.local_addr()?;
    let gateway_settings = &settings.gateway;
    let mib = |n: u64| n.saturating_mul(1 << 20);
    let limits = crate::gateway::UploadLimits {
        max_request_bytes: usize::try_from(mib(gateway_settings.max_upload_mib)).unwrap_or(usize::MAX),
        max_file_bytes: mib(gateway_settings.max_file_mib),
        max_files: gateway_settings.max_files.clamp(1, crate::intake::uploads::MAX_FILES),
    };
    let tokens = gateway_tokens(settings)?;
    if tokens.is_empty() && !local.ip().is_loopback() {
        bail!(
            "the gateway would answer anyone on {local} with no token configured: set gateway.tokens or \
             FOLIO_GATEWAY_TOKENS (NAME:SCOPE:SECRET), or listen on 127.0.0.1 (see docs/API.md)"
        );
    }
    if tokens.is_empty() {
        warn!(
            "gateway: no token set (gateway.tokens, FOLIO_GATEWAY_TOKENS or FOLIO_GATEWAY_TOKEN): anyone who reaches \
             {local} may read, upload and decide"
        );
    }
    let dependencies = Dependencies { store: store.clone(), queue: queue.clone(), stopping: stopping.clone() };
    let mut builds = settings.build_settings()?;
    builds.name = format!("{}-gateway", builds.name);
    let gateway = crate::gateway::Gateway {
        store,
        blobs,
        queue,
        tokens: std::sync::Arc::new(tokens),
        limits,
        stamps: Default::default(),
        suggestions: Default::default(),
        spool_dir: std::env::temp_dir(),
        builds,
    };
    let app = crate::gateway::router(gateway, dependencies);
    let server =
        tokio::spawn(
            async move { axum::serve(listener, app).with_graceful_shutdown(stopping.cancelled_owned()).await },
        );
    info!(addr = %local, "gateway: HTTP API on /v1, health on /livez and /readyz");
    Ok((local, server))
}

/// The gateway's tokens: `gateway.tokens` and FOLIO_GATEWAY_TOKENS (`NAME:SCOPE:SECRET` each), and the admin
/// token of `gateway.token` or FOLIO_GATEWAY_TOKEN.
fn gateway_tokens(settings: &Settings) -> Result<Vec<crate::gateway::auth::Token>> {
    use crate::gateway::auth::{Scope, Token};
    let from_env = std::env::var("FOLIO_GATEWAY_TOKENS").unwrap_or_default();
    let entries = settings
        .gateway
        .tokens
        .iter()
        .map(String::as_str)
        .chain(from_env.split(|c: char| c == ',' || c.is_whitespace()).filter(|e| !e.is_empty()));
    let mut tokens = Vec::new();
    for entry in entries {
        tokens.push(Token::parse(entry).map_err(|e| anyhow::anyhow!("gateway.tokens / FOLIO_GATEWAY_TOKENS: {e}"))?);
    }
    let admin = std::env::var("FOLIO_GATEWAY_TOKEN").ok().filter(|t| !t.is_empty()).or(settings.gateway.token.clone());
    if let Some(secret) = admin {
        tokens.push(
            Token::new("admin", Scope::Admin, &secret)
                .map_err(|e| anyhow::anyhow!("gateway.token / FOLIO_GATEWAY_TOKEN: {e}"))?,
        );
    }
    Ok(tokens)
}

/// `folio gateway`: the HTTP API, until a stop signal. Uploads go to the shared blob store and database, and
/// their work requests to the shared queue.
pub async fn run_gateway(settings: &Settings) -> Result<()> {
    let backends = Backends::open(settings, 1).await?;
    backends.require_shared_queue("gateway", settings)?;
    let Backends { store, blobs, queue } = backends;
    let stopping = CancellationToken::new();
    let (_, server) = serve_gateway(settings, store, blobs, queue.clone(), stopping.clone()).await?;
    let signal = stop_signal().await?;
    info!(signal, "stopping: finishing the requests in flight");
    stopping.cancel();
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    finish_serving(server, grace).await?;
    queue.close();
    info!("gateway stopped");
    Ok(())
}

/// `folio serve`: the gateway, the workers, the reconciler and the builds in one process, until a stop
/// signal. Calls `started` with the gateway's address once it listens.
pub async fn run_serve(settings: &Settings, started: impl FnOnce(std::net::SocketAddr)) -> Result<()> {
    let backends = Backends::open_for_workers(settings).await?;
    backends.resume_in_process().await?;
    let worker = backends.worker(settings, None)?;
    let Backends { store, blobs, queue } = backends;
    let stopping = CancellationToken::new();
    let (addr, server) = serve_gateway(settings, store.clone(), blobs.clone(), queue.clone(), stopping.clone()).await?;
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    let workers = tokio::spawn(worker.run_with_grace(stopping.clone(), Some(grace)));
    let builds =
        tokio::spawn(sweep::run(store.clone(), blobs, queue.clone(), settings.build_settings()?, stopping.clone()));
    let reconciler =
        tokio::spawn(reconciler::run(store, queue.clone(), settings.reconciler_settings(), stopping.clone()));
    info!(addr = %addr, "serving: gateway, workers, reconciler and builds in one process");
    started(addr);
    let signal = stop_signal().await?;
    info!(signal, grace_secs = grace.as_secs(), "stopping: no new work");
    stopping.cancel();
    finish_serving(server, grace).await?;
    workers.await.context("the workers failed")?;
    reconciler.await.context("the reconciler failed")?;
    let abort = builds.abort_handle();
    if tokio::time::timeout(grace, builds).await.is_err() {
        abort.abort();
        warn!("a build was still being assembled at the end of the grace period; it will be assembled again");
    }
    queue.close();
    info!("stopped");
    Ok(())
}

/// Waits for the HTTP server to finish the requests in flight, for `grace` at most: a request still running
/// then (an editor's assembly, a slow upload) is cut off, so that the process ends within the grace period
/// its orchestrator gives it.
async fn finish_serving(server: tokio::task::JoinHandle<std::io::Result<()>>, grace: Duration) -> Result<()> {
    let abort = server.abort_handle();
    match tokio::time::timeout(grace, server).await {
        Ok(finished) => finished.context("the gateway failed")?.context("the gateway failed"),
        Err(_) => {
            abort.abort();
            warn!(grace_secs = grace.as_secs(), "requests still in flight at the end of the grace period were cut off");
            Ok(())
        }
    }
}

/// Starts the health endpoints on `settings.health_addr`, when set; they answer until `exiting` is cancelled.
async fn serve_health(
    settings: &Settings,
    dependencies: Dependencies,
    exiting: CancellationToken,
) -> Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
    let Some(addr) = &settings.health_addr else { return Ok(None) };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("health endpoints: cannot listen on {addr}"))?;
    info!(addr = %listener.local_addr()?, "health endpoints: /livez, /readyz");
    Ok(Some(tokio::spawn(health::serve(listener, dependencies, exiting))))
}

async fn end_health(health: Option<tokio::task::JoinHandle<std::io::Result<()>>>) {
    if let Some(health) = health {
        if let Ok(Err(e)) = health.await {
            warn!(error = %e, "health endpoints ended with an error");
        }
    }
}
