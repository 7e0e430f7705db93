//! Loader batches that run inside the request's own task, started only when
//! the execution has nothing left to do without them.
//!
//! async-graphql resolves a level of a query in one task and yields now and
//! then (after 32 list items, or when the scheduler's budget runs out). A batch
//! spawned as a task of its own may run on the other worker thread during such
//! a yield and take half a level's keys, splitting one statement into two.
//! Here a batch waits until the execution returns `Pending` without having
//! woken itself: every resolver of the level is then waiting on a loader, so
//! the batch holds all their keys, whatever the page size or the thread count.
//!
//! Batches of leaf loaders (users: creators, authors, mergers, found at every
//! level of a query) wait longer, until no other batch runs or waits: the keys
//! of every level then meet in one batch, and a request reads its users once.

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::{StreamExt, future::BoxFuture, stream::FuturesUnordered};

/// Batches a request's loaders queued, for [`Batches::run`] to start.
#[derive(Clone, Default)]
pub struct Batches(Arc<Mutex<Queued>>);

#[derive(Default)]
struct Queued {
    batches: Vec<BoxFuture<'static, ()>>,
    leaves: Vec<BoxFuture<'static, ()>>,
}

impl Queued {
    /// The batches to start now that the execution waits: leaves only once nothing else runs.
    fn take(&mut self, running: bool) -> Vec<BoxFuture<'static, ()>> {
        if self.batches.is_empty() && !running {
            std::mem::take(&mut self.leaves)
        } else {
            std::mem::take(&mut self.batches)
        }
    }

    fn any(&self, running: bool) -> bool {
        !self.batches.is_empty() || (!running && !self.leaves.is_empty())
    }
}

impl Batches {
    /// The spawner for the request's loaders.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Clone + Send + Sync + 'static {
        let queued = self.0.clone();
        move |batch| queued.lock().expect("batches lock").batches.push(batch)
    }

    /// The spawner for loaders of leaves, whose batches start last.
    pub fn leaf_spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Clone + Send + Sync + 'static {
        let queued = self.0.clone();
        move |batch| queued.lock().expect("batches lock").leaves.push(batch)
    }

    /// Drives `execution` and the batches its loaders queue, until it completes.
    pub async fn run<F: Future>(self, execution: F) -> F::Output {
        let mut execution = std::pin::pin!(execution);
        let mut running = FuturesUnordered::new();
        let woken = Arc::new(WokenFlag::default());
        let mut confirming = false;
        std::future::poll_fn(|cx| {
            // Idle at the end of the last poll, and no wake since (not even one
            // the scheduler deferred until after that poll): start the batches.
            if std::mem::take(&mut confirming) && !woken.woken.load(Ordering::Acquire) {
                // Each batch takes its keys now, before the first to finish lets
                // its callers queue the next level's loads (which would join a
                // batch not yet polled and make statement counts vary).
                let started = self.0.lock().expect("batches lock").take(!running.is_empty());
                for mut batch in started {
                    if batch.as_mut().poll(cx).is_pending() {
                        running.push(batch);
                    }
                }
            }
            loop {
                woken.reset(cx.waker());
                let waker = Waker::from(woken.clone());
                if let Poll::Ready(output) = execution.as_mut().poll(&mut Context::from_waker(&waker)) {
                    return Poll::Ready(output);
                }
                if !woken.woken.load(Ordering::Acquire) && self.0.lock().expect("batches lock").any(!running.is_empty())
                {
                    confirming = true;
                    cx.waker().wake_by_ref();
                }
                match running.poll_next_unpin(cx) {
                    // A batch finished: its callers may go on at once.
                    Poll::Ready(Some(())) => continue,
                    Poll::Ready(None) | Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }
}

/// The waker handed to the execution: forwards to the task's waker and
/// records that a wake happened.
#[derive(Default)]
struct WokenFlag {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl WokenFlag {
    fn reset(&self, task: &Waker) {
        self.woken.store(false, Ordering::Release);
        let mut slot = self.task.lock().expect("waker lock");
        if !slot.as_ref().is_some_and(|w| w.will_wake(task)) {
            *slot = Some(task.clone());
        }
    }
}

impl Wake for WokenFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Some(task) = self.task.lock().expect("waker lock").as_ref() {
            task.wake_by_ref();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_starts_once_the_execution_waits_on_it() {
        let batches = Batches::default();
        let spawn = batches.spawner();
        let queued = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (q, s) = (queued.clone(), seen.clone());
        let execution = async move {
            let (done, wait) = tokio::sync::oneshot::channel();
            spawn(Box::pin(async move {
                s.lock().unwrap().push(q.load(Ordering::SeqCst));
                let _ = done.send(());
            }));
            // Queue across many yields, as a long page does; tokio defers the wake of a yield.
            for _ in 0..100 {
                queued.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            wait.await.unwrap();
        };
        batches.run(execution).await;
        assert_eq!(*seen.lock().unwrap(), vec![100], "the batch ran once, after all the keys");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leaf_batch_waits_for_the_other_batches() {
        let batches = Batches::default();
        let (spawn, spawn_leaf) = (batches.spawner(), batches.leaf_spawner());
        let order = Arc::new(Mutex::new(Vec::new()));
        let execution = {
            let order = order.clone();
            async move {
                let (leaf_done, leaf_wait) = tokio::sync::oneshot::channel();
                let log = order.clone();
                spawn_leaf(Box::pin(async move {
                    log.lock().unwrap().push("leaf");
                    let _ = leaf_done.send(());
                }));
                let (done, wait) = tokio::sync::oneshot::channel();
                let log = order.clone();
                spawn(Box::pin(async move {
                    log.lock().unwrap().push("started");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    log.lock().unwrap().push("finished");
                    let _ = done.send(());
                }));
                let (_, leaf) = tokio::join!(wait, leaf_wait);
                leaf.unwrap();
            }
        };
        batches.run(execution).await;
        assert_eq!(*order.lock().unwrap(), ["started", "finished", "leaf"]);
    }
}
