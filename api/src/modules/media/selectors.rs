//! Media reads: by public id, the owner's uploads, entries' and revisions' images, and the media loader.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use xpr_entity::{entry_media, media, review_media, revision_media};

use crate::{
    db,
    error::{AppError, AppResult},
    ids::{EntryId, MediaId, UserId},
};

pub async fn media_by_uuid(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<media::Model>> {
    Ok(media::Entity::find().filter(media::Column::Uuid.eq(id)).one(db).await?)
}

/// The owner's earlier upload of the same bytes.
pub async fn owned_by_sha256(
    db: &impl ConnectionTrait,
    owner: UserId,
    sha256: &str,
) -> AppResult<Option<media::Model>> {
    Ok(media::Entity::find()
        .filter(media::Column::OwnerId.eq(owner))
        .filter(media::Column::Sha256.eq(sha256))
        .one(db)
        .await?)
}

/// Internal ids of `owner`'s media, in the order given; any other id is refused on `field`.
pub async fn owned_ids(db: &impl ConnectionTrait, owner: UserId, ids: &[Uuid], field: &str) -> AppResult<Vec<MediaId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = media::Entity::find()
        .filter(media::Column::OwnerId.eq(owner))
        .filter(media::Column::Uuid.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let by_uuid: HashMap<Uuid, MediaId> = rows.into_iter().map(|m| (m.uuid, m.id)).collect();
    ids.iter()
        .map(|id| by_uuid.get(id).copied().ok_or_else(|| AppError::bad_input(field, format!("no media {id} of yours"))))
        .collect()
}

/// Internal ids of existing media (missing ones are left out).
pub async fn ids_by_uuid(db: &impl ConnectionTrait, uuids: &[Uuid]) -> AppResult<HashMap<Uuid, MediaId>> {
    if uuids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, MediaId)> = media::Entity::find()
        .select_only()
        .column(media::Column::Uuid)
        .column(media::Column::Id)
        .filter(media::Column::Uuid.is_in(uuids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Media an entry shows (the cleanup keeps them).
pub fn on_entries() -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select().column(entry_media::Column::MediaId).from(entry_media::Entity).to_owned()
}

/// Media some review shows.
pub fn in_reviews() -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select().column(review_media::Column::MediaId).from(review_media::Entity).to_owned()
}

/// Media some revision of an entry showed (the cleanup keeps them: a revert may restore them).
pub fn in_revisions() -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select().column(revision_media::Column::MediaId).from(revision_media::Entity).to_owned()
}

/// Batches media by internal id.
pub struct MediaLoader {
    db: DatabaseConnection,
}

impl MediaLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MediaKey(pub MediaId);

/// The images of an entry, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EntryMediaKey(pub EntryId);

impl Loader<EntryMediaKey> for MediaLoader {
    type Value = Vec<media::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[EntryMediaKey]) -> Result<HashMap<EntryMediaKey, Vec<media::Model>>, Self::Error> {
        let links = entry_media::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), entry_media::Column::EntryId, keys.iter().map(|k| k.0)))
            .order_by_asc(entry_media::Column::Position)
            .all(&self.db)
            .await?;
        let rows = media::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), media::Column::Id, links.iter().map(|l| l.media_id)))
            .all(&self.db)
            .await?;
        let by_id: HashMap<MediaId, media::Model> = rows.into_iter().map(|m| (m.id, m)).collect();
        let mut found: HashMap<EntryMediaKey, Vec<media::Model>> = HashMap::new();
        for link in links {
            if let Some(media) = by_id.get(&link.media_id) {
                found.entry(EntryMediaKey(link.entry_id)).or_default().push(media.clone());
            }
        }
        Ok(found)
    }
}

impl Loader<MediaKey> for MediaLoader {
    type Value = media::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[MediaKey]) -> Result<HashMap<MediaKey, media::Model>, Self::Error> {
        let rows = media::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), media::Column::Id, keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (MediaKey(row.id), row)).collect())
    }
}
