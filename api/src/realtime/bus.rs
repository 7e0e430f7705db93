//! The event bus behind one small interface: Redis pub/sub when configured,
//! so an event published by any process reaches subscribers on every process;
//! in-process otherwise. Either way each process keeps one local broadcast per
//! channel, so an event wakes only the subscribers of its channel.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::broadcast;

use super::{Channel, Event, Notices, Recipient};

/// An outbox row as the bus carries it; `cursor` is its outbox id. The
/// payload stays JSON text until a subscriber decodes it: every process
/// receives every batch of notifications, and only splits it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Published {
    pub cursor: i64,
    pub channel: String,
    pub payload: Box<RawValue>,
}

impl Published {
    pub fn event(&self) -> Option<Event> {
        serde_json::from_str(self.payload.get()).ok()
    }
}

/// An event as a subscriber hears it.
#[derive(Clone, Debug)]
pub enum Heard {
    /// As published: decoded by the subscribers that need it.
    Published(Arc<Published>),
    /// One recipient's notification out of a batch (`NotifiedMany`): the
    /// batch is decoded once per process, and no recipient's notification
    /// is written out as JSON only to be parsed back by its subscriber.
    Notified(Arc<Notices>, Recipient),
}

impl Heard {
    pub fn event(&self) -> Option<Event> {
        match self {
            Self::Published(published) => published.event(),
            Self::Notified(notices, recipient) => Some(Event::Notified { notification: notices.notice.to(*recipient) }),
        }
    }
}

/// What subscribers hear, stamped with when this process received it: a read
/// started after that instant sees the change (see `realtime::reads`).
#[derive(Clone, Debug)]
pub enum Signal {
    Event(Heard, Instant),
    /// Events may have been missed (the Redis link was re-established):
    /// every subscriber catches up from the database.
    Resync(Instant),
}

#[derive(Clone)]
pub struct Bus {
    local: Arc<Local>,
    redis: Option<(ConnectionManager, String)>,
}

/// Events a slow subscriber may fall behind by on a channel before it
/// resyncs from the database. A buffer of this many slots is allocated per
/// channel: a user's own channels exist for each signed-in user and carry
/// few events at a time, so theirs are small (docs/benchmarks.md).
fn capacity(channel: Channel) -> usize {
    match channel {
        Channel::User(_) | Channel::Credentials(_) | Channel::Submission(_) | Channel::Users => 4,
        Channel::Entry(_) | Channel::Moderation => 64,
    }
}

/// The local broadcasts, by channel.
#[derive(Default)]
struct Local {
    channels: Mutex<Channels>,
}

#[derive(Default)]
struct Channels {
    senders: HashMap<String, broadcast::Sender<Signal>>,
    /// Size at which channels without subscribers are swept (amortised).
    sweep_at: usize,
}

impl Channels {
    /// Signals `channel` with what `heard` makes, if the channel has
    /// subscribers in this process: most recipients of a batch of
    /// notifications have none here, and theirs is never made.
    fn send(&mut self, channel: &str, heard: impl FnOnce() -> Heard, at: Instant) {
        let Some(tx) = self.senders.get(channel) else { return };
        // An error means nobody listens any more.
        if tx.send(Signal::Event(heard(), at)).is_err() {
            self.senders.remove(channel);
        }
    }
}

impl Local {
    fn subscribe(&self, channel: Channel) -> broadcast::Receiver<Signal> {
        let mut channels = self.channels.lock().expect("bus lock");
        if channels.senders.len() >= channels.sweep_at {
            channels.senders.retain(|_, tx| tx.receiver_count() > 0);
            channels.sweep_at = (channels.senders.len() * 2).max(64);
        }
        let sender = channels.senders.entry(channel.to_string());
        sender.or_insert_with(|| broadcast::channel(capacity(channel)).0).subscribe()
    }

    /// Signals the event's channel; a batch of notifications, each recipient's
    /// channel that has subscribers in this process.
    fn dispatch(&self, published: Published) {
        let mut channels = self.channels.lock().expect("bus lock");
        let now = Instant::now();
        if published.channel != Channel::Users.to_string() {
            let channel = published.channel.clone();
            return channels.send(&channel, || Heard::Published(Arc::new(published)), now);
        }
        let Some(notices) = Notices::decode(&published.payload) else { return };
        let notices = Arc::new(notices);
        for &recipient in &notices.recipients {
            channels.send(&Channel::User(recipient.2).to_string(), || Heard::Notified(notices.clone(), recipient), now);
        }
    }

    fn resync(&self) {
        let now = Instant::now();
        self.channels.lock().expect("bus lock").senders.retain(|_, tx| tx.send(Signal::Resync(now)).is_ok());
    }
}

impl Bus {
    /// With Redis, spawns the task that forwards the shared channel into the
    /// local broadcasts, reconnecting forever.
    pub fn new(redis: Option<(redis::Client, ConnectionManager, &str)>) -> Self {
        let local = Arc::new(Local::default());
        let redis = redis.map(|(client, conn, prefix)| {
            let channel = format!("{prefix}:events");
            tokio::spawn(forward(client, channel.clone(), local.clone()));
            (conn, channel)
        });
        Self { local, redis }
    }

    /// Signals for `channel` (and resyncs).
    pub fn subscribe(&self, channel: Channel) -> broadcast::Receiver<Signal> {
        self.local.subscribe(channel)
    }

    pub async fn publish(&self, events: Vec<Published>) -> anyhow::Result<()> {
        match &self.redis {
            // Redis refuses an empty pipeline.
            _ if events.is_empty() => {}
            None => events.into_iter().for_each(|event| self.local.dispatch(event)),
            Some((conn, channel)) => {
                let mut pipe = redis::pipe();
                for event in &events {
                    pipe.publish(channel, serde_json::to_string(event)?).ignore();
                }
                pipe.query_async::<()>(&mut conn.clone()).await?;
            }
        }
        Ok(())
    }
}

async fn forward(client: redis::Client, channel: String, local: Arc<Local>) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    tracing::info!("bus: subscribed to Redis");
                    local.resync();
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        match message.get_payload::<String>().map(|p| serde_json::from_str::<Published>(&p)) {
                            Ok(Ok(event)) => local.dispatch(event),
                            _ => tracing::warn!("bus: unreadable message ignored"),
                        }
                    }
                    tracing::warn!("bus: Redis subscription lost; reconnecting");
                }
                Err(err) => tracing::warn!(error = %err, "bus: Redis subscribe failed"),
            },
            Err(err) => tracing::debug!(error = %err, "bus: Redis unreachable"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::{
        ids::UserId,
        realtime::{Notice, NotificationKind},
    };

    fn published(event: &Event) -> Published {
        Published {
            cursor: 1,
            channel: event.channel().to_string(),
            payload: serde_json::value::to_raw_value(event).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_batch_of_notifications_reaches_each_recipient_as_their_own() {
        let bus = Bus::new(None);
        let (mut alice, mut bob) = (bus.subscribe(Channel::User(UserId(1))), bus.subscribe(Channel::User(UserId(2))));
        let note = |user| xpr_entity::notification::Model {
            id: Default::default(),
            uuid: Uuid::nil(),
            user_id: UserId(user),
            kind: NotificationKind::WatchedEntryUpdated,
            subject_type: xpr_entity::enums::TargetType::Entry,
            subject_id: Uuid::nil(),
            message: "changed".into(),
            actor_id: None,
            read_at: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
        };
        let ((notice, to_alice), (_, to_carol)) = (Notice::of(&note(1)), Notice::of(&note(3)));
        let batch = Event::NotifiedMany(Notices { notice, recipients: vec![to_alice, to_carol] });
        bus.publish(vec![published(&batch)]).await.unwrap();
        assert!(
            matches!(alice.try_recv(), Ok(Signal::Event(event, _)) if event.event() == Some(Event::Notified { notification: note(1) }))
        );
        assert!(bob.try_recv().is_err(), "bob was not notified");
    }

    #[tokio::test]
    async fn a_credential_change_wakes_only_its_users_subscribers_and_a_resync_wakes_every_one() {
        let bus = Bus::new(None);
        let (mut alice, mut bob) =
            (bus.subscribe(Channel::Credentials(UserId(1))), bus.subscribe(Channel::Credentials(UserId(2))));
        bus.publish(vec![published(&Event::Credentials { user: UserId(1) })]).await.unwrap();
        assert!(
            matches!(alice.try_recv(), Ok(Signal::Event(event, _)) if event.event() == Some(Event::Credentials { user: UserId(1) }))
        );
        assert!(bob.try_recv().is_err(), "another user's change doesn't wake bob");
        // After a Redis reconnect, events may have been missed: everyone checks.
        bus.local.resync();
        assert!(matches!(alice.try_recv(), Ok(Signal::Resync(_))));
        assert!(matches!(bob.try_recv(), Ok(Signal::Resync(_))));
    }
}
