//! Builds the running server from a [`Config`]: database (migrated), Redis,
//! token keys, rate limiter, mail worker, GraphQL schema and HTTP routes.

use std::{ops::Deref, sync::Arc, time::Duration};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sea_orm::DbBackend;
use tokio::{
    net::TcpListener,
    sync::{Notify, watch},
};

use crate::{
    auth::TokenKeys,
    cache::Cache,
    config::{Config, Environment},
    db,
    deps::Deps,
    graphql::{self, AppExecutor, persisted::Persisted, rendered::Renders},
    http,
    mail::Mailer,
    metrics::Metrics,
    modules::media::store::MediaStore,
    ratelimit::RateLimiter,
    realtime::{bus::Bus, feeds::Feeds, reads::SharedReads, relay::Relay},
    telemetry::traces::Traces,
};

/// What every request and service shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The services' [`Deps`] (reached through `Deref`), and what only the
/// assembly uses.
pub struct Shared {
    pub deps: Deps,
    pub redis: Option<ConnectionManager>,
    pub metrics: Metrics,
    pub media: MediaStore,
    pub bus: Bus,
    /// Subscriptions woken by one event share their database reads.
    pub reads: SharedReads,
    /// Subscriptions to an entry read each of its new versions once per process.
    pub feeds: Feeds,
    /// ... and the rendering of the items they deliver.
    pub renders: Renders,
    /// Spans of operations and their statements, when exported.
    pub traces: Traces,
}

impl Deref for Shared {
    type Target = Deps;
    fn deref(&self) -> &Deps {
        &self.deps
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct App {
    pub state: AppState,
    pub schema: AppExecutor,
    mailer: Mailer,
    relay: Relay,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let keys = TokenKeys::from_config(&config)?;
        let persisted = Persisted::load(config.trusted_documents, &config.trusted_documents_dir())?;
        let metrics = Metrics::default();
        let traces = Traces::new(config.otel_exporter_otlp_endpoint.as_deref(), &config.otel_service_name)?;

        let mut db = db::connect(&config, 16).await?;
        db::migrate(&db).await?;
        let (counter, statements) = (metrics.db_statements.clone(), traces.clone());
        db.set_metric_callback(move |info| {
            counter.inc();
            statements.statement(info);
        });
        // Background work gets its own small pool: it never starves requests,
        // and request metrics count request statements only.
        let background_db = db::connect(&config, 2).await?;

        match (&config.database_url, config.environment()) {
            (None, _) => tracing::info!(file = %config.sqlite_path().display(), "data is in an embedded SQLite file"),
            (Some(_), _) => tracing::info!(backend = ?db.get_database_backend(), "connected to the database"),
        }
        if config.environment() == Environment::Development {
            tracing::warn!("running in development mode: do not expose this server");
        }

        let (redis, bus) = match &config.redis_url {
            Some(url) => {
                let client = redis::Client::open(url.as_str())?;
                let options = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(Duration::from_secs(2)))
                    .set_number_of_retries(2);
                tracing::info!("using Redis for the event bus and shared rate limits");
                let conn = ConnectionManager::new_lazy_with_config(client.clone(), options)?;
                (Some(conn.clone()), Bus::new(Some((client, conn, &config.redis_prefix))))
            }
            None => {
                tracing::info!("REDIS_URL is not set: in-process event bus, per-process rate limits");
                (None, Bus::new(None))
            }
        };
        let limiter = RateLimiter::new(
            redis.clone().map(|conn| (conn, config.redis_prefix.clone())),
            Duration::from_secs(config.rate_limit_window_secs),
        );

        let cache = Cache::new(
            redis.clone().map(|conn| (conn, config.redis_prefix.clone())),
            Duration::from_secs(config.cache_ttl_secs),
            10_000,
        );

        let media = MediaStore::from_config(&config)?;
        let mail_wake = Arc::new(Notify::new());
        let relay = Relay {
            db: background_db.clone(),
            bus: bus.clone(),
            interval: Duration::from_millis(config.relay_interval_ms),
            retention: chrono::Duration::hours(config.outbox_retention_hours),
            listen: (db.get_database_backend() == DbBackend::Postgres).then(|| config.database_url()),
        };
        let mailer = Mailer::new(&config, background_db, mail_wake.clone())?;
        let state = AppState(Arc::new(Shared {
            deps: Deps { config, db, keys, limiter, cache, mail_wake },
            redis,
            metrics,
            media,
            bus,
            reads: SharedReads::default(),
            feeds: Feeds::default(),
            renders: Renders::default(),
            traces,
        }));
        let schema = graphql::AppExecutor::new(state.clone(), persisted);
        Ok(Self { state, schema, mailer, relay })
    }

    /// Serves until `shutdown` resolves, then stops gracefully: no new
    /// connections, WebSockets closed with 1001 (clients resume elsewhere),
    /// requests in flight finished within `XPR_SHUTDOWN_GRACE_SECS`, and the
    /// outbox relay's last batch published, and the last traces exported. The mail worker and the relay
    /// run beside it.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %listener.local_addr()?, "listening");
        let grace = Duration::from_secs(self.state.config.shutdown_grace_secs);
        let listener = send_timeout(listener, Duration::from_secs(self.state.config.ws_send_timeout_secs.max(1)));
        let worker = tokio::spawn(self.mailer.run());
        let flush = self.relay.clone();
        let traces = self.state.traces.clone();
        let relay = tokio::spawn(self.relay.run());
        let (stopping, stopped) = watch::channel(false);
        let router = http::router(self.state, self.schema, stopped.clone());
        let server = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!(grace_secs = grace.as_secs(), "shutting down: finishing requests in flight");
                stopping.send_replace(true);
            });
        let mut signalled = stopped;
        let result = tokio::select! {
            result = server => result,
            () = async {
                let _ = signalled.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!("grace period over: dropping what is still open");
                Ok(())
            }
        };
        worker.abort();
        relay.abort();
        flush.flush().await;
        traces.shutdown().await;
        tracing::info!("stopped");
        Ok(result?)
    }
}

/// Every accepted connection is dropped by the kernel once data it was sent
/// stays unacknowledged, or its window stays shut, for `timeout`
/// (`TCP_USER_TIMEOUT`): a dead client, or one that stopped reading, can't
/// hold an event stream (whose writes hyper drives, out of our reach) or a
/// response forever. Idle connections are not affected. WebSockets also time
/// each write themselves (`http::websocket`).
fn send_timeout(
    listener: TcpListener,
    timeout: Duration,
) -> axum::serve::TapIo<TcpListener, impl FnMut(&mut tokio::net::TcpStream) + Send + 'static> {
    use axum::serve::ListenerExt;
    listener.tap_io(move |tcp| {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Err(err) = socket2::SockRef::from(&*tcp).set_tcp_user_timeout(Some(timeout)) {
            tracing::debug!(error = %err, "TCP_USER_TIMEOUT not set");
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = (tcp, timeout);
    })
}
