use sea_orm::entity::prelude::*;

use crate::enums::MergePolicy;
use crate::ids::EntryKindId;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "entry_kinds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: EntryKindId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub description: String,
    /// JSON Schema that entry attributes must satisfy.
    pub attribute_schema: Json,
    /// Slugs of the kinds an entry of this kind may have as parent.
    pub allowed_parent_kinds: Json,
    pub merge_policy: MergePolicy,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
