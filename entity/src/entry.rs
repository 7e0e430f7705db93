use crate::ids::{EntryId, EntryKindId, RevisionId, UserId};
use sea_orm::entity::prelude::*;

/// The current state of an entry: a copy of its current revision's snapshot,
/// kept for queries. Only merges write it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: EntryId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub kind_id: EntryKindId,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub attributes: Json,
    pub parent_id: Option<EntryId>,
    /// Number of the current revision.
    pub version: i32,
    pub current_revision_id: Option<RevisionId>,
    pub deleted: bool,
    pub created_by: UserId,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    /// Rating aggregates over published reviews, kept exact by the reviews service.
    pub rating_count: i32,
    /// 0 while there are no ratings.
    pub rating_average: f64,
    pub rating1: i32,
    pub rating2: i32,
    pub rating3: i32,
    pub rating4: i32,
    pub rating5: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
