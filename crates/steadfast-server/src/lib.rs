//! `steadfast serve`: the HTTP API over one ledger, a thin adapter over
//! [`steadfast_app::Service`] as the CLI is. It reads settings ([`settings`]), holds the ledger
//! for this process alone, opens and verifies it, then answers JSON — or an RFC 9457 problem
//! ([`problem`]) whose status is the one the service's error names.
//!
//! The service is synchronous and holds the open ledger: requests take turns on it, each on a
//! blocking thread, so the async workers never wait on the disk.

pub mod params;
pub mod problem;
pub mod routes;
pub mod settings;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::routing::{get, post};
use steadfast_app::{Database, Identity, Progress, Service, ServiceError};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use settings::{Layer, Settings, SettingsError};

/// What every request handler shares: the service over the ledger, and whether requests are
/// being taken.
#[derive(Debug, Clone)]
pub struct AppState {
    pub service: Arc<Mutex<Service>>,
    pub ready: Arc<AtomicBool>,
}

/// Why the server did not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Ledger(#[from] ServiceError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The header each request's id travels in, set when the caller sent none.
pub const REQUEST_ID: &str = "x-request-id";

/// Request ids: a counter, unique within the process (they name a request in the logs).
#[derive(Debug, Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        HeaderValue::from_str(&format!("req-{n}"))
            .ok()
            .map(RequestId::new)
    }
}

/// The API's routes under their paths, with the settings' limits, request ids and tracing.
pub fn router(state: AppState, settings: &Settings) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID);
    let api = Router::new()
        .route("/log/head", get(routes::log_head))
        .route("/parties", get(routes::parties))
        .route("/frameworks", get(routes::frameworks))
        .route("/frameworks/{id}", get(routes::framework))
        .route("/datasets", get(routes::datasets))
        .route("/datasets/{id}", get(routes::dataset))
        .route("/contributions", get(routes::contributions))
        .route("/contributions/{id}", get(routes::contribution))
        .route("/reports/fair-share", get(routes::fair_share))
        .route("/reports/gaps", get(routes::gaps))
        .route("/reports/anomalies", get(routes::anomalies))
        .route("/reports/reconcile", get(routes::reconcile))
        .route("/tokens", get(routes::tokens).post(routes::create_token))
        .route("/tokens/{id}/revoke", post(routes::revoke_token));
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .nest("/api/v1", api)
        .fallback(routes::not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        // Each request's span names its id, method and path; headers are never logged (a
        // token travels in one).
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                .make_span_with(|request: &Request<_>| {
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!(
                        "request",
                        id = %id,
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, Counter::default()))
}

/// Serves `database` with `settings` until `stop` resolves, then gives the requests in flight
/// `settings.shutdown_grace` to finish. `listening` is told the address once requests are
/// taken (the port the system chose, when the settings ask for port 0).
pub async fn serve(
    database: Database,
    settings: Settings,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
    listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let settings = settings.checked()?;
    let mut service = Service::new(database);
    // One serving process per ledger: a second one is refused here, before anything else.
    let _lock = service.hold_for_serving()?;
    // Opened and verified before the first request: a corrupt or missing ledger is said now.
    let anonymous = Identity::anonymous();
    let (service, head) = tokio::task::spawn_blocking(move || {
        let head = service.log_head(&anonymous, &Progress::new());
        (service, head)
    })
    .await
    .map_err(|e| ServeError::Io(std::io::Error::other(e)))?;
    let head = head?;
    tracing::info!(position = head.position, hash = %head.hash, "ledger opened and verified");
    let state = AppState {
        service: Arc::new(Mutex::new(service)),
        ready: Arc::new(AtomicBool::new(false)),
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: settings.listen,
            source,
        })?;
    let address = listener.local_addr()?;
    let app = router(state.clone(), &settings);
    state.ready.store(true, Ordering::Release);
    listening(address);
    tracing::info!(%address, "listening");
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let ready = Arc::clone(&state.ready);
    let graceful = axum::serve(listener, app).with_graceful_shutdown(async move {
        stop.await;
        ready.store(false, Ordering::Release);
        tracing::info!("stopping: no new requests; finishing those in flight");
        let _ = stopping_tx.send(());
    });
    let grace = settings.shutdown_grace;
    let served = tokio::spawn(async move { graceful.await });
    let mut served = std::pin::pin!(served);
    tokio::select! {
        result = &mut served => return result.map_err(|e| ServeError::Io(std::io::Error::other(e)))?.map_err(ServeError::Io),
        _ = stopping_rx => {}
    }
    match tokio::time::timeout(grace, &mut served).await {
        Ok(result) => result
            .map_err(|e| ServeError::Io(std::io::Error::other(e)))?
            .map_err(ServeError::Io),
        Err(_) => {
            tracing::warn!(
                ?grace,
                "requests still in flight after the grace period; stopping"
            );
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Serves `database` from the command line: logs as JSON lines on standard error, says the
/// address on standard output once requests are taken, and stops on Ctrl-C or SIGTERM.
pub fn run(database: Database, settings: Settings) -> Result<(), ServeError> {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STEADFAST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(database, settings, stop_signal(), |address| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{address}");
        let _ = out.flush();
    }))
}
