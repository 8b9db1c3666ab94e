//! The cluster roles, each a long-running process: `folio worker` and `folio coordinator` (and, as it lands,
//! the gateway). Each stops on SIGTERM or SIGINT: it stops taking work, finishes what is in flight within its
//! grace period, and gives the rest back; its health endpoints answer until it exits.

use crate::config::Settings;
use crate::health::{self, Dependencies};
use crate::worker::Worker;
use crate::{builds, reconciler};
use anyhow::{bail, Context, Result};
use folio_store::{open_blobs, open_queue, open_store};
use std::time::Duration;
use tokio::sync::watch;
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
    let store = open_store(&settings.database_url()).await.context("opening the database")?;
    let blobs = open_blobs(&settings.blob_url()).context("opening the blob store")?;
    let prefetch = u16::try_from(settings.concurrency()).unwrap_or(u16::MAX);
    let queue = open_queue(&settings.queue_url, prefetch).await.context("opening the queue")?;
    if queue.is_in_process() {
        bail!(
            "folio worker takes work from a shared queue, and {} is this process's own: set FOLIO_QUEUE_URL (amqp://...), \
             or use `folio process`, which runs every role in one process",
            settings.queue_url
        );
    }

    // `stopping` ends the intake of work (and readiness); `exiting` ends the health endpoints, last.
    let (stop, stopping) = watch::channel(false);
    let (exit, exiting) = watch::channel(false);
    let dependencies = Dependencies { store: store.clone(), queue: queue.clone(), stopping: stopping.clone() };
    let health = serve_health(settings, dependencies, exiting).await?;

    let worker = Worker {
        store,
        blobs,
        queue: queue.clone(),
        sandbox: settings.sandbox()?,
        settings: settings.worker_settings(),
        events: None,
    };
    info!(name = %worker.settings.name, concurrency = worker.settings.concurrency, queue = %settings.queue_url, "worker started");
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);
    let mut running = tokio::spawn(worker.run_with_grace(stopping, Some(grace)));
    tokio::select! {
        signal = stop_signal() => {
            info!(signal = signal?, grace_secs = grace.as_secs(), "stopping: no new work");
            let _ = stop.send(true);
            (&mut running).await.context("the worker loop failed")?;
        }
        finished = &mut running => {
            finished.context("the worker loop failed")?;
            warn!("the queue closed; the worker stops");
        }
    }
    let _ = exit.send(true);
    end_health(health).await;
    info!("worker stopped");
    Ok(())
}

/// `folio coordinator`: runs the reconciler and the builds until a stop signal.
pub async fn run_coordinator(settings: &Settings) -> Result<()> {
    let store = open_store(&settings.database_url()).await.context("opening the database")?;
    let blobs = open_blobs(&settings.blob_url()).context("opening the blob store")?;
    let queue = open_queue(&settings.queue_url, 1).await.context("opening the queue")?;
    if queue.is_in_process() {
        bail!(
            "folio coordinator works with workers in other processes through a shared queue, and {} is this \
             process's own: set FOLIO_QUEUE_URL (amqp://...), or use `folio process`, which runs every role in one \
             process",
            settings.queue_url
        );
    }
    let (stop, stopping) = watch::channel(false);
    let (exit, exiting) = watch::channel(false);
    let dependencies = Dependencies { store: store.clone(), queue: queue.clone(), stopping: stopping.clone() };
    let health = serve_health(settings, dependencies, exiting).await?;
    let reconciler = settings.reconciler_settings();
    info!(
        every_secs = reconciler.every.as_secs(),
        resend_after_secs = reconciler.resend_after.as_secs(),
        "coordinator started"
    );
    let builds =
        tokio::spawn(builds::run(store.clone(), blobs, queue.clone(), settings.build_settings(), stopping.clone()));
    let mut running = tokio::spawn(reconciler::run(store, queue.clone(), reconciler, stopping));
    tokio::select! {
        signal = stop_signal() => {
            info!(signal = signal?, "stopping");
            let _ = stop.send(true);
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
    let _ = exit.send(true);
    end_health(health).await;
    info!("coordinator stopped");
    Ok(())
}

/// Starts the health endpoints on `settings.health_addr`, when set; they answer until `exiting` turns true.
async fn serve_health(
    settings: &Settings,
    dependencies: Dependencies,
    exiting: watch::Receiver<bool>,
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
