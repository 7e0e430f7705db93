use sea_orm::entity::prelude::*;

use crate::enums::{Role, UserStatus};
use crate::ids::UserId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: UserId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub handle: String,
    /// Lower-cased handle: uniqueness is case-insensitive.
    #[sea_orm(unique)]
    pub handle_key: String,
    #[sea_orm(unique)]
    pub email: String,
    pub email_verified_at: Option<ChronoDateTimeUtc>,
    pub password_hash: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub role: Role,
    pub status: UserStatus,
    pub suspended_until: Option<ChronoDateTimeUtc>,
    pub status_reason: Option<String>,
    pub reputation: i32,
    pub last_seen_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
