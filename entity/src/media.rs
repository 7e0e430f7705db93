use crate::ids::{MediaId, UserId};
use sea_orm::entity::prelude::*;

/// An uploaded image. The bytes live in the media store under the uuid.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: MediaId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub owner_id: UserId,
    /// Detected from the bytes, never taken from the client.
    pub content_type: String,
    pub byte_size: i64,
    pub width: i32,
    pub height: i32,
    /// Hex SHA-256 of the bytes: the ETag, and how duplicate uploads are found.
    pub sha256: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
