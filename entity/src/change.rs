use std::collections::BTreeMap;

use sea_orm::{FromJsonQueryResult, entity::prelude::*};
use serde::{Deserialize, Serialize};

use crate::enums::ChangeOp;
use crate::ids::{ChangeId, EntryId, EntryKindId, RevisionId, SubmissionId};

/// One change of a submission: create, update (a patch against a base
/// revision) or delete an entry.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: ChangeId,
    #[sea_orm(unique)]
    pub uuid: Uuid,
    pub submission_id: SubmissionId,
    pub position: i32,
    pub op: ChangeOp,
    /// The kind of the entry a CREATE makes.
    pub kind_id: Option<EntryKindId>,
    pub entry_id: Option<EntryId>,
    pub base_revision_id: Option<RevisionId>,
    /// The changed fields and their new values.
    pub patch: Json,
    /// Set when the last merge attempt conflicted: base / ours / theirs per field.
    pub conflicts: Option<Conflicts>,
    /// The revision the conflicts were computed against ("theirs").
    pub conflict_revision_id: Option<RevisionId>,
    /// The author's choices for conflicted fields so far.
    pub resolutions: Option<Resolutions>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The conflicts of a change's last merge attempt: `[{field, base, ours, theirs}]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct Conflicts(pub Vec<Conflict>);

/// One field both sides changed incompatibly, with its three values (as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The versioned field's name (`title`, `attributes`).
    pub field: String,
    pub base: Json,
    pub ours: Json,
    pub theirs: Json,
}

/// The author's choices so far, by field name: `{title: {choice: "CUSTOM", value}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct Resolutions(pub BTreeMap<String, Resolution>);

/// How the editor resolves one conflicted field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "choice", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Resolution {
    /// The patch's value for the whole field.
    Ours,
    /// The current revision's value.
    Theirs,
    /// A value of the editor's own (e.g. hand-merged text).
    Custom { value: Json },
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Rows written before these types existed read back, and new rows are written alike.
    #[test]
    fn stored_conflicts_and_resolutions_keep_their_shape() {
        let conflicts = json!([{ "field": "title", "base": "A", "ours": "B", "theirs": "C" }]);
        let typed: Conflicts = serde_json::from_value(conflicts.clone()).unwrap();
        assert_eq!(typed.0[0].field, "title");
        assert_eq!(serde_json::to_value(&typed).unwrap(), conflicts);

        let resolutions = json!({
            "title": { "choice": "OURS" },
            "slug": { "choice": "THEIRS" },
            "body": { "choice": "CUSTOM", "value": "merged\n" },
        });
        let typed: Resolutions = serde_json::from_value(resolutions.clone()).unwrap();
        assert_eq!(typed.0["body"], Resolution::Custom { value: json!("merged\n") });
        assert_eq!(typed.0["slug"], Resolution::Theirs);
        assert_eq!(serde_json::to_value(&typed).unwrap(), resolutions);
    }
}
