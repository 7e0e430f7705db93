use crate::ids::RevisionId;
use sea_orm::entity::prelude::*;

/// The snapshot of an archived revision, moved out of the hot `revisions` table.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "revision_archive")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub revision_id: RevisionId,
    pub snapshot: Json,
    pub archived_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
