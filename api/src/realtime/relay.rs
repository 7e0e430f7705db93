//! The outbox relay: publishes committed events to the bus, oldest first, at
//! least once. Until the bus takes them (e.g. while Redis is down) they wait
//! in the table; published ones are kept a while for subscribers resuming by
//! cursor, then pruned.

use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType},
};
use xpr_entity::outbox_event;

use super::bus::{Bus, Published};
use crate::db;

const BATCH: u64 = 500;
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Relay {
    pub db: DatabaseConnection,
    pub bus: Bus,
    pub interval: Duration,
    pub retention: chrono::Duration,
}

impl Relay {
    pub async fn run(self) {
        let mut pruned_at = Instant::now();
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
            tokio::time::sleep(self.interval).await;
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
                .filter(outbox_event::Column::PublishedAt.is_null())
                .order_by_asc(outbox_event::Column::Id)
                .limit(BATCH)
        };
        // A cheap read first: an idle relay never takes SQLite's write lock.
        if pending().limit(1).all(&self.db).await?.is_empty() {
            return Ok(false);
        }
        let txn = db::write_txn(&self.db).await?;
        let mut select = pending();
        if self.db.get_database_backend() == DbBackend::Postgres {
            // Replicas' relays share the work instead of waiting on each other.
            select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = select.all(&txn).await?;
        if rows.is_empty() {
            // Another replica's relay holds them (SKIP LOCKED): nothing to do here.
            return Ok(false);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let count = rows.len() as u64;
        let events =
            rows.into_iter().map(|r| Published { cursor: r.id, channel: r.channel, payload: r.payload }).collect();
        self.bus.publish(events).await?;
        outbox_event::Entity::update_many()
            .col_expr(outbox_event::Column::PublishedAt, Expr::value(Utc::now()))
            .filter(outbox_event::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(count == BATCH)
    }
}
