//! Media writes: uploads (checked, deduplicated per owner, stored) and the
//! cleanup of uploads nothing shows or may show.

use std::sync::LazyLock;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, SelectStatement},
};
use tokio::sync::Semaphore;
use xpr_entity::media;

use super::{domain, selectors, store::MediaStore};
use crate::{
    auth::Viewer,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{MediaId, UserId, new_uuid},
};

/// Images decoded at once: each may hold a few hundred MB and a core for seconds.
static DECODING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)));

/// Stores an image upload of `viewer`; the same bytes uploaded again return the first upload.
pub async fn upload(state: &Deps, store: &MediaStore, viewer: &Viewer, bytes: Bytes) -> AppResult<media::Model> {
    viewer.require_verified_writer("upload media")?;
    let config = &state.config;
    let bounds = domain::Bounds {
        max_bytes: config.media_max_bytes,
        max_width: config.media_max_width,
        max_height: config.media_max_height,
        max_pixels: config.media_max_pixels,
    };
    let image = {
        let _permit = DECODING.acquire().await.map_err(AppError::internal)?;
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || domain::inspect(&bytes, bounds)).await.map_err(AppError::internal)?
    }
    .map_err(|err| AppError::BadInput(vec![err]))?;
    if let Some(existing) = selectors::owned_by_sha256(&state.db, viewer.id, &image.sha256).await? {
        return Ok(existing);
    }
    let id = new_uuid();
    store.put(id, bytes.clone()).await.map_err(AppError::internal)?;
    let row = media::ActiveModel {
        uuid: Set(id),
        owner_id: Set(viewer.id),
        content_type: Set(image.kind.content_type().to_owned()),
        byte_size: Set(bytes.len() as i64),
        width: Set(image.width),
        height: Set(image.height),
        sha256: Set(image.sha256.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await;
    match row {
        Ok(row) => Ok(row),
        Err(err) => {
            // Bytes without a row would never be served nor cleaned up.
            if let Err(err) = store.delete(id).await {
                tracing::warn!(error = ?err, media = %id, "could not remove the bytes of a failed upload");
            }
            match AppError::from(err) {
                // The same bytes, uploaded twice at once: the other upload won.
                AppError::Conflict(_) => selectors::owned_by_sha256(&state.db, viewer.id, &image.sha256)
                    .await?
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("duplicate media vanished"))),
                err => Err(err),
            }
        }
    }
}

/// Deletes uploads created before `before` that nothing may show (rows, then
/// bytes) and returns how many went. `progress` is told each deletion.
///
/// Kept: media on a review, on an entry, on any past revision of an entry (a
/// revert may restore it), or cited by a change of an open submission. A
/// change can only add its author's own uploads; any other image in it came
/// from a revision. So one indexed look-up of the owner's open submissions
/// per candidate suffices: `open_changes_citing(owner, media)`, which
/// versioning (a later module) provides.
pub async fn cleanup(
    db: &DatabaseConnection,
    store: &MediaStore,
    before: DateTime<Utc>,
    open_changes_citing: impl Fn(UserId, uuid::Uuid) -> SelectStatement,
    progress: impl Fn(u64),
) -> AppResult<u64> {
    const BATCH: u64 = 500;
    let unattached = || {
        Condition::all()
            .add(media::Column::Id.not_in_subquery(selectors::in_reviews()))
            .add(media::Column::Id.not_in_subquery(selectors::on_entries()))
            .add(media::Column::Id.not_in_subquery(selectors::in_revisions()))
    };
    let mut deleted = 0;
    let mut after = MediaId(0);
    loop {
        let candidates: Vec<(MediaId, uuid::Uuid, UserId)> = media::Entity::find()
            .select_only()
            .column(media::Column::Id)
            .column(media::Column::Uuid)
            .column(media::Column::OwnerId)
            .filter(media::Column::CreatedAt.lt(before))
            .filter(media::Column::Id.gt(after))
            .filter(unattached())
            .order_by_asc(media::Column::Id)
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&(last, _, _)) = candidates.last() else { break };
        after = last;
        for (id, uuid, owner) in candidates {
            // Re-checked in the delete itself: a review, merge or draft may have taken it
            // meanwhile (and the foreign keys refuse the delete if that write is still open).
            let result = media::Entity::delete_many()
                .filter(media::Column::Id.eq(id))
                .filter(unattached())
                .filter(Expr::exists(open_changes_citing(owner, uuid)).not())
                .exec(db)
                .await;
            match result {
                Ok(result) if result.rows_affected == 1 => {
                    store.delete(uuid).await.map_err(AppError::internal)?;
                    deleted += 1;
                    progress(1);
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, media = %uuid, "media kept: attached while cleaning up"),
            }
        }
    }
    Ok(deleted)
}
