use sea_orm::entity::prelude::*;

use crate::enums::BlocklistKind;
use crate::ids::UserId;

/// A blocked term or link domain, managed by admins; checked on submit and merge.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blocklist")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub kind: BlocklistKind,
    /// Lower-cased.
    pub value: String,
    pub created_by: UserId,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
