use crate::ids::{EntryId, MediaId};
use sea_orm::entity::prelude::*;

/// An image of an entry's current revision, at `position`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "entry_media")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: EntryId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub media_id: MediaId,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
