//! What the domain services need, as one small struct: the database, the
//! configuration, token keys, the rate limiter, the cache and the mail
//! worker's wake-up. The composition root (`app`) builds it; services take
//! `&Deps`, never the whole application state, so they import nothing above
//! the core.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::{auth::TokenKeys, cache::Cache, config::Config, ratelimit::RateLimiter};

pub struct Deps {
    pub config: Config,
    pub db: DatabaseConnection,
    pub keys: TokenKeys,
    pub limiter: RateLimiter,
    pub cache: Cache,
    /// Wakes the mail worker after a service committed a mail to the outbox.
    pub mail_wake: Arc<Notify>,
}
