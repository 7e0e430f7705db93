//! Realtime writes: events into the outbox and notifications, always in the
//! caller's transaction so they exist exactly when the change does; watches;
//! marking notifications read.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;
use xpr_entity::{notification, outbox_event, watch};

use super::domain::{MODERATION_CHANNEL, NotificationKind, QueueEventKind, submission_channel};
use crate::{
    auth::Viewer,
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{UserId, new_uuid, user_channel},
    modules::{
        content::selectors as content_selectors, moderation::domain::TargetType, versioning::domain::SubmissionStatus,
    },
};

/// Queues events for the relay.
pub async fn emit(db: &impl ConnectionTrait, events: Vec<(String, Value)>) -> AppResult<()> {
    let now = Utc::now();
    let rows = events.into_iter().map(|(channel, payload)| outbox_event::ActiveModel {
        channel: Set(channel),
        payload: Set(payload),
        created_at: Set(now),
        ..Default::default()
    });
    Ok(db::insert_all(db, rows.collect(), None).await?)
}

/// A notification to write.
pub struct Note {
    pub user: (UserId, Uuid),
    pub kind: NotificationKind,
    pub subject: (TargetType, Uuid),
    pub message: String,
    pub actor: Option<UserId>,
}

/// Writes notifications and one event per recipient on their own channel, in
/// batches. The event carries the row, so a subscriber delivers it without a
/// read of its own: a merge can notify thousands of watchers at once.
pub async fn notify(db: &impl ConnectionTrait, notes: Vec<Note>) -> AppResult<()> {
    if notes.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let channels: HashMap<i64, String> = notes.iter().map(|n| (n.user.0.0, user_channel(n.user.1))).collect();
    let rows = notes.into_iter().map(|n| notification::ActiveModel {
        uuid: Set(new_uuid()),
        user_id: Set(n.user.0.0),
        kind: Set(n.kind),
        subject_type: Set(n.subject.0),
        subject_id: Set(n.subject.1),
        message: Set(n.message),
        actor_id: Set(n.actor.map(|a| a.0)),
        created_at: Set(now),
        ..Default::default()
    });
    let stored = db::insert_rows(db, rows.collect(), None).await?;
    let events =
        stored.into_iter().map(|row| (channels[&row.user_id].clone(), json!({ "notification": row }))).collect();
    emit(db, events).await
}

/// Notifies everyone watching these entries except `except` (the author of
/// the change): a constant number of statements whatever the watchers.
pub async fn notify_watchers(
    db: &impl ConnectionTrait,
    entries: &[(i64, Uuid)],
    message: &str,
    except: UserId,
) -> AppResult<()> {
    let watching = super::selectors::watchers(db, entries.iter().map(|e| e.0).collect(), except).await?;
    let notes = watching
        .into_iter()
        .filter_map(|(entry, user)| {
            let subject = entries.iter().find(|e| e.0 == entry)?.1;
            Some(Note {
                user,
                kind: NotificationKind::WatchedEntryUpdated,
                subject: (TargetType::Entry, subject),
                message: message.to_owned(),
                actor: Some(except),
            })
        })
        .collect();
    notify(db, notes).await
}

/// The events of a submission changing state: on its own channel, and on the
/// moderators' queue channel when the queue changed.
pub async fn submission_changed(
    db: &impl ConnectionTrait,
    submission: Uuid,
    status: SubmissionStatus,
    queue: Option<QueueEventKind>,
) -> AppResult<()> {
    submissions_changed(db, &[(submission, status, queue)]).await
}

/// [`submission_changed`] for many submissions at once, in one batch of events.
pub async fn submissions_changed(
    db: &impl ConnectionTrait,
    changes: &[(Uuid, SubmissionStatus, Option<QueueEventKind>)],
) -> AppResult<()> {
    let mut events = Vec::with_capacity(changes.len() * 2);
    for &(submission, status, queue) in changes {
        events.push((submission_channel(submission), json!({ "status": status })));
        if let Some(kind) = queue {
            let payload = json!({ "kind": kind, "submission": submission });
            events.push((MODERATION_CHANNEL.to_owned(), payload));
        }
    }
    emit(db, events).await
}

pub async fn watch(state: &Deps, viewer: &Viewer, entry: Uuid, on: bool) -> AppResult<xpr_entity::entry::Model> {
    let entry =
        content_selectors::entry_by_uuid(&state.db, entry).await?.ok_or_else(|| AppError::not_found("entry"))?;
    if on {
        let row =
            watch::ActiveModel { user_id: Set(viewer.id.0), entry_id: Set(entry.id), created_at: Set(Utc::now()) };
        // Watching twice is watching.
        watch::Entity::insert(row)
            .on_conflict_do_nothing_on([watch::Column::UserId, watch::Column::EntryId])
            .exec(&state.db)
            .await?;
    } else {
        watch::Entity::delete_many()
            .filter(watch::Column::UserId.eq(viewer.id.0))
            .filter(watch::Column::EntryId.eq(entry.id))
            .exec(&state.db)
            .await?;
    }
    Ok(entry)
}

/// Marks the viewer's notifications read (`ids`, or all); returns how many changed.
pub async fn mark_read(state: &Deps, viewer: &Viewer, ids: Option<Vec<Uuid>>) -> AppResult<u64> {
    let mut update = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
        .filter(notification::Column::UserId.eq(viewer.id.0))
        .filter(notification::Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(notification::Column::Uuid.is_in(ids));
    }
    Ok(update.exec(&state.db).await?.rows_affected)
}
