//! Versioning's plain data: the versioned fields of an entry ([`Snapshot`]),
//! a patch of only the fields an editor changed ([`Patch`]), and merge policy.
//! No I/O here; `merge` and `diff` work on these types.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;
pub use xpr_entity::enums::{ChangeOp, MergePolicy, SubmissionStatus};

/// A typed link from one entry to another (e.g. `located_in` → a location).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Link {
    #[serde(rename = "type")]
    pub link_type: String,
    pub target: Uuid,
}

/// Every versioned field of an entry at one revision. Revisions store this as JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Snapshot {
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// Markdown.
    pub body: String,
    pub attributes: Map<String, Value>,
    pub tags: BTreeSet<String>,
    pub parent: Option<Uuid>,
    pub links: BTreeSet<Link>,
    /// Uploaded images shown with the entry, in display order.
    pub media: Vec<Uuid>,
    pub deleted: bool,
}

/// The versioned fields, named as in the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Slug,
    Title,
    Summary,
    Body,
    Attributes,
    Tags,
    Parent,
    Links,
    Media,
    Deleted,
}

impl Field {
    pub const ALL: [Field; 10] = [
        Field::Slug,
        Field::Title,
        Field::Summary,
        Field::Body,
        Field::Attributes,
        Field::Tags,
        Field::Parent,
        Field::Links,
        Field::Media,
        Field::Deleted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Slug => "slug",
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Body => "body",
            Field::Attributes => "attributes",
            Field::Tags => "tags",
            Field::Parent => "parent",
            Field::Links => "links",
            Field::Media => "media",
            Field::Deleted => "deleted",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The field's name in `EntryFieldsInput`, and so in error paths: `parentId`
    /// and `mediaIds` carry ids; the others are named as above.
    pub fn input_name(self) -> &'static str {
        match self {
            Field::Parent => "parentId",
            Field::Media => "mediaIds",
            other => other.name(),
        }
    }

    /// Text fields merge line-wise and diff with hunks.
    pub fn is_text(self) -> bool {
        matches!(self, Field::Summary | Field::Body)
    }
}

/// The path of an error about a versioned field (`parent`) or a place inside one
/// (`attributes.crew`) in the input of the change that `prefix` names (`changes.0.`,
/// `change.`): `changes.0.fields.parentId`, `changes.0.fields.attributes.crew`.
pub fn input_path(prefix: &str, field: &str) -> String {
    let (head, rest) = field.find('.').map_or((field, ""), |dot| field.split_at(dot));
    let head = Field::parse(head).map_or(head, |f| f.input_name());
    format!("{prefix}fields.{head}{rest}")
}

impl Snapshot {
    /// The JSON value of one field (the form used in patches, conflicts and diffs).
    pub fn get(&self, field: Field) -> Value {
        match field {
            Field::Slug => Value::from(self.slug.clone()),
            Field::Title => Value::from(self.title.clone()),
            Field::Summary => Value::from(self.summary.clone()),
            Field::Body => Value::from(self.body.clone()),
            Field::Attributes => Value::Object(self.attributes.clone()),
            Field::Tags => serde_json::to_value(&self.tags).expect("tags serialize"),
            Field::Parent => serde_json::to_value(self.parent).expect("uuid serializes"),
            Field::Links => serde_json::to_value(&self.links).expect("links serialize"),
            Field::Media => serde_json::to_value(&self.media).expect("uuids serialize"),
            Field::Deleted => Value::from(self.deleted),
        }
    }

    /// Sets one field from its JSON value; `Err` names what is wrong with it.
    pub fn set(&mut self, field: Field, value: Value) -> Result<(), String> {
        fn parse<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, String> {
            serde_json::from_value(value).map_err(|_| format!("must be {what}"))
        }
        match field {
            Field::Slug => self.slug = parse(value, "a string")?,
            Field::Title => self.title = parse(value, "a string")?,
            Field::Summary => self.summary = parse(value, "a string")?,
            Field::Body => self.body = parse(value, "a string")?,
            Field::Attributes => self.attributes = parse(value, "an object")?,
            Field::Tags => self.tags = parse(value, "a list of strings")?,
            Field::Parent => self.parent = parse(value, "an entry id or null")?,
            Field::Links => self.links = parse(value, "a list of {type, target}")?,
            Field::Media => self.media = parse(value, "a list of media ids")?,
            Field::Deleted => self.deleted = parse(value, "a boolean")?,
        }
        Ok(())
    }
}

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
