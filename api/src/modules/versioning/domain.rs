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

// Transitions are decided in `SubmissionStatus::allows` (not in the doc line: it is the schema's description).
/// Where a submission stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum SubmissionStatus {
    Draft,
    Pending,
    Merged,
    Rejected,
    ChangesRequested,
    Conflicted,
    Withdrawn,
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

impl SubmissionStatus {
    const ALL: [SubmissionStatus; 7] = [
        SubmissionStatus::Draft,
        SubmissionStatus::Pending,
        SubmissionStatus::Merged,
        SubmissionStatus::Rejected,
        SubmissionStatus::ChangesRequested,
        SubmissionStatus::Conflicted,
        SubmissionStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionStatus::Draft => "DRAFT",
            SubmissionStatus::Pending => "PENDING",
            SubmissionStatus::Merged => "MERGED",
            SubmissionStatus::Rejected => "REJECTED",
            SubmissionStatus::ChangesRequested => "CHANGES_REQUESTED",
            SubmissionStatus::Conflicted => "CONFLICTED",
            SubmissionStatus::Withdrawn => "WITHDRAWN",
        }
    }

    pub fn parse(s: &str) -> Self {
        Self::ALL.into_iter().find(|st| st.as_str() == s).unwrap_or(SubmissionStatus::Draft)
    }

    /// The states in which a submission may still be merged some day.
    pub const OPEN: [SubmissionStatus; 4] = [
        SubmissionStatus::Draft,
        SubmissionStatus::Pending,
        SubmissionStatus::ChangesRequested,
        SubmissionStatus::Conflicted,
    ];

    /// The one place that says which transition may start from which state.
    pub fn allows(self, transition: Transition) -> bool {
        use SubmissionStatus::*;
        match transition {
            Transition::Edit | Transition::Submit => matches!(self, Draft | ChangesRequested),
            Transition::Withdraw => matches!(self, Draft | Pending | ChangesRequested | Conflicted),
            Transition::Approve | Transition::Reject | Transition::RequestChanges => self == Pending,
            Transition::Resolve => matches!(self, Draft | ChangesRequested | Conflicted),
            Transition::Rebase => matches!(self, Draft | Pending | ChangesRequested | Conflicted),
        }
    }
}

/// What a change does to its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Create => "CREATE",
            ChangeOp::Update => "UPDATE",
            ChangeOp::Delete => "DELETE",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "CREATE" => ChangeOp::Create,
            "DELETE" => ChangeOp::Delete,
            _ => ChangeOp::Update,
        }
    }
}
