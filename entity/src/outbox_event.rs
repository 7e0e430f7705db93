use sea_orm::entity::prelude::*;

/// An event written with the change that caused it; the relay publishes it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    /// The event's cursor: increasing, so subscribers drop what they have seen.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel: String,
    pub payload: Json,
    pub created_at: ChronoDateTimeUtc,
    pub published_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
