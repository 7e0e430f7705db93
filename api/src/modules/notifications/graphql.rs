//! Notifications, watchlists and the subscription fields. Every subscription
//! runs on `realtime::delivery`: bus signals wake it, the database says what
//! to deliver after the client's cursor.

use std::time::Instant;

use async_graphql::{Context, Enum, ID, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{FutureExt, Stream};
use xpr_entity::{notification, submission};

use super::{
    selectors::{self, EntryVersions},
    service,
};
use crate::{
    audit::TargetType,
    auth::policy::{self, Action},
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
        pagination::{self, Connection},
        rendered::Rendered,
    },
    ids::parse_uuid,
    modules::{
        content::{graphql::Entry, selectors as content_selectors},
        identity::graphql::User,
        versioning::{graphql::Submission, selectors as versioning_selectors},
    },
    paging::{Cursor, Page},
    realtime::{
        self, Channel, Event, NotificationKind, QueueEventKind,
        bus::Heard,
        delivery::{CATCH_UP, SubscriptionSlot, SubscriptionSlots, after_cursor, nothing, parse_cursor, wake_ups},
    },
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
            Some(id) => User::load(ctx, id).await,
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

/// A notification as a subscription delivers it: its recipient's alone.
fn notification(model: notification::Model, woken: Instant) -> Rendered<Notification> {
    Rendered { key: None, item: Notification(model), woken }
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
pub struct NotificationsQuery;

#[Object]
impl NotificationsQuery {
    /// The viewer's notifications, newest first.
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
pub struct NotificationsMutation;

#[Object]
impl NotificationsMutation {
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

/// The reads that set a subscription up are boxed (`Box::pin(..).await`):
/// async-graphql keeps each field's resolver future for as long as the
/// subscription lives, and its size is that of its largest await.
#[derive(Default)]
pub struct NotificationsSubscription;

// The schema's root type keeps its published name.
#[Subscription(name = "RealtimeSubscription")]
impl NotificationsSubscription {
    /// The viewer's own notifications as they are written. With `after` (a
    /// notification's `cursor`), first those missed since, in order.
    async fn notification_received(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Rendered<Notification>> + use<>> {
        let viewer = ctx.auth().require()?.clone();
        let slot = slot(ctx)?;
        let state = ctx.state().clone();
        let rx = state.bus.subscribe(Channel::User(viewer.id));
        let cursor = match parse_cursor(after)? {
            Some(cursor) => cursor,
            None => Box::pin(selectors::last_notification(&state.db, viewer.id)).await?,
        };
        let fetch = move |after, woken| {
            let (db, reads) = (state.db.clone(), state.reads.clone());
            async move {
                let read = async move { selectors::notifications_after(&db, viewer.id, after).await };
                let rows = reads.read(format!("notifications:{}:{after}", viewer.id.0), woken, read).await?;
                Some(rows.iter().map(|n| (n.id.0, notification(n.clone(), woken))).collect())
            }
        };
        let carried = |heard: &Heard, woken| match heard.event()? {
            Event::Notified { notification: n } => Some((n.id.0, notification(n, woken))),
            _ => None,
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
    ) -> async_graphql::Result<impl Stream<Item = Rendered<Entry>> + use<>> {
        let uuid = parse_uuid("id", &id)?;
        let slot = slot(ctx)?;
        let state = ctx.state().clone();
        // Each revision after the cursor, not the entry's current state: a
        // subscriber woken once for several merges delivers each of them.
        let items = move |found: &Option<EntryVersions>, woken| {
            let Some((entry, revisions)) = found else { return Vec::new() };
            let at = |version: i32, item| {
                (i64::from(version), Rendered { key: Some(format!("entry:{uuid}:{version}")), item, woken })
            };
            revisions.iter().map(|r| at(r.0.number, Entry::at(entry.clone(), r.clone()))).collect()
        };
        // A merge's event names the version it made: the feed reads it once for all.
        let db = state.db.clone();
        let made = move |heard: &Heard| match heard.event()? {
            Event::Entry { version, .. } => {
                let (db, after) = (db.clone(), i64::from(version) - 1);
                Some((after, async move { selectors::entry_versions_after(&db, uuid, after).await }.boxed()))
            }
            _ => None,
        };
        let wake = state.feeds.subscribe(&state.bus, Channel::Entry(uuid), made, items);
        let entry = Box::pin(content_selectors::entry_by_uuid(&state.db, uuid))
            .await?
            .ok_or_else(|| AppError::not_found("entry"))?;
        let cursor = after_version.unwrap_or(entry.version).into();
        let fetch = move |after, woken| {
            let (db, reads) = (state.db.clone(), state.reads.clone());
            async move {
                let read = async move { selectors::entry_versions_after(&db, uuid, after).await };
                Some(items(reads.read(format!("entry:{uuid}:{after}"), woken, read).await?.as_ref(), woken))
            }
        };
        Ok(after_cursor(wake, cursor, fetch, slot))
    }

    /// The submission each time its state changes (its author and moderators only).
    async fn submission_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Rendered<Submission>> + use<>> {
        let uuid = parse_uuid("id", &id)?;
        let viewer = ctx.auth().require()?.clone();
        let state = ctx.state().clone();
        let rx = state.bus.subscribe(Channel::Submission(uuid));
        let submission = Box::pin(versioning_selectors::visible_submission(&state.db, Some(&viewer), uuid))
            .await?
            .filter(|s| policy::allows(Some(&viewer), Action::ReadPrivate { author: s.author_id }))
            .ok_or_else(|| AppError::not_found("submission"))?;
        let slot = slot(ctx)?;
        // Each state change is a new update time: that is the cursor.
        let cursor = submission.updated_at.timestamp_micros();
        let fetch = move |_, woken| {
            let (db, reads) = (state.db.clone(), state.reads.clone());
            async move {
                let read = async move { versioning_selectors::submission_by_uuid(&db, uuid).await };
                let found = reads.read(format!("submission:{uuid}"), woken, read).await?;
                let at = |s: &submission::Model| {
                    let cursor = s.updated_at.timestamp_micros();
                    let item = Submission(s.clone());
                    (cursor, Rendered { key: Some(format!("submission:{uuid}:{cursor}")), item, woken })
                };
                Some(found.iter().map(at).collect())
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
    ) -> async_graphql::Result<impl Stream<Item = Rendered<QueueEvent>> + use<>> {
        policy::check(ctx.auth().require()?, Action::Moderate)?;
        let slot = slot(ctx)?;
        let state = ctx.state().clone();
        let rx = state.bus.subscribe(Channel::Moderation);
        let cursor = match parse_cursor(after)? {
            Some(cursor) => cursor,
            None => Box::pin(realtime::last_event(&state.db, Channel::Moderation)).await?,
        };
        let fetch = move |after, woken| {
            let (db, reads) = (state.db.clone(), state.reads.clone());
            async move {
                let read = async move {
                    let mut events = Vec::new();
                    for (cursor, event) in realtime::events_after(&db, Channel::Moderation, after, CATCH_UP).await? {
                        let (kind, submission) = match event {
                            Some(Event::Queue { kind, submission }) => {
                                (Some(kind), versioning_selectors::submission_by_uuid(&db, submission).await?)
                            }
                            _ => (None, None),
                        };
                        events.push((cursor, kind, submission));
                    }
                    AppResult::Ok(events)
                };
                let events = reads.read(format!("queue:{after}"), woken, read).await?;
                let event = |(cursor, kind, submission): &(i64, Option<QueueEventKind>, Option<_>)| {
                    let submission = submission.clone().map(Submission);
                    let item = QueueEvent { cursor: cursor.to_string(), kind: *kind, submission };
                    (*cursor, Rendered { key: Some(format!("queue:{cursor}")), item, woken })
                };
                Some(events.iter().map(event).collect())
            }
        };
        Ok(after_cursor(wake_ups(rx, nothing), cursor, fetch, slot))
    }
}
