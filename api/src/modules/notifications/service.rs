//! Notification writes a user makes: watching entries, marking read.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;
use xpr_entity::{notification, watch};

use crate::{
    auth::Viewer,
    deps::Deps,
    error::{AppError, AppResult},
    modules::content::selectors as content_selectors,
};

pub async fn watch(state: &Deps, viewer: &Viewer, entry: Uuid, on: bool) -> AppResult<xpr_entity::entry::Model> {
    let entry =
        content_selectors::entry_by_uuid(&state.db, entry).await?.ok_or_else(|| AppError::not_found("entry"))?;
    if on {
        let row = watch::ActiveModel { user_id: Set(viewer.id), entry_id: Set(entry.id), created_at: Set(Utc::now()) };
        // Watching twice is watching.
        watch::Entity::insert(row)
            .on_conflict_do_nothing_on([watch::Column::UserId, watch::Column::EntryId])
            .exec(&state.db)
            .await?;
    } else {
        watch::Entity::delete_many()
            .filter(watch::Column::UserId.eq(viewer.id))
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
        .filter(notification::Column::UserId.eq(viewer.id))
        .filter(notification::Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(notification::Column::Uuid.is_in(ids));
    }
    Ok(update.exec(&state.db).await?.rows_affected)
}
