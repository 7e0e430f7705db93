use crate::ids::EntryId;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "entry_links")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub from_entry_id: EntryId,
    pub to_entry_id: EntryId,
    pub link_type: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
