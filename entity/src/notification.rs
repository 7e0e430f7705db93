use sea_orm::entity::prelude::*;

use crate::enums::{NotificationKind, TargetType};

/// Something a user should know about, written with the change that caused it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// Also the notification's cursor: increasing per user.
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub user_id: i64,
    pub kind: NotificationKind,
    pub subject_type: TargetType,
    /// The subject's public id.
    pub subject_id: Uuid,
    pub message: String,
    pub actor_id: Option<i64>,
    pub read_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
