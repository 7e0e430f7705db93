use sea_orm::entity::prelude::*;

use crate::enums::ReviewStatus;
use crate::ids::{EntryId, ReviewId, UserId};

/// A user's review of an entry: one per user per entry. Only the reviews
/// service writes it, together with the entry's rating aggregates.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ReviewId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub entry_id: EntryId,
    pub author_id: UserId,
    /// 1 to 5 stars.
    pub rating: i16,
    pub title: String,
    pub body: String,
    /// Only published reviews count in the aggregates.
    pub status: ReviewStatus,
    /// The moderator's reason for the last hide or show.
    pub status_reason: Option<String>,
    pub moderated_by: Option<UserId>,
    pub moderated_at: Option<ChronoDateTimeUtc>,
    pub helpful_count: i32,
    pub unhelpful_count: i32,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    /// Set when the author changed the review after writing it.
    pub edited_at: Option<ChronoDateTimeUtc>,
    /// Whether the entry's creator has been told of this review (once, when first published).
    pub creator_notified: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
