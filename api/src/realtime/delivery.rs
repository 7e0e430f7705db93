//! The delivery engine every subscription runs on: subscribe to the bus
//! first, then read from the database what came after the cursor; each bus
//! event on the channel (or a resync after a Redis outage, or falling behind)
//! only wakes the stream to read again. Events therefore can't be lost
//! between a reconnect and the first live event, and cursors drop duplicates.

use std::{
    collections::VecDeque,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{Stream, StreamExt, stream};
use tokio::sync::broadcast::{self, error::RecvError};

use super::bus::{Heard, Signal};
use crate::error::{AppError, AppResult};

/// How many missed items a subscriber catches up with per read.
pub const CATCH_UP: u64 = 100;

/// Why a subscription wakes up.
pub enum Wake<T> {
    /// A signal arrived at this instant: read what came after the cursor.
    Read(Instant),
    /// The items an event (arrived at this instant) made, after a cursor,
    /// with their cursors: no read needed. A subscriber that has delivered
    /// up to that cursor takes them; one behind reads for itself. An item
    /// the event carried follows any cursor; a feed's read follows the
    /// version before the event's ([`super::feeds`]).
    Items(i64, Instant, Vec<(i64, T)>),
}

/// Wakes when the bus carries an event of the channel `rx` listens to, or may
/// have dropped one. `carried` takes the item out of an event that has one
/// (told when the event arrived here).
pub fn wake_ups<T: Send + 'static>(
    rx: broadcast::Receiver<Signal>,
    carried: fn(&Heard, Instant) -> Option<(i64, T)>,
) -> impl Stream<Item = Wake<T>> + Send {
    stream::unfold(rx, move |mut rx| async move {
        let wake = match rx.recv().await {
            Ok(Signal::Event(event, at)) => {
                carried(&event, at).map_or(Wake::Read(at), |item| Wake::Items(i64::MIN, at, vec![item]))
            }
            Ok(Signal::Resync(at)) => Wake::Read(at),
            Err(RecvError::Lagged(_)) => Wake::Read(Instant::now()),
            Err(RecvError::Closed) => return None,
        };
        Some((wake, rx))
    })
}

/// For subscriptions whose events carry no item.
pub fn nothing<T>(_: &Heard, _: Instant) -> Option<(i64, T)> {
    None
}

/// A cursor's integer value; a bad one is the client's error.
pub fn parse_cursor(after: Option<String>) -> AppResult<Option<i64>> {
    after.map(|a| a.parse().map_err(|_| AppError::bad_input("after", "not a valid cursor"))).transpose()
}

/// How long a delivered cursor stays "recent". On PostgreSQL ids come from a
/// sequence when rows are inserted, not when they commit, so a row may
/// become visible after one with a higher id: reads start below the recent
/// cursors, which are skipped individually, until they settle.
const SETTLE: Duration = Duration::from_secs(3);

/// What a subscription has delivered: everything up to `floor`, and the recent cursors above it.
struct Delivered {
    floor: i64,
    recent: VecDeque<(i64, Instant)>,
}

impl Delivered {
    /// Where the next read starts.
    fn read_from(&mut self) -> i64 {
        self.settle();
        self.floor
    }

    /// Folds settled cursors into the floor.
    fn settle(&mut self) {
        while let Some(&(at, when)) = self.recent.front() {
            if when.elapsed() < SETTLE {
                break;
            }
            self.floor = self.floor.max(at);
            self.recent.pop_front();
        }
    }

    fn newest(&self) -> i64 {
        self.recent.iter().map(|r| r.0).fold(self.floor, i64::max)
    }

    fn is_new(&self, at: i64) -> bool {
        at > self.floor && !self.recent.iter().any(|r| r.0 == at)
    }

    /// Settles first: a subscription whose items all come with their events
    /// never reads, and its recent cursors would otherwise pile up for its life.
    fn mark(&mut self, at: i64) {
        self.settle();
        self.recent.push_back((at, Instant::now()));
    }
}

/// Delivers what `fetch` finds after a cursor, in order: at once, then on
/// every wake-up. Nothing is delivered twice, nor at or below `cursor`.
/// `fetch` is told the cursor and when the signal it answers arrived.
pub fn after_cursor<T, F, Fut>(
    wake: impl Stream<Item = Wake<T>> + Send + 'static,
    cursor: i64,
    fetch: F,
    slot: Option<SubscriptionSlot>,
) -> impl Stream<Item = T> + Send
where
    T: Send + 'static,
    F: Fn(i64, Instant) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Vec<(i64, T)>>> + Send,
{
    let wake = stream::once(async { Wake::Read(Instant::now()) }).chain(wake).boxed();
    let delivered = Delivered { floor: cursor, recent: VecDeque::new() };
    stream::unfold((wake, delivered, VecDeque::new(), false, fetch, slot), |state| async move {
        let (mut wake, mut delivered, mut buffer, mut more, fetch, slot) = state;
        loop {
            if let Some((at, item)) = buffer.pop_front() {
                delivered.mark(at);
                return Some((item, (wake, delivered, buffer, more, fetch, slot)));
            }
            let next = if more { Wake::Read(Instant::now()) } else { wake.next().await? };
            let woken = match next {
                Wake::Read(at) => at,
                Wake::Items(after, _, items) if delivered.newest() >= after => {
                    buffer.extend(items.into_iter().filter(|(at, _)| delivered.is_new(*at)));
                    continue;
                }
                Wake::Items(_, at, _) => at,
            };
            let mut from = delivered.read_from();
            more = false;
            // Twice at most: when a full page holds only recent cursors, read past them.
            for _ in 0..2 {
                // Boxed: an idle subscription waits in this future, which
                // would otherwise be as large as a read's (docs/benchmarks.md).
                let Some(items) = Box::pin(fetch(from, woken)).await else { break };
                let full = items.len() as u64 == CATCH_UP;
                buffer.extend(items.into_iter().filter(|(at, _)| delivered.is_new(*at)));
                more = full;
                if !buffer.is_empty() || !full {
                    break;
                }
                from = delivered.newest();
            }
        }
    })
}

/// Subscriptions of one connection; each live subscription holds a [`SubscriptionSlot`].
#[derive(Clone)]
pub struct SubscriptionSlots {
    open: Arc<AtomicUsize>,
    max: usize,
}

pub struct SubscriptionSlot(Arc<AtomicUsize>);

impl SubscriptionSlots {
    pub fn new(max: usize) -> Self {
        Self { open: Arc::default(), max }
    }

    pub fn take(&self) -> Option<SubscriptionSlot> {
        let taken = self.open.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < self.max).then_some(n + 1));
        taken.ok().map(|_| SubscriptionSlot(self.open.clone()))
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_subscriber_behind_what_a_feed_read_reads_for_itself() {
        let calls = Arc::new(AtomicUsize::new(0));
        // At first nothing after the cursor; then versions 2 and 3 are there.
        let fetch = move |after: i64, _| {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                Some(
                    if call == 0 { Vec::new() } else { vec![(2, 2), (3, 3)] }
                        .into_iter()
                        .filter(|v| v.0 > after)
                        .collect(),
                )
            }
        };
        // The feed read what version 3 made, after 2, which this subscriber never had.
        let wakes = stream::iter([Wake::Items(2, Instant::now(), vec![(3, 3)])]).chain(stream::pending());
        let delivered = after_cursor(wakes, 1, fetch, None).take(2).collect::<Vec<i64>>();
        let delivered = tokio::time::timeout(Duration::from_secs(5), delivered).await;
        assert_eq!(delivered.ok(), Some(vec![2, 3]), "version 2 is not skipped");
    }

    #[test]
    fn a_late_committed_lower_cursor_is_still_delivered_once() {
        let mut delivered = Delivered { floor: 10, recent: VecDeque::new() };
        assert!(!delivered.is_new(10), "nothing at or below the client's cursor");
        delivered.mark(12);
        assert_eq!(delivered.read_from(), 10, "reads start below recent cursors");
        assert!(delivered.is_new(11), "11 committed after 12: still delivered");
        assert!(!delivered.is_new(12), "12 only once");
        assert_eq!(delivered.newest(), 12);
        delivered.recent[0].1 -= SETTLE;
        assert_eq!(delivered.read_from(), 12, "settled cursors fold into the floor");
    }

    #[test]
    fn delivering_without_reading_keeps_only_the_recent_cursors() {
        let mut delivered = Delivered { floor: 0, recent: VecDeque::new() };
        for at in 1..=1000 {
            delivered.mark(at);
            delivered.recent.back_mut().unwrap().1 -= SETTLE;
        }
        assert_eq!((delivered.floor, delivered.recent.len()), (999, 1), "settled as it goes");
    }
}
