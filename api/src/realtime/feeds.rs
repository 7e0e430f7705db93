//! One read per event for all of a process's subscribers of a channel whose
//! events say what to read (an entry's new version). A feed task per channel
//! listens to the bus, reads once, and hands what it read to the
//! subscribers, so each is woken once per event. Each subscriber reading
//! for itself, even through a shared read, is woken twice: by the event,
//! then by the read's end (docs/benchmarks.md).

use std::{
    any::Any,
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use futures_util::{Stream, future::BoxFuture, stream};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{
    Channel,
    bus::{Bus, Heard, Signal},
    delivery::Wake,
};
use crate::error::AppResult;

type Value = Arc<dyn Any + Send + Sync>;

/// What a feed hands its subscribers, for an event that arrived at an instant.
#[derive(Clone)]
enum Fed {
    /// What the event made: the items after the cursor `after`.
    Read { after: i64, value: Value, at: Instant },
    /// Each subscriber reads for itself: events may have been missed, or the feed's read failed.
    Yourself(Instant),
}

/// Items a subscriber falls behind by before it reads for itself.
const CAPACITY: usize = 16;

/// The feeds of this process, by channel.
#[derive(Clone, Default)]
pub struct Feeds(Arc<Mutex<HashMap<String, broadcast::Sender<Fed>>>>);

impl Feeds {
    /// Wake-ups for a subscriber of `channel`, carrying what the channel's
    /// feed read for each event. `read` tells what an event made (the cursor
    /// it follows and the future reading it); it is used by the feed this
    /// call starts, if none runs for the channel. `items` turns a read into
    /// the subscriber's items, told when the event arrived.
    pub fn subscribe<V, T, R, I>(
        &self,
        bus: &Bus,
        channel: Channel,
        read: R,
        items: I,
    ) -> impl Stream<Item = Wake<T>> + Send + use<V, T, R, I>
    where
        V: Send + Sync + 'static,
        T: Send + 'static,
        R: Fn(&Heard) -> Option<(i64, BoxFuture<'static, AppResult<V>>)> + Send + 'static,
        I: Fn(&V, Instant) -> Vec<(i64, T)> + Send + 'static,
    {
        let rx = {
            let mut feeds = self.0.lock().expect("feeds lock");
            let key = channel.to_string();
            match feeds.get(&key) {
                Some(tx) => tx.subscribe(),
                None => {
                    let (tx, rx) = broadcast::channel(CAPACITY);
                    // Subscribed to the bus before the caller reads where it starts: nothing is missed.
                    tokio::spawn(feed(self.clone(), key.clone(), bus.subscribe(channel), tx.clone(), read));
                    feeds.insert(key, tx);
                    rx
                }
            }
        };
        stream::unfold((rx, items), |(mut rx, items)| async move {
            let wake = match rx.recv().await {
                Ok(Fed::Read { after, value, at }) => match value.downcast_ref::<V>() {
                    Some(value) => Wake::Items(after, at, items(value, at)),
                    None => Wake::Read(at),
                },
                Ok(Fed::Yourself(at)) => Wake::Read(at),
                Err(RecvError::Lagged(_)) => Wake::Read(Instant::now()),
                Err(RecvError::Closed) => return None,
            };
            Some((wake, (rx, items)))
        })
    }
}

/// A channel's feed: reads what each event made, until its last subscriber leaves.
async fn feed<V: Send + Sync + 'static>(
    feeds: Feeds,
    key: String,
    mut events: broadcast::Receiver<Signal>,
    tx: broadcast::Sender<Fed>,
    read: impl Fn(&Heard) -> Option<(i64, BoxFuture<'static, AppResult<V>>)>,
) {
    loop {
        let signal = tokio::select! {
            () = tx.closed() => {
                // Under the lock, so a subscriber joining now keeps the feed.
                let mut feeds = feeds.0.lock().expect("feeds lock");
                if tx.receiver_count() == 0 {
                    feeds.remove(&key);
                    return;
                }
                continue;
            }
            signal = events.recv() => signal,
        };
        let fed = match signal {
            Ok(Signal::Event(heard, at)) => match read(&heard) {
                Some((after, reading)) => match reading.await {
                    Ok(value) => Fed::Read { after, value: Arc::new(value), at },
                    Err(err) => {
                        tracing::warn!(error = ?err, "subscription feed read failed");
                        Fed::Yourself(at)
                    }
                },
                None => Fed::Yourself(at),
            },
            Ok(Signal::Resync(at)) => Fed::Yourself(at),
            Err(RecvError::Lagged(_)) => Fed::Yourself(Instant::now()),
            Err(RecvError::Closed) => {
                feeds.0.lock().expect("feeds lock").remove(&key);
                return;
            }
        };
        let _ = tx.send(fed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::{FutureExt, StreamExt};
    use uuid::Uuid;

    use super::*;
    use crate::realtime::Event;

    #[tokio::test]
    async fn every_subscriber_gets_one_read_per_event_and_the_feed_ends_with_its_last_subscriber() {
        let (bus, feeds, reads) = (Bus::new(None), Feeds::default(), Arc::new(AtomicUsize::new(0)));
        let entry = Uuid::nil();
        let subscribe = || {
            let reads = reads.clone();
            let read = move |heard: &Heard| match heard.event()? {
                Event::Entry { version, .. } => {
                    reads.fetch_add(1, Ordering::SeqCst);
                    let version = i64::from(version);
                    Some((version - 1, async move { Ok(vec![version]) }.boxed()))
                }
                _ => None,
            };
            let items = |versions: &Vec<i64>, _| versions.iter().map(|v| (*v, *v)).collect();
            feeds.subscribe(&bus, Channel::Entry(entry), read, items).boxed()
        };
        let (mut alice, mut bob) = (subscribe(), subscribe());
        let event = Event::Entry { entry, version: 2 };
        let published = crate::realtime::bus::Published {
            cursor: 1,
            channel: event.channel().to_string(),
            payload: serde_json::value::to_raw_value(&event).unwrap(),
        };
        bus.publish(vec![published]).await.unwrap();
        for subscriber in [&mut alice, &mut bob] {
            assert!(matches!(subscriber.next().await, Some(Wake::Items(1, _, items)) if items == [(2, 2)]));
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1, "one read for both");
        drop((alice, bob));
        let ended = async {
            while !feeds.0.lock().unwrap().is_empty() {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), ended).await.expect("the feed ended");
    }
}
