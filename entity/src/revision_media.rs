use crate::ids::{EntryId, MediaId};
use sea_orm::entity::prelude::*;

/// An image that some revision of the entry has shown. Rows are only added
/// (by merges), so the media cleanup spares what a revert could restore.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revision_media")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub media_id: MediaId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: EntryId,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
