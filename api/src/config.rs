//! Configuration: one typed struct read once from the environment (or flags)
//! at start, with defaults, validated before anything starts.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, ValueEnum};
use secrecy::SecretString;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where uploaded media are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MediaStoreKind {
    /// Files under `<data dir>/media`.
    Local,
    /// An S3-compatible bucket.
    S3,
}

/// Which documents may run: see `graphql::persisted` and ADR 0023.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TrustedDocuments {
    /// No manifests: every request may send text (ids resolve from the APQ cache only).
    Off,
    /// Manifest ids and free text.
    Allow,
    /// Only manifest ids, except for requests authenticated by an API token.
    Require,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// Every setting of the server. The README's configuration table mirrors this.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Database URL: `postgres://…` or `sqlite://…`. Unset: an SQLite file in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Redis URL (`redis://…`) for the event bus and shared rate limits. Unset: in-process.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key and channel, so deployments can share a Redis.
    #[arg(long, env = "XPR_REDIS_PREFIX", default_value = "xpr")]
    pub redis_prefix: String,

    /// Address and port to listen on.
    #[arg(long, env = "XPR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory for the SQLite file, mail files and media.
    #[arg(long, env = "XPR_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// `development` allows an ephemeral JWT secret. Default: development when
    /// DATABASE_URL is unset, production otherwise.
    #[arg(long, env = "XPR_ENV", value_enum)]
    pub environment: Option<Environment>,

    /// HS256 secret for access tokens (at least 32 bytes).
    #[arg(long, env = "XPR_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// Ed25519 private key (PEM) for access tokens; with the public key, used instead of the secret.
    #[arg(long, env = "XPR_JWT_PRIVATE_KEY_FILE", requires = "jwt_public_key_file")]
    pub jwt_private_key_file: Option<PathBuf>,

    /// Ed25519 public key (PEM) matching XPR_JWT_PRIVATE_KEY_FILE.
    #[arg(long, env = "XPR_JWT_PUBLIC_KEY_FILE", requires = "jwt_private_key_file")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// `iss` and `aud` of access tokens; tokens with another value are refused.
    #[arg(long, env = "XPR_JWT_ISSUER", default_value = "xpr-api")]
    pub jwt_issuer: String,

    /// Access token lifetime in seconds.
    #[arg(long, env = "XPR_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: i64,

    /// Refresh token (session) lifetime in seconds.
    #[arg(long, env = "XPR_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: i64,

    /// SMTP URL (`smtps://user:pass@host`, `smtp://host:25?tls=required`). Unset: mail is written to `<data dir>/mail`.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,

    /// Sender of outgoing mail.
    #[arg(long, env = "XPR_MAIL_FROM", default_value = "XP-R <no-reply@localhost>")]
    pub mail_from: String,

    /// Public URL of the web app, used in links sent by mail.
    #[arg(long, env = "XPR_PUBLIC_URL", default_value = "http://localhost:4200")]
    pub public_url: String,

    /// Comma-separated origins allowed by CORS (`*` for any). Empty: none.
    #[arg(long, env = "XPR_CORS_ORIGINS", value_delimiter = ',', default_value = "")]
    pub cors_origins: Vec<String>,

    /// Log format.
    #[arg(long, env = "XPR_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Take the client address from the last `X-Forwarded-For` hop (only behind a proxy you run).
    #[arg(long, env = "XPR_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Maximum depth of a GraphQL query.
    #[arg(long, env = "XPR_MAX_QUERY_DEPTH", default_value_t = 12)]
    pub max_query_depth: usize,

    /// Maximum depth of introspection (`__schema`, `__type`): graphql-js's standard query needs 15.
    #[arg(long, env = "XPR_MAX_INTROSPECTION_DEPTH", default_value_t = 15)]
    pub max_introspection_depth: usize,

    /// Maximum lexical tokens in a GraphQL document, counted before it is parsed.
    #[arg(long, env = "XPR_MAX_TOKENS", default_value_t = 1_000)]
    pub max_tokens: usize,

    /// Maximum aliases in an operation (fragments counted where spread).
    #[arg(long, env = "XPR_MAX_ALIASES", default_value_t = 15)]
    pub max_aliases: usize,

    /// Maximum directives in an operation (fragments counted where spread).
    #[arg(long, env = "XPR_MAX_DIRECTIVES", default_value_t = 50)]
    pub max_directives: usize,

    /// Maximum fields in an operation, fragments counted where spread.
    #[arg(long, env = "XPR_MAX_FIELDS", default_value_t = 1_000)]
    pub max_fields: usize,

    /// Maximum cost of one operation: the objects it may return, lists counted at their `first` (ADR 0024).
    #[arg(long, env = "XPR_MAX_COST", default_value_t = 25_000)]
    pub max_cost: u64,

    /// Cost points each user, API token or anonymous address may spend per budget window (ADR 0024).
    #[arg(long, env = "XPR_COST_BUDGET", default_value_t = 500_000)]
    pub cost_budget: u64,

    /// The cost budget's window in seconds.
    #[arg(long, env = "XPR_COST_BUDGET_WINDOW_SECS", default_value_t = 3_600)]
    pub cost_budget_window_secs: u64,

    /// Trusted documents: `off`, `allow` (manifest ids and free text) or `require` (manifest ids only, except
    /// for API tokens).
    #[arg(long, env = "XPR_TRUSTED_DOCUMENTS", value_enum, default_value = "allow")]
    pub trusted_documents: TrustedDocuments,

    /// Directory of persisted-query manifests (`*.json`, Apollo's format). Unset: `<data dir>/trusted-documents`.
    #[arg(long, env = "XPR_TRUSTED_DOCUMENTS_DIR")]
    pub trusted_documents_dir: Option<PathBuf>,

    /// How long a request waits for a database connection (and a new one to
    /// connect) before it fails with `UNAVAILABLE`, in milliseconds.
    #[arg(long, env = "XPR_DB_TIMEOUT_MS", default_value_t = 2_000)]
    pub db_timeout_ms: u64,

    /// PostgreSQL's `statement_timeout` for the server's connections, in milliseconds.
    #[arg(long, env = "XPR_DB_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub db_statement_timeout_ms: u64,

    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish, in seconds.
    #[arg(long, env = "XPR_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// Maximum size of a request body in bytes.
    #[arg(long, env = "XPR_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Maximum number of operations in one batched request.
    #[arg(long, env = "XPR_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,

    /// Login and password-reset attempts allowed per account per window.
    #[arg(long, env = "XPR_RATE_LIMIT_PER_ACCOUNT", default_value_t = 10)]
    pub rate_limit_per_account: u32,

    /// Login, register and password-reset attempts allowed per client address per window.
    #[arg(long, env = "XPR_RATE_LIMIT_PER_ADDRESS", default_value_t = 50)]
    pub rate_limit_per_address: u32,

    /// Rate-limit window in seconds.
    #[arg(long, env = "XPR_RATE_LIMIT_WINDOW_SECS", default_value_t = 900)]
    pub rate_limit_window_secs: u64,

    /// Seconds a cached history page lives (pages are keyed by entry version, so merges never serve stale ones).
    #[arg(long, env = "XPR_CACHE_TTL_SECS", default_value_t = 300)]
    pub cache_ttl_secs: u64,

    /// Seconds a moderator's claim on a submission lasts.
    #[arg(long, env = "XPR_CLAIM_TTL_SECS", default_value_t = 1800)]
    pub claim_ttl_secs: i64,

    /// Reputation from which a user's submissions merge on submit when every check passes (role TRUSTED always does).
    #[arg(long, env = "XPR_TRUST_REPUTATION", default_value_t = 100)]
    pub trust_reputation: i32,

    /// Submissions a user may have waiting (pending, changes requested or conflicted) at once.
    #[arg(long, env = "XPR_MAX_OPEN_SUBMISSIONS", default_value_t = 20)]
    pub max_open_submissions: u64,

    /// Submissions a user may submit for review per hour.
    #[arg(long, env = "XPR_SUBMISSIONS_PER_HOUR", default_value_t = 30)]
    pub submissions_per_hour: u64,

    /// Seconds a WebSocket client has to send `connection_init`.
    #[arg(long, env = "XPR_WS_INIT_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_init_timeout_secs: u64,

    /// Seconds between keep-alive pings on WebSockets; a client that sends nothing (not even a pong) for two
    /// of them is disconnected.
    #[arg(long, env = "XPR_WS_PING_SECS", default_value_t = 15)]
    pub ws_ping_secs: u64,

    /// Subscriptions one WebSocket may hold at once.
    #[arg(long, env = "XPR_WS_MAX_SUBSCRIPTIONS", default_value_t = 50)]
    pub ws_max_subscriptions: usize,

    /// WebSockets one user may hold at once (per server process).
    #[arg(long, env = "XPR_WS_MAX_CONNECTIONS_PER_USER", default_value_t = 10)]
    pub ws_max_connections_per_user: usize,

    /// Milliseconds between the outbox relay's scans for unpublished events.
    #[arg(long, env = "XPR_RELAY_INTERVAL_MS", default_value_t = 100)]
    pub relay_interval_ms: u64,

    /// Hours published events stay in the outbox for subscribers resuming by cursor.
    #[arg(long, env = "XPR_OUTBOX_RETENTION_HOURS", default_value_t = 24)]
    pub outbox_retention_hours: i64,

    /// Directory holding GraphiQL's npm packages (see README); unset: `<data dir>/graphiql`.
    #[arg(long, env = "XPR_GRAPHIQL_DIR")]
    pub graphiql_dir: Option<PathBuf>,

    /// Largest accepted media upload in bytes.
    #[arg(long, env = "XPR_MEDIA_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub media_max_bytes: usize,

    /// Widest accepted image, in pixels.
    #[arg(long, env = "XPR_MEDIA_MAX_WIDTH", default_value_t = 16_384)]
    pub media_max_width: u32,

    /// Tallest accepted image, in pixels.
    #[arg(long, env = "XPR_MEDIA_MAX_HEIGHT", default_value_t = 16_384)]
    pub media_max_height: u32,

    /// Most pixels an image may hold, all frames of an animation together (a 48 MP photo fits).
    #[arg(long, env = "XPR_MEDIA_MAX_PIXELS", default_value_t = 50_000_000)]
    pub media_max_pixels: u64,

    /// Where media are stored: `local` (`<data dir>/media`) or `s3`.
    #[arg(long, env = "XPR_MEDIA_STORE", value_enum, default_value = "local")]
    pub media_store: MediaStoreKind,

    /// Bucket of the `s3` media store; endpoint, region and keys come from the standard `AWS_*` variables.
    #[arg(long, env = "XPR_MEDIA_S3_BUCKET")]
    pub media_s3_bucket: Option<String>,

    /// Seconds a WebSocket write may wait for the client to take it before the socket is dropped; also
    /// every connection's `TCP_USER_TIMEOUT` (unacknowledged data or a shut window), which bounds event streams.
    #[arg(long, env = "XPR_WS_SEND_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_send_timeout_secs: u64,

    /// OTLP/HTTP endpoint to export traces to (`http://collector:4318`; `/v1/traces` is appended). Unset: no
    /// traces. The other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, compression) apply.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otel_exporter_otlp_endpoint: Option<String>,

    /// `service.name` of the exported traces.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "xpr-api")]
    pub otel_service_name: String,
}

impl Config {
    pub fn environment(&self) -> Environment {
        self.environment.unwrap_or(match self.database_url {
            None => Environment::Development,
            Some(_) => Environment::Production,
        })
    }

    /// The database URL to use: the configured one, or the embedded SQLite file.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.sqlite_path().display()),
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("xpr.sqlite3")
    }

    pub fn graphiql_dir(&self) -> PathBuf {
        self.graphiql_dir.clone().unwrap_or_else(|| self.data_dir.join("graphiql"))
    }

    pub fn trusted_documents_dir(&self) -> PathBuf {
        self.trusted_documents_dir.clone().unwrap_or_else(|| self.data_dir.join("trusted-documents"))
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.access_token_ttl_secs > 0, "XPR_ACCESS_TOKEN_TTL_SECS must be positive");
        anyhow::ensure!(
            self.refresh_token_ttl_secs > self.access_token_ttl_secs,
            "XPR_REFRESH_TOKEN_TTL_SECS must be longer than the access token lifetime"
        );
        anyhow::ensure!(self.max_batch > 0, "XPR_MAX_BATCH must be at least 1");
        anyhow::ensure!(self.rate_limit_window_secs > 0, "XPR_RATE_LIMIT_WINDOW_SECS must be positive");
        anyhow::ensure!(self.cost_budget_window_secs > 0, "XPR_COST_BUDGET_WINDOW_SECS must be positive");
        anyhow::ensure!(
            self.cost_budget >= self.max_cost,
            "XPR_COST_BUDGET must be at least XPR_MAX_COST, or the costliest allowed operation could never run"
        );
        anyhow::ensure!(self.media_max_bytes > 0, "XPR_MEDIA_MAX_BYTES must be positive");
        anyhow::ensure!(
            self.media_max_width > 0 && self.media_max_height > 0 && self.media_max_pixels > 0,
            "XPR_MEDIA_MAX_WIDTH, XPR_MEDIA_MAX_HEIGHT and XPR_MEDIA_MAX_PIXELS must be positive"
        );
        anyhow::ensure!(
            self.media_store != MediaStoreKind::S3 || self.media_s3_bucket.as_deref().is_some_and(|b| !b.is_empty()),
            "XPR_MEDIA_STORE=s3 needs XPR_MEDIA_S3_BUCKET"
        );
        Ok(())
    }
}
