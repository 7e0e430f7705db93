//! Fixed-window rate limits keyed by account, API token or client address:
//! login attempts (one each) and the GraphQL cost budget (an operation's
//! cost each). With Redis the counters are shared by every replica; without
//! it they are per process.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use redis::aio::ConnectionManager;

use crate::error::{AppError, AppResult};

enum Backend {
    Memory(Mutex<HashMap<String, (Instant, u64)>>),
    Redis { conn: ConnectionManager, prefix: String },
}

pub struct RateLimiter {
    backend: Backend,
    window: Duration,
}

/// The state of one key's window after a [`RateLimiter::spend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u64,
    /// Points spent in the window, this spending included when admitted.
    pub used: u64,
    /// Time until the window ends and `used` starts again from zero.
    pub reset_after: Duration,
    /// Whether the spending fitted; a refused one spends nothing.
    pub admitted: bool,
}

impl Quota {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Seconds a refused client should wait, at least one.
    pub fn retry_after_secs(&self) -> u64 {
        self.reset_after.as_secs().max(1)
    }
}

impl RateLimiter {
    /// `window` is the login limits' window; budgets name their own in [`RateLimiter::spend`].
    pub fn new(redis: Option<(ConnectionManager, String)>, window: Duration) -> Self {
        let backend = match redis {
            Some((conn, prefix)) => Backend::Redis { conn, prefix },
            None => Backend::Memory(Mutex::default()),
        };
        Self { backend, window }
    }

    /// Counts one attempt under `key`; past `limit` in the window it is refused
    /// with the seconds left until the window ends.
    pub async fn hit(&self, key: &str, limit: u32) -> AppResult<()> {
        let quota = self.spend(key, 1, u64::from(limit), self.window).await;
        if !quota.admitted {
            return Err(AppError::RateLimited { retry_after_secs: quota.retry_after_secs() });
        }
        Ok(())
    }

    /// Spends `amount` of the `limit` points `key` has per `window`, if they
    /// fit; `amount` 0 reads the window. A key keeps one window length.
    pub async fn spend(&self, key: &str, amount: u64, limit: u64, window: Duration) -> Quota {
        match &self.backend {
            Backend::Memory(map) => Self::spend_memory(map, key, amount, limit, window),
            Backend::Redis { conn, prefix } => {
                match Self::spend_redis(conn.clone(), &format!("{prefix}:rl:{key}"), amount, limit, window).await {
                    Ok(quota) => quota,
                    Err(err) => {
                        // Failing open keeps sign-in and reads working through a Redis outage (see ADR 0003).
                        tracing::warn!(error = %err, "rate limiter unavailable; allowing the request");
                        Quota { limit, used: 0, reset_after: window, admitted: true }
                    }
                }
            }
        }
    }

    fn spend_memory(
        map: &Mutex<HashMap<String, (Instant, u64)>>,
        key: &str,
        amount: u64,
        limit: u64,
        window: Duration,
    ) -> Quota {
        let now = Instant::now();
        let mut map = map.lock().expect("rate limiter lock poisoned");
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        let admitted = entry.1.saturating_add(amount) <= limit;
        if admitted {
            entry.1 += amount;
        }
        Quota { limit, used: entry.1, reset_after: window.saturating_sub(now.duration_since(entry.0)), admitted }
    }

    /// INCRBY, then gives back what doesn't fit: two round trips only on refusal.
    async fn spend_redis(
        mut conn: ConnectionManager,
        key: &str,
        amount: u64,
        limit: u64,
        window: Duration,
    ) -> redis::RedisResult<Quota> {
        let (used, ttl): (u64, i64) = redis::pipe()
            .atomic()
            .incr(key, amount)
            .cmd("EXPIRE")
            .arg(key)
            .arg(window.as_secs().max(1))
            .arg("NX")
            .ignore()
            .ttl(key)
            .query_async(&mut conn)
            .await?;
        let reset_after = Duration::from_secs(ttl.max(1) as u64);
        if used <= limit {
            return Ok(Quota { limit, used, reset_after, admitted: true });
        }
        let used: u64 = redis::cmd("DECRBY").arg(key).arg(amount).query_async(&mut conn).await?;
        Ok(Quota { limit, used, reset_after, admitted: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spending_refuses_what_does_not_fit_and_keeps_the_rest() {
        let limiter = RateLimiter::new(None, Duration::from_secs(60));
        let window = Duration::from_secs(60);
        assert_eq!(limiter.spend("k", 7, 10, window).await.remaining(), 3);
        let refused = limiter.spend("k", 4, 10, window).await;
        assert!(!refused.admitted);
        assert_eq!(refused.remaining(), 3, "a refused spending costs nothing");
        assert!(limiter.spend("k", 3, 10, window).await.admitted);
        assert_eq!(limiter.spend("k", 0, 10, window).await.remaining(), 0);
        assert_eq!(limiter.spend("other", 0, 10, window).await.remaining(), 10);
    }
}
