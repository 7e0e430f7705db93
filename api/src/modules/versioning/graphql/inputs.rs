//! The inputs of the editing mutations: an entry's fields (patch semantics: absent leaves a field alone, null clears it), changes, conflict choices and list filters.

use std::collections::BTreeSet;

use async_graphql::{Enum, ID, InputObject, Json, MaybeUndefined};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::modules::versioning::{
    domain::{ChangeOp, Field, Link, Patch, SubmissionStatus, input_path},
    selectors::ClaimFilter,
    service,
};
use crate::{
    error::{AppError, AppResult},
    ids::parse_uuid,
    modules::content::domain::normalize_tag,
};

#[derive(InputObject)]
pub struct LinkInput {
    #[graphql(name = "type")]
    pub(super) link_type: String,
    pub(super) target: ID,
}

/// The fields an editor sets; leave out what you didn't change.
#[derive(InputObject, Default)]
pub struct EntryFieldsInput {
    pub(super) slug: Option<String>,
    pub(super) title: Option<String>,
    pub(super) summary: Option<String>,
    pub(super) body: Option<String>,
    pub(super) attributes: Option<Json<Value>>,
    pub(super) tags: Option<Vec<String>>,
    /// Null removes the parent.
    pub(super) parent_id: MaybeUndefined<ID>,
    pub(super) links: Option<Vec<LinkInput>>,
    /// Your uploads (`uploadMedia`), in display order; media already on the entry may stay.
    pub(super) media_ids: Option<Vec<ID>>,
}

impl EntryFieldsInput {
    /// The patch; `prefix` names the change in field paths (`changes.0.`, `change.`).
    pub(super) fn into_patch(self, prefix: &str) -> AppResult<Patch> {
        let path = |field: Field| input_path(prefix, field.name());
        let mut patch = Map::new();
        let mut put = |field: Field, value: Value| {
            patch.insert(field.name().to_owned(), value);
        };
        if let Some(v) = self.slug {
            put(Field::Slug, v.into());
        }
        if let Some(v) = self.title {
            put(Field::Title, v.trim().to_owned().into());
        }
        if let Some(v) = self.summary {
            put(Field::Summary, v.into());
        }
        if let Some(v) = self.body {
            put(Field::Body, v.into());
        }
        if let Some(v) = self.attributes {
            if !v.0.is_object() {
                return Err(AppError::bad_input(&path(Field::Attributes), "must be an object"));
            }
            put(Field::Attributes, v.0);
        }
        if let Some(tags) = self.tags {
            let tags: BTreeSet<String> = tags.iter().map(|t| normalize_tag(t)).collect();
            put(Field::Tags, serde_json::to_value(tags).map_err(AppError::internal)?);
        }
        match self.parent_id {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => put(Field::Parent, Value::Null),
            MaybeUndefined::Value(id) => put(Field::Parent, parse_uuid(&path(Field::Parent), &id)?.to_string().into()),
        }
        if let Some(links) = self.links {
            let mut set = BTreeSet::new();
            for link in links {
                set.insert(Link { link_type: link.link_type, target: parse_uuid(&path(Field::Links), &link.target)? });
            }
            put(Field::Links, serde_json::to_value(set).map_err(AppError::internal)?);
        }
        if let Some(ids) = self.media_ids {
            let mut media: Vec<Uuid> = Vec::with_capacity(ids.len());
            for id in ids {
                let id = parse_uuid(&path(Field::Media), &id)?;
                if !media.contains(&id) {
                    media.push(id);
                }
            }
            put(Field::Media, serde_json::to_value(media).map_err(AppError::internal)?);
        }
        Ok(Patch(patch))
    }
}

#[derive(InputObject)]
pub struct ChangeInput {
    pub(super) op: ChangeOp,
    /// Kind slug, for CREATE.
    pub(super) kind: Option<String>,
    /// For UPDATE and DELETE.
    pub(super) entry_id: Option<ID>,
    /// The revision number you edited, for UPDATE and DELETE.
    pub(super) base_revision: Option<i32>,
    #[graphql(default)]
    pub(super) fields: EntryFieldsInput,
}

impl ChangeInput {
    /// The change to validate; `prefix` names it in field paths: `changes.0.` in a
    /// `CreateSubmissionInput`, `change.` as an argument.
    pub(super) fn into_spec(self, prefix: &str) -> AppResult<service::ChangeSpec> {
        Ok(service::ChangeSpec {
            op: self.op,
            kind: self.kind,
            entry: self.entry_id.map(|id| parse_uuid(&format!("{prefix}entryId"), &id)).transpose()?,
            base_revision: self.base_revision,
            patch: self.fields.into_patch(prefix)?,
        })
    }
}

#[derive(InputObject)]
pub struct CreateSubmissionInput {
    pub(super) title: String,
    #[graphql(default)]
    pub(super) description: String,
    #[graphql(default)]
    pub(super) changes: Vec<ChangeInput>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ConflictChoice {
    Ours,
    Theirs,
    Custom,
}

#[derive(InputObject)]
pub struct ResolveConflictInput {
    pub(super) change_id: ID,
    /// The conflicted field, e.g. `title`.
    pub(super) field: String,
    pub(super) resolution: ConflictChoice,
    /// The value, for CUSTOM.
    pub(super) value: Option<Json<Value>>,
}

#[derive(InputObject, Default)]
pub struct SubmissionFilter {
    pub(super) status: Option<SubmissionStatus>,
    /// Only the viewer's own.
    #[graphql(default)]
    pub(super) mine: bool,
}

#[derive(InputObject, Default)]
pub struct QueueFilter {
    /// Only submissions changing entries of this kind (slug).
    pub(super) kind: Option<String>,
    #[graphql(default)]
    pub(super) claim: ClaimFilter,
}
