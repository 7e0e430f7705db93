//! Versioning's plain data: a patch of only the fields an editor changed
//! ([`Patch`]) over content's [`Snapshot`], and where a submission stands.
//! No I/O here; `merge` and `diff` work on these types.

// Versioning works on content's snapshots and its kinds' merge policies.
pub use crate::modules::content::{
    domain::MergePolicy,
    snapshot::{Field, Link, Snapshot, input_path},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
pub use xpr_entity::enums::{ChangeOp, SubmissionStatus};

/// Only the fields an editor changed, with their new values, against the base
/// revision the editor saw. Kept as a JSON object keyed by field name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Patch(pub Map<String, Value>);

impl Patch {
    /// The fields in which `to` differs from `from`.
    pub fn between(from: &Snapshot, to: &Snapshot) -> Self {
        let mut patch = Map::new();
        for field in Field::ALL {
            let after = to.get(field);
            if from.get(field) != after {
                patch.insert(field.name().to_owned(), after);
            }
        }
        Patch(patch)
    }

    /// The patched fields, in a stable order.
    pub fn fields(&self) -> Vec<(Field, &Value)> {
        let mut fields: Vec<_> = self.0.iter().filter_map(|(k, v)| Field::parse(k).map(|f| (f, v))).collect();
        fields.sort_by_key(|(f, _)| *f);
        fields
    }

    /// `base` with this patch applied.
    pub fn apply(&self, base: &Snapshot) -> Result<Snapshot, (Field, String)> {
        let mut result = base.clone();
        for (field, value) in self.fields() {
            result.set(field, value.clone()).map_err(|e| (field, e))?;
        }
        Ok(result)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The patched fields as `EntryFieldsInput` takes them back (`parentId`,
    /// `mediaIds`); `deleted` has no input: a DELETE has no fields.
    pub fn input_fields(&self) -> Map<String, Value> {
        let fields = self.fields().into_iter().filter(|(field, _)| *field != Field::Deleted);
        fields.map(|(field, value)| (field.input_name().to_owned(), value.clone())).collect()
    }
}

/// What someone wants to do to a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Edit,
    Submit,
    Withdraw,
    Approve,
    Reject,
    RequestChanges,
    Resolve,
    Rebase,
}

/// The states in which a submission may still be merged some day.
pub const OPEN_STATUSES: [SubmissionStatus; 4] = [
    SubmissionStatus::Draft,
    SubmissionStatus::Pending,
    SubmissionStatus::ChangesRequested,
    SubmissionStatus::Conflicted,
];

impl Transition {
    /// The one place that says which transition may start from which state.
    pub fn starts_from(self, status: SubmissionStatus) -> bool {
        use SubmissionStatus::*;
        match self {
            Transition::Edit | Transition::Submit => matches!(status, Draft | ChangesRequested),
            Transition::Withdraw => matches!(status, Draft | Pending | ChangesRequested | Conflicted),
            Transition::Approve | Transition::Reject | Transition::RequestChanges => status == Pending,
            Transition::Resolve => matches!(status, Draft | ChangesRequested | Conflicted),
            Transition::Rebase => matches!(status, Draft | Pending | ChangesRequested | Conflicted),
        }
    }
}
