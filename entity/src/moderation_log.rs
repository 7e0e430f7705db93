use sea_orm::entity::prelude::*;

use crate::enums::{ModerationActionKind, TargetType};
use crate::ids::UserId;

/// One moderator or admin action. Rows are only ever inserted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "moderation_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub actor_id: UserId,
    pub action: ModerationActionKind,
    pub target_type: TargetType,
    /// The target's public id.
    pub target_id: Uuid,
    pub reason: Option<String>,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
