//! An entry's versioned fields ([`Snapshot`]), as every revision stores them
//! and as content writes them onto the entry row. Plain data, no I/O.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

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
