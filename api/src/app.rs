//! Builds the running server from a [`Config`]: database (migrated), Redis,
//! token keys, rate limiter, mail worker, GraphQL schema and HTTP routes.

use std::{ops::Deref, sync::Arc, time::Duration};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sea_orm::DatabaseConnection;
use tokio::{net::TcpListener, sync::Notify};

use crate::{
    auth::TokenKeys,
    cache::Cache,
    config::{Config, Environment},
    db,
    graphql::{self, AppSchema},
    http,
    mail::Mailer,
    metrics::Metrics,
    modules::media::store::MediaStore,
    ratelimit::RateLimiter,
};

/// What every request and service shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub db: DatabaseConnection,
    pub redis: Option<ConnectionManager>,
    pub keys: TokenKeys,
    pub limiter: RateLimiter,
    pub cache: Cache,
    pub metrics: Metrics,
    pub media: MediaStore,
    /// Wakes the mail worker after a service committed a mail to the outbox.
    pub mail_wake: Arc<Notify>,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct App {
    pub state: AppState,
    pub schema: AppSchema,
    mailer: Mailer,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let keys = TokenKeys::from_config(&config)?;
        let metrics = Metrics::default();

        let mut db = db::connect(&config, 16).await?;
        db::migrate(&db).await?;
        let counter = metrics.db_statements.clone();
        db.set_metric_callback(move |_| {
            counter.inc();
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

        let redis = match &config.redis_url {
            Some(url) => {
                let client = redis::Client::open(url.as_str())?;
                let options = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(Duration::from_secs(2)))
                    .set_number_of_retries(2);
                tracing::info!("using Redis for the event bus and shared rate limits");
                Some(ConnectionManager::new_lazy_with_config(client, options)?)
            }
            None => {
                tracing::info!("REDIS_URL is not set: in-process event bus, per-process rate limits");
                None
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
        let mailer = Mailer::new(&config, background_db, mail_wake.clone())?;
        let state = AppState(Arc::new(Shared { config, db, redis, keys, limiter, cache, metrics, media, mail_wake }));
        let schema = graphql::build_schema(state.clone());
        Ok(Self { state, schema, mailer })
    }

    /// Serves until `shutdown` resolves; the mail worker runs beside it.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %listener.local_addr()?, "listening");
        let worker = tokio::spawn(self.mailer.run());
        let router = http::router(self.state, self.schema);
        let result = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        worker.abort();
        Ok(result?)
    }
}
