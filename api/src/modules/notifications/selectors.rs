//! Notification reads: pages and counts, what a subscriber missed after its
//! cursor (notifications, an entry's merges), and watched entries.

use std::sync::Arc;

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use xpr_entity::{entry, notification, watch};

use crate::realtime::delivery::CATCH_UP;
use crate::{
    error::AppResult,
    ids::{EntryId, UserId},
    modules::{
        content::selectors as content_selectors,
        versioning::{
            domain::Snapshot,
            selectors::{self as versioning_selectors, RevisionMeta},
        },
    },
    paging::{self, Page},
};

pub async fn notifications(
    db: &DatabaseConnection,
    user: UserId,
    unread_only: bool,
    page: &Page,
) -> AppResult<(Vec<notification::Model>, bool)> {
    let mut select = notification::Entity::find().filter(notification::Column::UserId.eq(user));
    if unread_only {
        select = select.filter(notification::Column::ReadAt.is_null());
    }
    paging::newest_first(db, select, notification::Column::Id, notification::Column::Uuid, page).await
}

pub async fn unread_count(db: &DatabaseConnection, user: UserId) -> AppResult<u64> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// A user's notifications after a cursor, oldest first.
pub async fn notifications_after(
    db: &DatabaseConnection,
    user: UserId,
    after: i64,
) -> AppResult<Vec<notification::Model>> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::Id.gt(after))
        .order_by_asc(notification::Column::Id)
        .limit(CATCH_UP)
        .all(db)
        .await?)
}

/// The newest notification cursor of a user (where a fresh subscription starts).
pub async fn last_notification(db: &DatabaseConnection, user: UserId) -> AppResult<i64> {
    let last: Option<i64> = notification::Entity::find()
        .select_only()
        .column(notification::Column::Id)
        .filter(notification::Column::UserId.eq(user))
        .order_by_desc(notification::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.unwrap_or(0))
}

/// An entry row as it is now, and revisions of it with their snapshots, oldest first.
pub type EntryVersions = (Arc<entry::Model>, Vec<Arc<(RevisionMeta, Snapshot)>>);

/// What `entryUpdated` delivers after `version`: the revisions numbered
/// above it (a page of them); `None` if the entry is gone.
pub async fn entry_versions_after(
    db: &DatabaseConnection,
    entry: Uuid,
    version: i64,
) -> AppResult<Option<EntryVersions>> {
    let Some(model) = content_selectors::entry_by_uuid(db, entry).await? else { return Ok(None) };
    let after = i32::try_from(version).unwrap_or(i32::MAX);
    let revisions = versioning_selectors::revisions_after(db, model.id, after, CATCH_UP).await?;
    Ok(Some((Arc::new(model), revisions.into_iter().map(Arc::new).collect())))
}

/// The entries a user watches, newest watch first.
pub async fn watched_entry_ids(db: &DatabaseConnection, user: UserId) -> AppResult<Vec<EntryId>> {
    Ok(watch::Entity::find()
        .select_only()
        .column(watch::Column::EntryId)
        .filter(watch::Column::UserId.eq(user))
        .order_by_desc(watch::Column::CreatedAt)
        .into_tuple()
        .all(db)
        .await?)
}
