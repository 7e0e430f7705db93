//! A small byte cache for read-heavy pages: Redis (shared by replicas, with a
//! TTL) when configured, else an in-process LRU. Callers put whatever makes an
//! entry stale into its key (e.g. an entry's version), so writes never need to
//! find and delete keys; the TTL only bounds memory.

use std::{
    num::NonZeroUsize,
    sync::Mutex,
    time::{Duration, Instant},
};

use lru::LruCache;
use redis::{AsyncCommands, aio::ConnectionManager};

enum Backend {
    Memory(Mutex<LruCache<String, (Instant, Vec<u8>)>>),
    Redis { conn: ConnectionManager, prefix: String },
}

pub struct Cache {
    backend: Backend,
    ttl: Duration,
}

impl Cache {
    pub fn new(redis: Option<(ConnectionManager, String)>, ttl: Duration, capacity: usize) -> Self {
        let backend = match redis {
            Some((conn, prefix)) => Backend::Redis { conn, prefix },
            None => Backend::Memory(Mutex::new(LruCache::new(NonZeroUsize::new(capacity.max(1)).expect("non-zero")))),
        };
        Self { backend, ttl }
    }

    /// A cached value, if any. Errors (Redis down) read as a miss.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        match &self.backend {
            Backend::Memory(map) => {
                let mut map = map.lock().expect("cache lock poisoned");
                match map.get(key) {
                    Some((at, value)) if at.elapsed() < self.ttl => Some(value.clone()),
                    _ => None,
                }
            }
            Backend::Redis { conn, prefix } => {
                conn.clone().get::<_, Option<Vec<u8>>>(format!("{prefix}:cache:{key}")).await.ok().flatten()
            }
        }
    }

    /// Stores a value for the TTL. Failures only cost a later miss.
    pub async fn set(&self, key: &str, value: Vec<u8>) {
        match &self.backend {
            Backend::Memory(map) => {
                map.lock().expect("cache lock poisoned").put(key.to_owned(), (Instant::now(), value));
            }
            Backend::Redis { conn, prefix } => {
                let key = format!("{prefix}:cache:{key}");
                if let Err(err) = conn.clone().set_ex::<_, _, ()>(key, value, self.ttl.as_secs().max(1)).await {
                    tracing::debug!(error = %err, "cache write failed");
                }
            }
        }
    }
}
