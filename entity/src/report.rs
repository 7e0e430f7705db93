use sea_orm::entity::prelude::*;

use crate::enums::{ReportStatus, ReportTarget};
use crate::ids::{ReportId, UserId};

/// A user's report about an entry, revision, review or user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ReportId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub reporter_id: UserId,
    pub target_type: ReportTarget,
    /// The target's public id.
    pub target_id: Uuid,
    pub reason: String,
    pub status: ReportStatus,
    pub resolution_note: Option<String>,
    pub resolved_by: Option<UserId>,
    pub created_at: ChronoDateTimeUtc,
    pub resolved_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
