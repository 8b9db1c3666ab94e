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
use tokio_util::task::TaskTracker;
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

/// The roles a process runs: one of the cluster's, or all of them (`folio serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `folio gateway`: the HTTP API. Uploads go to the shared blob store and database, and their work requests
    /// to the shared queue.
    Gateway,
    /// `folio worker`: takes work requests from the queue and writes records, until a stop signal or until the
    /// queue closes.
    Worker,
    /// `folio coordinator`: the reconciler and the builds.
    Coordinator,
    /// `folio serve`: the gateway, the workers, the reconciler and the builds in one process.
    Serve,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::Worker => "worker",
            Self::Coordinator => "coordinator",
            Self::Serve => "serve",
        }
    }
    fn serves_http(self) -> bool {
        matches!(self, Self::Gateway | Self::Serve)
    }
    fn works(self) -> bool {
        matches!(self, Self::Worker | Self::Serve)
    }
    fn coordinates(self) -> bool {
        matches!(self, Self::Coordinator | Self::Serve)
    }
}

/// How a process stops, passed down as one value (as mini-redis passes its shutdown): `stopping` ends the intake
/// of work in every loop that watches it, and every task a role starts is spawned on `tasks`, so that stopping
/// waits for them. `exiting` ends the health endpoints, last.
#[derive(Clone)]
pub struct Shutdown {
    pub stopping: CancellationToken,
    pub exiting: CancellationToken,
    pub tasks: TaskTracker,
    /// How long work in flight has to finish once `stopping` is cancelled (`worker.shutdown_grace_secs`).
    pub grace: Duration,
}

impl Shutdown {
    pub fn new(grace: Duration) -> Self {
        Self { stopping: CancellationToken::new(), exiting: CancellationToken::new(), tasks: TaskTracker::new(), grace }
    }

    /// Cancels `stopping` and waits for the tasks. The workers bound themselves (what is in flight past the
    /// grace period is given back to the queue); a build still being assembled past it is given up (its claim
    /// runs out and a coordinator assembles it again), so that the process ends within the time its
    /// orchestrator gives it.
    pub async fn stop(&self) {
        self.stopping.cancel();
        self.tasks.close();
        if tokio::time::timeout(self.grace + GIVE_BACK_TIME, self.tasks.wait()).await.is_err() {
            warn!(
                grace_secs = self.grace.as_secs(),
                "work still running at the end of the grace period was given up; it will be done again"
            );
        }
    }
}

/// What a worker gets beyond the grace period to give back the documents it abandons (release their claims,
/// return their messages to the queue).
const GIVE_BACK_TIME: Duration = Duration::from_secs(10);

/// Runs `role` until a stop signal (or, for a worker, until the queue closes): the one start-up of every
/// long-running role. Calls `started` with the gateway's address once it listens.
pub async fn run(settings: &Settings, role: Role, started: impl FnOnce(std::net::SocketAddr)) -> Result<()> {
    let backends =
        if role.works() { Backends::open_for_workers(settings).await? } else { Backends::open(settings, 1).await? };
    if role == Role::Serve {
        backends.resume_in_process().await?;
    } else {
        backends.require_shared_queue(role.name(), settings)?;
    }
    let shutdown = Shutdown::new(Duration::from_secs(settings.worker.shutdown_grace_secs));
    // Probes and metrics on `health_addr`, when set (the cluster's way: a port of their own, not exposed);
    // otherwise the gateway answers them on its own port beside the API.
    let health = serve_health(settings, backends.dependencies(&shutdown), shutdown.exiting.clone()).await?;
    let server = match role.serves_http() {
        true => {
            let (addr, server) = serve_gateway(settings, &backends, &shutdown).await?;
            started(addr);
            Some(server)
        }
        false => None,
    };
    let workers = match role.works() {
        true => {
            let worker = backends.worker(settings, None)?;
            let (name, concurrency) = (worker.settings.name.clone(), worker.settings.concurrency);
            info!(%name, concurrency, queue = %folio_core::redact::url(&settings.queue_url), "workers started");
            Some(shutdown.tasks.spawn(worker.run_with_grace(shutdown.stopping.clone(), Some(shutdown.grace))))
        }
        false => None,
    };
    if role.coordinates() {
        let Backends { store, blobs, queue } = backends.clone();
        let reconciler = settings.reconciler_settings();
        info!(
            every_secs = reconciler.every.as_secs(),
            resend_after_secs = reconciler.resend_after.as_secs(),
            "reconciler and builds started"
        );
        let builds = settings.build_settings()?;
        shutdown.tasks.spawn(sweep::run(store.clone(), blobs, queue.clone(), builds, shutdown.stopping.clone()));
        shutdown.tasks.spawn(reconciler::run(store, queue, reconciler, shutdown.stopping.clone()));
    }
    info!(role = role.name(), "started");
    let queue_closed = async {
        match workers {
            Some(workers) => {
                let _ = workers.await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        signal = stop_signal() => info!(signal = signal?, grace_secs = shutdown.grace.as_secs(), "stopping: no new work"),
        () = queue_closed => warn!("the queue closed; stopping"),
    }
    shutdown.stopping.cancel();
    if let Some(server) = server {
        finish_serving(server, shutdown.grace).await?;
    }
    shutdown.stop().await;
    backends.queue.close();
    shutdown.exiting.cancel();
    end_health(health).await;
    info!(role = role.name(), "stopped");
    Ok(())
}

/// The gateway's HTTP service on `gateway.listen`, until `stopping` is cancelled (then it finishes the requests
/// in flight).
async fn serve_gateway(
    settings: &Settings,
    backends: &Backends,
    shutdown: &Shutdown,
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
    let dependencies = backends.dependencies(shutdown);
    let Backends { store, blobs, queue } = backends.clone();
    let stopping = shutdown.stopping.clone();
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
        edge: gateway_settings.edge(),
    };
    let health = settings.health_addr.is_none().then_some(dependencies);
    let health_here = health.is_some();
    let app = crate::gateway::router(gateway, health);
    let server =
        tokio::spawn(crate::gateway::server::serve(listener, app, gateway_settings.header_timeout(), stopping));
    match health_here {
        true => info!(addr = %local, "gateway: HTTP API on /v1, health on /livez, /readyz and /metrics"),
        false => info!(addr = %local, "gateway: HTTP API on /v1 (health and metrics on health_addr)"),
    }
    Ok((local, server))
}

/// The gateway's tokens: `gateway.tokens` and FOLIO_GATEWAY_TOKENS (`NAME:SCOPE:SECRET` each), and the admin
/// token of `gateway.token` or FOLIO_GATEWAY_TOKEN; each variable may instead name a file (`…_FILE`), as a
/// mounted Secret. Every token's secret is registered for redaction.
fn gateway_tokens(settings: &Settings) -> Result<Vec<crate::gateway::auth::Token>> {
    use crate::gateway::auth::{Scope, Token};
    let from_env =
        folio_core::redact::env_secret("FOLIO_GATEWAY_TOKENS").map_err(anyhow::Error::msg)?.unwrap_or_default();
    let entries = settings
        .gateway
        .tokens
        .iter()
        .map(String::as_str)
        .chain(from_env.split(|c: char| c == ',' || c.is_whitespace()).filter(|e| !e.is_empty()));
    let mut tokens = Vec::new();
    for entry in entries {
        if let Some(secret) = entry.splitn(3, ':').nth(2) {
            folio_core::redact::register(secret);
        }
        tokens.push(Token::parse(entry).map_err(|e| anyhow::anyhow!("gateway.tokens / FOLIO_GATEWAY_TOKENS: {e}"))?);
    }
    let admin = folio_core::redact::env_secret("FOLIO_GATEWAY_TOKEN")
        .map_err(anyhow::Error::msg)?
        .or(settings.gateway.token.clone());
    if let Some(secret) = admin {
        folio_core::redact::register(&secret);
        tokens.push(
            Token::new("admin", Scope::Admin, &secret)
                .map_err(|e| anyhow::anyhow!("gateway.token / FOLIO_GATEWAY_TOKEN: {e}"))?,
        );
    }
    Ok(tokens)
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
