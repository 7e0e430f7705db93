use crate::ids::{MediaId, ReviewId};
use sea_orm::entity::prelude::*;

/// Media attached to a review, in the author's order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_media")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub review_id: ReviewId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub media_id: MediaId,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
