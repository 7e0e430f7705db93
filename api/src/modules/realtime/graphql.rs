//! Notifications, watchlists and the subscriptions.
//!
//! Every subscription follows one shape: subscribe to the bus first, then read
//! from the database what came after the cursor; each bus event on the
//! channel (or a resync after a Redis outage, or falling behind) only wakes
//! the stream to read again. Events therefore can't be lost between a
//! reconnect and the first live event, and cursors drop duplicates.

use std::{
    collections::VecDeque,
    future::Future,
    time::{Duration, Instant},
};

use async_graphql::{Context, Enum, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt, stream};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;
use xpr_entity::{notification, outbox_event, submission};

use super::{
    bus::{Event, Signal},
    domain::{MODERATION_CHANNEL, NotificationKind, QueueEventKind, entry_channel, submission_channel},
    selectors, service,
};
use crate::{
    auth::policy::{self, Action},
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
        pagination::{self, Connection},
    },
    http::websocket::{SubscriptionSlot, SubscriptionSlots},
    ids::{UserId, parse_uuid, user_channel},
    modules::{
        content::{graphql::Entry, selectors as content_selectors},
        identity::graphql::User,
        moderation::domain::TargetType,
        versioning::{graphql::Submission, selectors as versioning_selectors},
    },
    paging::{Cursor, Page},
};

pub struct Notification(notification::Model);

fields::object!(Notification);

#[Object(name = "Notification")]
impl Fields<'_, Notification> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    /// Pass the last one received as `notificationReceived(after:)` to resume without a gap.
    async fn cursor(&self) -> String {
        self.0.id.to_string()
    }
    async fn kind(&self) -> Option<NotificationKind> {
        Some(self.0.kind)
    }
    /// What the notification is about: an entry, a submission, a review or a report.
    async fn subject_type(&self) -> Option<TargetType> {
        Some(self.0.subject_type)
    }
    async fn subject_id(&self) -> ID {
        ID(self.0.subject_id.to_string())
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
    /// Who caused it, when someone did.
    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        match self.0.actor_id {
            Some(id) => User::load(ctx, UserId(id)).await,
            None => Ok(None),
        }
    }
    async fn read(&self) -> bool {
        self.0.read_at.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A change in the moderation queue.
#[derive(SimpleObject)]
pub struct QueueEvent {
    /// Pass the last one received as `moderationQueueChanged(after:)` to resume.
    cursor: String,
    kind: Option<QueueEventKind>,
    submission: Option<Submission>,
}

#[derive(Enum, Copy, Clone, PartialEq, Eq)]
enum Watch {
    Watch,
    Unwatch,
}

#[derive(Default)]
pub struct RealtimeQuery;

#[Object]
impl RealtimeQuery {
    /// The viewer's notifications, newest first.
    #[graphql(complexity = "pagination::complexity(child_complexity, first)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] unread_only: bool,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Notification>> {
        let viewer = ctx.auth().require()?;
        let page = Page::parse(first, after)?;
        let (rows, has_next) = selectors::notifications(&ctx.state().db, viewer.id, unread_only, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, |n| Cursor::new(None, n.uuid), Notification))
    }

    async fn unread_notification_count(&self, ctx: &Context<'_>) -> AppResult<u64> {
        selectors::unread_count(&ctx.state().db, ctx.auth().require()?.id).await
    }

    /// Entries the viewer watches, most recently watched first.
    async fn watched_entries(&self, ctx: &Context<'_>) -> AppResult<Vec<Entry>> {
        let viewer = ctx.auth().require()?;
        let ids = selectors::watched_entry_ids(&ctx.state().db, viewer.id).await?;
        let loaded = ctx
            .loaders()
            .content
            .load_many(ids.iter().map(|id| content_selectors::EntryKey(*id)))
            .await
            .map_err(AppError::internal)?;
        Ok(ids.iter().filter_map(|id| loaded.get(&content_selectors::EntryKey(*id)).cloned()).map(Entry::new).collect())
    }
}

#[derive(Default)]
pub struct RealtimeMutation;

#[Object]
impl RealtimeMutation {
    /// Marks the viewer's notifications read (the given ones, or all); returns how many changed.
    async fn mark_notifications_read(&self, ctx: &Context<'_>, ids: Option<Vec<ID>>) -> AppResult<u64> {
        let ids =
            ids.map(|ids| ids.iter().map(|id| parse_uuid("ids", id)).collect::<AppResult<Vec<_>>>()).transpose()?;
        service::mark_read(ctx.state(), ctx.auth().require()?, ids).await
    }

    /// Merges touching the entry notify the viewer (unless the viewer made them).
    async fn watch_entry(&self, ctx: &Context<'_>, entry_id: ID) -> AppResult<Entry> {
        watch(ctx, &entry_id, Watch::Watch).await
    }

    async fn unwatch_entry(&self, ctx: &Context<'_>, entry_id: ID) -> AppResult<Entry> {
        watch(ctx, &entry_id, Watch::Unwatch).await
    }
}

async fn watch(ctx: &Context<'_>, entry_id: &ID, how: Watch) -> AppResult<Entry> {
    let id = parse_uuid("entryId", entry_id)?;
    let viewer = ctx.auth().require()?;
    Ok(Entry::new(service::watch(ctx.state(), viewer, id, how == Watch::Watch).await?))
}

/// Why a subscription wakes up.
enum Wake<T> {
    /// A signal arrived at this instant: read what came after the cursor.
    Read(Instant),
    /// The event carried its item, with the item's cursor: no read needed.
    Item(i64, T),
}

/// Wakes when the bus carries an event of the channel `rx` listens to, or may
/// have dropped one. `carried` takes the item out of an event that has one.
fn wake_ups<T: Send + 'static>(
    rx: broadcast::Receiver<Signal>,
    carried: fn(&Event) -> Option<(i64, T)>,
) -> impl Stream<Item = Wake<T>> + Send {
    stream::unfold(rx, move |mut rx| async move {
        let wake = match rx.recv().await {
            Ok(Signal::Event(event, at)) => carried(&event).map_or(Wake::Read(at), |(at, item)| Wake::Item(at, item)),
            Ok(Signal::Resync(at)) => Wake::Read(at),
            Err(RecvError::Lagged(_)) => Wake::Read(Instant::now()),
            Err(RecvError::Closed) => return None,
        };
        Some((wake, rx))
    })
}

/// For subscriptions whose events carry no item.
fn nothing<T>(_: &Event) -> Option<(i64, T)> {
    None
}

/// A cursor's integer value; a bad one is the client's error.
fn parse_cursor(after: Option<String>) -> AppResult<Option<i64>> {
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
    /// Where the next read starts, after folding settled cursors into the floor.
    fn read_from(&mut self) -> i64 {
        while let Some(&(at, when)) = self.recent.front() {
            if when.elapsed() < SETTLE {
                break;
            }
            self.floor = self.floor.max(at);
            self.recent.pop_front();
        }
        self.floor
    }

    fn newest(&self) -> i64 {
        self.recent.iter().map(|r| r.0).fold(self.floor, i64::max)
    }

    fn is_new(&self, at: i64) -> bool {
        at > self.floor && !self.recent.iter().any(|r| r.0 == at)
    }

    fn mark(&mut self, at: i64) {
        self.recent.push_back((at, Instant::now()));
    }
}

/// Delivers what `fetch` finds after a cursor, in order: at once, then on
/// every wake-up. Nothing is delivered twice, nor at or below `cursor`.
/// `fetch` is told the cursor and when the signal it answers arrived.
fn after_cursor<T, F, Fut>(
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
                Wake::Item(at, item) => {
                    if delivered.is_new(at) {
                        buffer.push_back((at, item));
                    }
                    continue;
                }
            };
            let mut from = delivered.read_from();
            more = false;
            // Twice at most: when a full page holds only recent cursors, read past them.
            for _ in 0..2 {
                let Some(items) = fetch(from, woken).await else { break };
                let full = items.len() as u64 == selectors::CATCH_UP;
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

/// Takes a subscription slot of the connection (WebSocket only).
fn slot(ctx: &Context<'_>) -> AppResult<Option<SubscriptionSlot>> {
    match ctx.data_opt::<SubscriptionSlots>() {
        None => Ok(None),
        Some(slots) => slots
            .take()
            .map(Some)
            .ok_or_else(|| AppError::forbidden(format!("at most {} subscriptions per connection", slots.max()))),
    }
}

#[derive(Default)]
pub struct RealtimeSubscription;

#[Subscription]
impl RealtimeSubscription {
    /// The viewer's own notifications as they are written. With `after` (a
    /// notification's `cursor`), first those missed since, in order.
    async fn notification_received(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Notification> + use<>> {
        let viewer = ctx.auth().require()?.clone();
        let slot = slot(ctx)?;
        let state = ctx.state().clone();
        let rx = state.bus.subscribe(&user_channel(viewer.uuid));
        let cursor = match parse_cursor(after)? {
            Some(cursor) => cursor,
            None => selectors::last_notification(&state.db, viewer.id).await?,
        };
        let fetch = move |after, woken| {
            let (db, reads) = (state.db.clone(), state.reads.clone());
            async move {
                let read = async move { selectors::notifications_after(&db, viewer.id, after).await };
                let rows = reads.read(format!("notifications:{}:{after}", viewer.id.0), woken, read).await?;
                Some(rows.iter().map(|n| (n.id, Notification(n.clone()))).collect())
            }
        };
        let carried = |event: &Event| {
            let row = notification::Model::deserialize(&event.payload["notification"]).ok()?;
            Some((row.id, Notification(row)))
        };
        Ok(after_cursor(wake_ups(rx, carried), cursor, fetch, slot))
    }

    /// The entry after each merge that changes it: every version once, in
    /// order, as it was at that version, like `entry(at:)` (the versioned
    /// fields, `version`, `revisionShown`, `updatedAt`; reviews, ratings,
    /// `media`, backlinks and children show the entry as it is when
    /// delivered). With `afterVersion`, first each version since that one.
    async fn entry_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
        after_version: Option<i32>,
    ) -> async_graphql::Result<impl Stream<Item = Entry> + use<>> {
        let uuid = parse_uuid("id", &id)?;
        let slot = slot(ctx)?;
        let state = ctx.state().clone();
        let rx = state.bus.subscribe(&entry_channel(uuid));
        let entry =
            content_selectors::entry_by_uuid(&state.db, uuid).await?.ok_or_else(|| AppError::not_found("entry"))?;
        let cursor = after_version.unwrap_or(entry.version).into();
        // Each revision after the cursor, not the entry's current state: a
        // subscriber woken once for several merges delivers each of them.
        let fetch = move |after, woken| {
            let (db, reads) = (state.db.clone(), state.reads.clone());
            async move {
                let read = async move { selectors::entry_versions_after(&db, uuid, after).await };
                let found = reads.read(format!("entry:{uuid}:{after}"), woken, read).await?;
                let Some((entry, revisions)) = found.as_ref() else { return Some(Vec::new()) };
                Some(revisions.iter().map(|r| (i64::from(r.0.number), Entry::at(entry.clone(), r.clone()))).collect())
            }
        };
        Ok(after_cursor(wake_ups(rx, nothing), cursor, fetch, slot))
    }

    /// The submission each time its state changes (its author and moderators only).
    async fn submission_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Submission> + use<>> {
        let uuid = parse_uuid("id", &id)?;
        let viewer = ctx.auth().require()?.clone();
        let state = ctx.state().clone();
        let rx = state.bus.subscribe(&submission_channel(uuid));
        let submission = versioning_selectors::visible_submission(&state.db, Some(&viewer), uuid)
            .await?
            .filter(|s| policy::allows(Some(&viewer), Action::ReadPrivate { author: UserId(s.author_id) }))
            .ok_or_else(|| AppError::not_found("submission"))?;
        let slot = slot(ctx)?;
        // Each state change is a new update time: that is the cursor.
        let cursor = submission.updated_at.timestamp_micros();
        let fetch = move |_, woken| {
            let (db, reads) = (state.db.clone(), state.reads.clone());
            async move {
                let read = async move { versioning_selectors::submission_by_uuid(&db, uuid).await };
                let found = reads.read(format!("submission:{uuid}"), woken, read).await?;
                Some(found.iter().map(|s| (s.updated_at.timestamp_micros(), Submission(s.clone()))).collect())
            }
        };
        Ok(after_cursor(wake_ups(rx, nothing), cursor, fetch, slot))
    }

    /// Moderators: the queue's changes. With `after` (an event's `cursor`),
    /// first those missed since (kept for `XPR_OUTBOX_RETENTION_HOURS`).
    async fn moderation_queue_changed(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = QueueEvent> + use<>> {
        policy::check(ctx.auth().require()?, Action::Moderate)?;
        let slot = slot(ctx)?;
        let state = ctx.state().clone();
        let rx = state.bus.subscribe(MODERATION_CHANNEL);
        let cursor = match parse_cursor(after)? {
            Some(cursor) => cursor,
            None => selectors::last_event(&state.db, MODERATION_CHANNEL).await?,
        };
        let fetch = move |after, woken| {
            let (db, reads) = (state.db.clone(), state.reads.clone());
            async move {
                let read = async move {
                    let mut events = Vec::new();
                    for event in selectors::events_after(&db, MODERATION_CHANNEL, after).await? {
                        let submission =
                            match event.payload["submission"].as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                                Some(id) => versioning_selectors::submission_by_uuid(&db, id).await?,
                                None => None,
                            };
                        events.push((event, submission));
                    }
                    AppResult::Ok(events)
                };
                let events = reads.read(format!("queue:{after}"), woken, read).await?;
                let event = |(event, submission): &(outbox_event::Model, Option<submission::Model>)| {
                    let kind = QueueEventKind::deserialize(&event.payload["kind"]).ok();
                    let submission = submission.clone().map(Submission);
                    (event.id, QueueEvent { cursor: event.id.to_string(), kind, submission })
                };
                Some(events.iter().map(event).collect())
            }
        };
        Ok(after_cursor(wake_ups(rx, nothing), cursor, fetch, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
