use sea_orm::{FromJsonQueryResult, entity::prelude::*};
use serde::{Deserialize, Serialize};

use crate::enums::SubmissionStatus;
use crate::ids::{SubmissionId, UserId};

/// A branch: a titled set of changes reviewed and merged as one.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "submissions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: SubmissionId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub author_id: UserId,
    pub title: String,
    pub description: String,
    pub status: SubmissionStatus,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    pub submitted_at: Option<ChronoDateTimeUtc>,
    pub decided_at: Option<ChronoDateTimeUtc>,
    pub decided_by: Option<UserId>,
    pub decision_reason: Option<String>,
    /// The moderator reviewing it, until `claim_expires_at`.
    pub claimed_by: Option<UserId>,
    pub claim_expires_at: Option<ChronoDateTimeUtc>,
    /// Warnings of the automatic checks, for moderators.
    pub check_warnings: Option<CheckWarnings>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The warnings of the automatic checks: `[{change, field, message}]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct CheckWarnings(pub Vec<CheckWarning>);

/// A finding that doesn't block a submission but that moderators should see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckWarning {
    /// The change's public id.
    pub change: Uuid,
    pub field: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn stored_warnings_keep_their_shape() {
        let stored = json!([{ "change": Uuid::nil(), "field": "title", "message": "a likely duplicate" }]);
        let typed: CheckWarnings = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(typed.0[0].field, "title");
        assert_eq!(serde_json::to_value(&typed).unwrap(), stored);
    }
}
