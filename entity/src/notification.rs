use sea_orm::entity::prelude::*;

use crate::enums::{NotificationKind, TargetType};
use crate::ids::{NotificationId, UserId};

/// Something a user should know about, written with the change that caused it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// Also the notification's cursor: increasing per user.
    #[sea_orm(primary_key)]
    pub id: NotificationId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub subject_type: TargetType,
    /// The subject's public id.
    pub subject_id: Uuid,
    pub message: String,
    pub actor_id: Option<UserId>,
    pub read_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
