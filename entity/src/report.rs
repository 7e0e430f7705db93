use sea_orm::entity::prelude::*;

use crate::enums::{ReportStatus, ReportTarget};

/// A user's report about an entry, revision, review or user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub reporter_id: i64,
    pub target_type: ReportTarget,
    /// The target's public id.
    pub target_id: Uuid,
    pub reason: String,
    pub status: ReportStatus,
    pub resolution_note: Option<String>,
    pub resolved_by: Option<i64>,
    pub created_at: ChronoDateTimeUtc,
    pub resolved_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
