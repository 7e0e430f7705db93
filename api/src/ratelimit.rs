//! Fixed-window rate limits keyed by account or client address. With Redis
//! the counters are shared by every replica; without it they are per process.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use redis::aio::ConnectionManager;

use crate::error::{AppError, AppResult};

enum Backend {
    Memory(Mutex<HashMap<String, (Instant, u32)>>),
    Redis { conn: ConnectionManager, prefix: String },
}

pub struct RateLimiter {
    backend: Backend,
    window: Duration,
}

impl RateLimiter {
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
        let (count, retry_after) = match &self.backend {
            Backend::Memory(map) => self.hit_memory(map, key),
            Backend::Redis { conn, prefix } => {
                match self.hit_redis(conn.clone(), &format!("{prefix}:rl:{key}")).await {
                    Ok(result) => result,
                    Err(err) => {
                        // Failing open keeps sign-in working through a Redis outage (see ADR 0003).
                        tracing::warn!(error = %err, "rate limiter unavailable; allowing the attempt");
                        return Ok(());
                    }
                }
            }
        };
        if count > limit {
            return Err(AppError::RateLimited { retry_after_secs: retry_after.as_secs().max(1) });
        }
        Ok(())
    }

    fn hit_memory(&self, map: &Mutex<HashMap<String, (Instant, u32)>>, key: &str) -> (u32, Duration) {
        let now = Instant::now();
        let mut map = map.lock().expect("rate limiter lock poisoned");
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        (entry.1, self.window.saturating_sub(now.duration_since(entry.0)))
    }

    async fn hit_redis(&self, mut conn: ConnectionManager, key: &str) -> redis::RedisResult<(u32, Duration)> {
        let (count, ttl): (u32, i64) = redis::pipe()
            .atomic()
            .incr(key, 1)
            .cmd("EXPIRE")
            .arg(key)
            .arg(self.window.as_secs())
            .arg("NX")
            .ignore()
            .ttl(key)
            .query_async(&mut conn)
            .await?;
        Ok((count, Duration::from_secs(ttl.max(1) as u64)))
    }
}
