//! Realtime, beside the modules: any module's service writes events (and the
//! notifications they cause) here, in its own transaction, so they exist
//! exactly when the change does. The relay publishes the outbox to the bus;
//! the delivery engine turns bus signals into subscription items.
//! Owns the `outbox_events` and `notifications` writes; what notifications a
//! user reads, and watches, belong to `modules::notifications`.

pub mod bus;
pub mod delivery;
mod event;
pub mod feeds;
pub mod reads;
pub mod relay;

use std::collections::HashMap;

use chrono::Utc;
pub use event::{Channel, Event, Notice, Notices, NotificationKind, QueueEventKind, Recipient};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use xpr_entity::{enums::SubmissionStatus, notification, outbox_event, watch};

use crate::{
    audit::TargetType,
    db,
    error::{AppError, AppResult},
    ids::{EntryId, UserId, new_uuid},
};

/// Queues events for the relay.
pub async fn emit(db: &impl ConnectionTrait, events: Vec<Event>) -> AppResult<()> {
    let now = Utc::now();
    let rows = events.into_iter().map(|event| {
        Ok(outbox_event::ActiveModel {
            channel: Set(event.channel().to_string()),
            payload: Set(serde_json::to_value(&event).map_err(AppError::internal)?),
            created_at: Set(now),
            ..Default::default()
        })
    });
    Ok(db::insert_all(db, rows.collect::<AppResult<_>>()?, None).await?)
}

/// A notification to write.
pub struct Note {
    pub user: UserId,
    pub kind: NotificationKind,
    pub subject: (TargetType, Uuid),
    pub message: String,
    pub actor: Option<UserId>,
}

/// Writes notifications, and an event carrying them in batches: each
/// recipient's subscriber delivers theirs without a read of its own, and a
/// merge notifying thousands of watchers writes a few outbox rows, not one per
/// watcher (docs/benchmarks.md).
pub async fn notify(db: &impl ConnectionTrait, notes: Vec<Note>) -> AppResult<()> {
    if notes.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = notes.into_iter().map(|n| notification::ActiveModel {
        uuid: Set(new_uuid()),
        user_id: Set(n.user),
        kind: Set(n.kind),
        subject_type: Set(n.subject.0),
        subject_id: Set(n.subject.1),
        message: Set(n.message),
        actor_id: Set(n.actor),
        created_at: Set(now),
        ..Default::default()
    });
    let stored: Vec<notification::Model> = db::insert_rows(db, rows.collect(), None).await?;
    // Consecutive notifications saying the same thing travel together.
    let mut events = Vec::new();
    for (notice, recipient) in stored.iter().map(Notice::of) {
        match events.last_mut() {
            Some(Event::NotifiedMany(Notices { notice: last, recipients }))
                if *last == notice && recipients.len() < RECIPIENTS_PER_EVENT =>
            {
                recipients.push(recipient);
            }
            _ => events.push(Event::NotifiedMany(Notices { notice, recipients: vec![recipient] })),
        }
    }
    emit(db, events).await
}

/// Recipients per outbox event: a bus message of about 100 kilobytes at most.
const RECIPIENTS_PER_EVENT: usize = 2000;

/// Notifies everyone watching these entries except `except` (the author of
/// the change): a constant number of statements whatever the watchers.
pub async fn notify_watchers(
    db: &impl ConnectionTrait,
    entries: &[(EntryId, Uuid)],
    message: &str,
    except: UserId,
) -> AppResult<()> {
    let mut watching: Vec<(EntryId, UserId)> = watch::Entity::find()
        .select_only()
        .column(watch::Column::EntryId)
        .column(watch::Column::UserId)
        .filter(watch::Column::EntryId.is_in(entries.iter().map(|e| e.0)))
        .filter(watch::Column::UserId.ne(except))
        .into_tuple()
        .all(db)
        .await?;
    // Each entry's watchers together: their notifications say the same thing, and travel together.
    watching.sort_unstable();
    let subjects: HashMap<EntryId, Uuid> = entries.iter().copied().collect();
    let notes = watching.into_iter().map(|(entry, user)| Note {
        user,
        kind: NotificationKind::WatchedEntryUpdated,
        subject: (TargetType::Entry, subjects[&entry]),
        message: message.to_owned(),
        actor: Some(except),
    });
    notify(db, notes.collect()).await
}

/// The events of submissions changing state: each on its own channel, and on
/// the moderators' queue channel when the queue changed.
pub async fn submissions_changed(
    db: &impl ConnectionTrait,
    changes: &[(Uuid, SubmissionStatus, Option<QueueEventKind>)],
) -> AppResult<()> {
    let mut events = Vec::with_capacity(changes.len() * 2);
    for &(submission, status, queue) in changes {
        events.push(Event::Submission { submission, status });
        if let Some(kind) = queue {
            events.push(Event::Queue { kind, submission });
        }
    }
    emit(db, events).await
}

/// [`submissions_changed`] for one submission.
pub async fn submission_changed(
    db: &impl ConnectionTrait,
    submission: Uuid,
    status: SubmissionStatus,
    queue: Option<QueueEventKind>,
) -> AppResult<()> {
    submissions_changed(db, &[(submission, status, queue)]).await
}

/// Events of a channel after a cursor, oldest first (kept for the outbox retention).
pub async fn events_after(
    db: &impl ConnectionTrait,
    channel: Channel,
    after: i64,
    limit: u64,
) -> AppResult<Vec<(i64, Option<Event>)>> {
    let rows: Vec<(i64, serde_json::Value)> = outbox_event::Entity::find()
        .select_only()
        .columns([outbox_event::Column::Id, outbox_event::Column::Payload])
        .filter(outbox_event::Column::Channel.eq(channel.to_string()))
        .filter(outbox_event::Column::Id.gt(after))
        .order_by_asc(outbox_event::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, payload)| (id, Event::decode(&payload))).collect())
}

/// The newest event cursor of a channel (where a fresh subscription starts).
pub async fn last_event(db: &impl ConnectionTrait, channel: Channel) -> AppResult<i64> {
    let last: Option<i64> = outbox_event::Entity::find()
        .select_only()
        .column(outbox_event::Column::Id)
        .filter(outbox_event::Column::Channel.eq(channel.to_string()))
        .order_by_desc(outbox_event::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.unwrap_or(0))
}
