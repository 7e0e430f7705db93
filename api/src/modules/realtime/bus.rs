//! The event bus behind one small interface: Redis pub/sub when configured,
//! so an event published by any process reaches subscribers on every process;
//! in-process otherwise. Either way subscribers read a local broadcast.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

/// A published outbox event; `cursor` is its outbox id.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub cursor: i64,
    pub channel: String,
    pub payload: Value,
}

/// What subscribers hear.
#[derive(Clone, Debug)]
pub enum Signal {
    Event(Arc<Event>),
    /// Events may have been missed (the Redis link was re-established):
    /// every subscriber catches up from the database.
    Resync,
}

#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Signal>,
    redis: Option<(ConnectionManager, String)>,
}

/// Events a slow subscriber may fall behind by before it resyncs from the database.
const LOCAL_CAPACITY: usize = 4096;

impl Bus {
    /// With Redis, spawns the task that forwards the shared channel into the
    /// local broadcast, reconnecting forever.
    pub fn new(redis: Option<(redis::Client, ConnectionManager, &str)>) -> Self {
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        let redis = redis.map(|(client, conn, prefix)| {
            let channel = format!("{prefix}:events");
            tokio::spawn(forward(client, channel.clone(), local.clone()));
            (conn, channel)
        });
        Self { local, redis }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.local.subscribe()
    }

    pub async fn publish(&self, events: Vec<Event>) -> anyhow::Result<()> {
        match &self.redis {
            None => {
                for event in events {
                    // No receiver is fine: nobody is listening.
                    let _ = self.local.send(Signal::Event(Arc::new(event)));
                }
            }
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

async fn forward(client: redis::Client, channel: String, local: broadcast::Sender<Signal>) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    tracing::info!("bus: subscribed to Redis");
                    let _ = local.send(Signal::Resync);
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        match message.get_payload::<String>().map(|p| serde_json::from_str::<Event>(&p)) {
                            Ok(Ok(event)) => {
                                let _ = local.send(Signal::Event(Arc::new(event)));
                            }
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
