use sea_orm::entity::prelude::*;

/// One change of a submission: create, update (a patch against a base
/// revision) or delete an entry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub submission_id: i64,
    pub position: i32,
    pub op: String,
    /// The kind of the entry a CREATE makes.
    pub kind_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub base_revision_id: Option<i64>,
    /// The changed fields and their new values.
    pub patch: Json,
    /// Set when the last merge attempt conflicted: base / ours / theirs per field.
    pub conflicts: Option<Json>,
    /// The revision the conflicts were computed against ("theirs").
    pub conflict_revision_id: Option<i64>,
    /// The author's choices for conflicted fields so far.
    pub resolutions: Option<Json>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
