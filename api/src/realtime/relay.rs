//! The outbox relay: publishes committed events to the bus, oldest first, at
//! least once. Until the bus takes them (e.g. while Redis is down) they wait
//! in the table; published ones are kept a while for subscribers resuming by
//! cursor, then pruned. On PostgreSQL the relay listens for the
//! notification a trigger sends when events are written (migration 13), so
//! it publishes as the writing transaction commits; the poll remains for
//! SQLite and for notifications lost while the listener reconnects.

use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType},
    sqlx::postgres::PgListener,
};
use serde_json::value::RawValue;
use xpr_entity::outbox_event;

use super::bus::{Bus, Published};
use crate::db;

const BATCH: u64 = 500;
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// What the outbox trigger notifies.
const WAKE_CHANNEL: &str = "outbox_events";

#[derive(Clone)]
pub struct Relay {
    pub db: DatabaseConnection,
    pub bus: Bus,
    pub interval: Duration,
    pub retention: chrono::Duration,
    /// PostgreSQL's URL, to listen for written events on a connection of its own.
    pub listen: Option<String>,
}

impl Relay {
    pub async fn run(self) {
        let mut pruned_at = Instant::now();
        let mut listener = self.listener().await;
        loop {
            match self.publish_pending().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "relay: events wait in the outbox"),
            }
            if pruned_at.elapsed() >= PRUNE_EVERY {
                pruned_at = Instant::now();
                let old = outbox_event::Entity::delete_many()
                    .filter(outbox_event::Column::PublishedAt.lt(Utc::now() - self.retention))
                    .exec(&self.db)
                    .await;
                if let Err(err) = old {
                    tracing::warn!(error = %err, "relay: pruning failed");
                }
            }
            self.wait(&mut listener).await;
        }
    }

    async fn listener(&self) -> Option<PgListener> {
        let url = self.listen.as_deref()?;
        let listening = async {
            let mut listener = PgListener::connect(url).await?;
            listener.listen(WAKE_CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => Some(listener),
            Err(err) => {
                tracing::warn!(error = %err, "relay: can't listen for events; polling only");
                None
            }
        }
    }

    /// Until events may be waiting: the interval, or a notification before it.
    async fn wait(&self, listener: &mut Option<PgListener>) {
        let Some(listener) = listener else { return tokio::time::sleep(self.interval).await };
        tokio::select! {
            () = tokio::time::sleep(self.interval) => {}
            // The listener reconnects on its next call; meanwhile the poll goes on.
            woken = listener.recv() => if woken.is_err() { tokio::time::sleep(self.interval).await },
        }
    }

    /// Publishes what is still waiting, as a server that stops does last.
    pub async fn flush(&self) {
        loop {
            match self.publish_pending().await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "relay: events wait in the outbox for another replica");
                    break;
                }
            }
        }
    }

    /// Publishes one batch; true when more may be waiting.
    async fn publish_pending(&self) -> anyhow::Result<bool> {
        let pending = || {
            outbox_event::Entity::find()
                .select_only()
                .column(outbox_event::Column::Id)
                .filter(outbox_event::Column::PublishedAt.is_null())
                .order_by_asc(outbox_event::Column::Id)
                .limit(BATCH)
        };
        // A cheap read first: an idle relay never takes SQLite's write lock.
        if pending().into_tuple::<i64>().one(&self.db).await?.is_none() {
            return Ok(false);
        }
        let txn = db::write_txn(&self.db).await?;
        // Payloads as the text they are stored as: the bus carries them as
        // text, and a merge's batches of notifications are megabytes.
        let mut select = pending()
            .column(outbox_event::Column::Channel)
            .expr(Expr::col(outbox_event::Column::Payload).cast_as(Alias::new("text")));
        if self.db.get_database_backend() == DbBackend::Postgres {
            // Replicas' relays share the work instead of waiting on each other.
            select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows: Vec<(i64, String, String)> = select.into_tuple().all(&txn).await?;
        if rows.is_empty() {
            // Another replica's relay holds them (SKIP LOCKED): nothing to do here.
            return Ok(false);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let count = rows.len() as u64;
        let events = rows.into_iter().map(|(cursor, channel, payload)| {
            Ok(Published { cursor, channel, payload: RawValue::from_string(payload)? })
        });
        self.bus.publish(events.collect::<serde_json::Result<_>>()?).await?;
        outbox_event::Entity::update_many()
            .col_expr(outbox_event::Column::PublishedAt, Expr::value(Utc::now()))
            .filter(outbox_event::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(count == BATCH)
    }
}
