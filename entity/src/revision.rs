use sea_orm::entity::prelude::*;

/// An immutable snapshot of an entry's versioned fields, numbered 1..n per entry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub entry_id: i64,
    pub number: i32,
    pub parent_id: Option<i64>,
    pub author_id: i64,
    pub merger_id: Option<i64>,
    pub submission_id: Option<i64>,
    /// Edit summary.
    pub summary: String,
    pub snapshot: Json,
    pub created_at: ChronoDateTimeUtc,
    pub archived: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
