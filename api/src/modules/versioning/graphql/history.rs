//! Revisions as GraphQL objects: an entry's snapshot at each revision, and the diff between two, field by field and line by line.

use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::modules::versioning::{
    diff::{self, ChangeKind, FieldDiff, HunkLineKind},
    domain::Snapshot,
    selectors::{RevisionKey, RevisionMeta, SnapshotKey, SubmissionKey},
};
use crate::{
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
    },
    ids::RevisionId,
    modules::{
        content::{graphql::Entry, selectors::EntryKey},
        identity::graphql::User,
    },
};

use super::submissions::{Submission, visible};

/// An immutable snapshot of an entry, numbered 1..n.
pub struct Revision(pub(super) RevisionMeta);

impl Revision {
    pub fn new(meta: RevisionMeta) -> Self {
        Self(meta)
    }
}

pub(super) async fn load_snapshot(ctx: &Context<'_>, revision: RevisionId) -> AppResult<Snapshot> {
    ctx.loaders()
        .versioning
        .load_one(SnapshotKey(revision))
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found("revision"))
}

/// The diff from one revision (or from nothing) to another; both snapshots in one batch.
pub(super) async fn load_diff(ctx: &Context<'_>, from: Option<RevisionId>, to: RevisionId) -> AppResult<EntryDiff> {
    let keys = from.into_iter().chain([to]).map(SnapshotKey);
    let loaded = ctx.loaders().versioning.load_many(keys).await.map_err(AppError::internal)?;
    let get = |id| loaded.get(&SnapshotKey(id)).ok_or_else(|| AppError::not_found("revision"));
    let to = get(to)?;
    let changes = match from {
        Some(id) => diff::diff(get(id)?, to),
        None => diff::diff(&Snapshot::default(), to),
    };
    Ok(EntryDiff { changes: changes.into_iter().map(FieldChange).collect() })
}

fields::object!(Revision);

#[Object(name = "Revision")]
impl Fields<'_, Revision> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn entry(&self, ctx: &Context<'_>) -> AppResult<Option<Entry>> {
        Ok(ctx.loaders().content.load_one(EntryKey(self.0.entry_id)).await.map_err(AppError::internal)?.map(Entry::new))
    }
    async fn parent(&self, ctx: &Context<'_>) -> AppResult<Option<Revision>> {
        let Some(id) = self.0.parent_id else { return Ok(None) };
        Ok(ctx.loaders().versioning.load_one(RevisionKey(id)).await.map_err(AppError::internal)?.map(Revision))
    }
    async fn author(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.0.author_id).await
    }
    /// The moderator who merged it.
    async fn merger(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        match self.0.merger_id {
            Some(id) => User::load(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn submission(&self, ctx: &Context<'_>) -> AppResult<Option<Submission>> {
        let Some(id) = self.0.submission_id else { return Ok(None) };
        let found = ctx.loaders().versioning.load_one(SubmissionKey(id)).await.map_err(AppError::internal)?;
        Ok(found.filter(|s| visible(ctx.auth().viewer(), s)).map(Submission))
    }
    /// Edit summary.
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Moved to archive storage; still readable.
    async fn archived(&self) -> bool {
        self.0.archived
    }
    /// The entry's versioned fields at this revision (loaded only when asked for).
    async fn snapshot(&self, ctx: &Context<'_>) -> AppResult<EntrySnapshot> {
        Ok(EntrySnapshot(load_snapshot(ctx, self.0.id).await?))
    }
    /// What this revision changed, against its parent.
    async fn diff(&self, ctx: &Context<'_>) -> AppResult<EntryDiff> {
        load_diff(ctx, self.0.parent_id, self.0.id).await
    }
}

/// Versioned fields of an entry, as stored in a revision or previewed.
pub struct EntrySnapshot(pub(super) Snapshot);

#[derive(SimpleObject)]
pub struct LinkValue {
    #[graphql(name = "type")]
    link_type: String,
    target: ID,
}

fields::object!(EntrySnapshot);

#[Object(name = "EntrySnapshot")]
impl Fields<'_, EntrySnapshot> {
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn attributes(&self) -> Json<Value> {
        Json(Value::Object(self.0.attributes.clone()))
    }
    async fn tags(&self) -> Vec<String> {
        self.0.tags.iter().cloned().collect()
    }
    async fn parent_id(&self) -> Option<ID> {
        self.0.parent.map(|p| ID(p.to_string()))
    }
    async fn links(&self) -> Vec<LinkValue> {
        self.0
            .links
            .iter()
            .map(|l| LinkValue { link_type: l.link_type.clone(), target: ID(l.target.to_string()) })
            .collect()
    }
    /// Ids of the entry's images at this revision, in display order.
    async fn media_ids(&self) -> Vec<ID> {
        self.0.media.iter().map(|m| ID(m.to_string())).collect()
    }
    async fn deleted(&self) -> bool {
        self.0.deleted
    }
}

#[derive(SimpleObject)]
pub struct EntryDiff {
    changes: Vec<FieldChange>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    Added,
    Removed,
    Modified,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

pub(super) fn line_kind(kind: HunkLineKind) -> LineKind {
    match kind {
        HunkLineKind::Context => LineKind::Context,
        HunkLineKind::Added => LineKind::Added,
        HunkLineKind::Removed => LineKind::Removed,
    }
}

#[derive(SimpleObject)]
pub struct DiffLine {
    kind: LineKind,
    text: String,
}

#[derive(SimpleObject)]
pub struct DiffHunk {
    old_start: i32,
    old_lines: i32,
    new_start: i32,
    new_lines: i32,
    lines: Vec<DiffLine>,
}

/// How one field changed: values before and after, with line and word hunks for text.
pub struct FieldChange(pub(super) FieldDiff);

fields::object!(FieldChange);

#[Object(name = "FieldChange")]
impl Fields<'_, FieldChange> {
    async fn field(&self) -> &str {
        self.0.field.name()
    }
    async fn kind(&self) -> DiffKind {
        match self.0.kind {
            ChangeKind::Added => DiffKind::Added,
            ChangeKind::Removed => DiffKind::Removed,
            ChangeKind::Modified => DiffKind::Modified,
        }
    }
    async fn before(&self) -> Json<Value> {
        Json(self.0.before.clone())
    }
    async fn after(&self) -> Json<Value> {
        Json(self.0.after.clone())
    }
    async fn hunks(&self) -> Vec<DiffHunk> {
        self.0
            .hunks
            .iter()
            .map(|h| DiffHunk {
                old_start: h.old_start as i32,
                old_lines: h.old_lines as i32,
                new_start: h.new_start as i32,
                new_lines: h.new_lines as i32,
                lines: h.lines.iter().map(|l| DiffLine { kind: line_kind(l.kind), text: l.text.clone() }).collect(),
            })
            .collect()
    }
    async fn words(&self) -> Vec<DiffLine> {
        self.0.words.iter().map(|w| DiffLine { kind: line_kind(w.kind), text: w.text.clone() }).collect()
    }
}
