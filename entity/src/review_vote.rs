use crate::ids::{ReviewId, UserId};
use sea_orm::entity::prelude::*;

/// One user's helpful / not helpful vote on a review.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_votes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub review_id: ReviewId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    pub helpful: bool,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
