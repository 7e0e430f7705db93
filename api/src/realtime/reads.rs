//! Single-flight reads for subscriptions. One event can wake thousands of
//! subscribers of the same channel in this process; those woken by the same
//! signal share one database read instead of each running their own.
//!
//! A subscriber only joins a read that started after the signal that woke it
//! arrived here (and so after the change committed): a shared read is never
//! older than the event it answers.

use std::{
    any::Any,
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::{
    FutureExt,
    future::{BoxFuture, Shared},
};

use crate::error::AppResult;

type Value = Option<Arc<dyn Any + Send + Sync>>;
/// A read shared by its callers, and when it started.
type Read = (Instant, Shared<BoxFuture<'static, Value>>);

/// Reads in flight or just finished, by key.
#[derive(Clone, Default)]
pub struct SharedReads(Arc<Mutex<HashMap<String, Read>>>);

/// Finished reads are kept this long for late joiners; then swept.
const KEEP: Duration = Duration::from_secs(2);
/// Map size from which the sweep runs.
const SWEEP_FROM: usize = 1024;

impl SharedReads {
    /// `read`'s result, shared with callers of the same `key` whose signal
    /// arrived no later than the shared read started. `None` if it failed.
    pub async fn read<V, F>(&self, key: String, woken: Instant, read: F) -> Option<Arc<V>>
    where
        V: Send + Sync + 'static,
        F: Future<Output = AppResult<V>> + Send + 'static,
    {
        let shared = {
            let mut reads = self.0.lock().expect("reads lock");
            match reads.get(&key) {
                Some((started, shared)) if *started >= woken => shared.clone(),
                _ => {
                    if reads.len() >= SWEEP_FROM {
                        reads.retain(|_, (started, _)| started.elapsed() < KEEP);
                    }
                    let shared = read
                        .map(|result| match result {
                            Ok(value) => Some(Arc::new(value) as Arc<dyn Any + Send + Sync>),
                            Err(err) => {
                                tracing::warn!(error = ?err, "subscription read failed");
                                None
                            }
                        })
                        .boxed()
                        .shared();
                    reads.insert(key, (Instant::now(), shared.clone()));
                    shared
                }
            }
        };
        shared.await.and_then(|value| value.downcast::<V>().ok())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn callers_woken_before_a_read_started_share_it_and_later_ones_read_again() {
        let reads = SharedReads::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let read = |runs: Arc<AtomicUsize>| async move { Ok(runs.fetch_add(1, Ordering::SeqCst)) };
        let woken = Instant::now();
        let together = futures_util::future::join_all(
            (0..100).map(|_| reads.read::<usize, _>("k".into(), woken, read(runs.clone()))),
        )
        .await;
        assert!(together.iter().all(|v| v.as_deref() == Some(&0)), "one read for all woken at once");
        let later = reads.read::<usize, _>("k".into(), Instant::now(), read(runs.clone())).await;
        assert_eq!(later.as_deref(), Some(&1), "woken after the read started: a fresh read");
        let other = reads.read::<usize, _>("other".into(), woken, read(runs.clone())).await;
        assert_eq!(other.as_deref(), Some(&2), "keys don't share");
    }
}
