use sea_orm::entity::prelude::*;

/// A branch: a titled set of changes reviewed and merged as one.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "submissions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub author_id: i64,
    pub title: String,
    pub description: String,
    pub status: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    pub submitted_at: Option<ChronoDateTimeUtc>,
    pub decided_at: Option<ChronoDateTimeUtc>,
    pub decided_by: Option<i64>,
    pub decision_reason: Option<String>,
    /// The moderator reviewing it, until `claim_expires_at`.
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<ChronoDateTimeUtc>,
    /// Warnings of the automatic checks, for moderators: `[{change, field, message}]`.
    pub check_warnings: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
