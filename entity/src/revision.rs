use crate::ids::{EntryId, RevisionId, SubmissionId, UserId};
use sea_orm::entity::prelude::*;

/// An immutable snapshot of an entry's versioned fields, numbered 1..n per entry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: RevisionId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub entry_id: EntryId,
    pub number: i32,
    pub parent_id: Option<RevisionId>,
    pub author_id: UserId,
    pub merger_id: Option<UserId>,
    pub submission_id: Option<SubmissionId>,
    /// Edit summary.
    pub summary: String,
    pub snapshot: Json,
    pub created_at: ChronoDateTimeUtc,
    pub archived: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
