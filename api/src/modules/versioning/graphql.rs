//! Versioning's GraphQL types and fields: revisions, diffs, submissions and
//! changes, and the editing, review and merge mutations.

use std::collections::BTreeSet;

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;
use xpr_entity::{change, submission};

use super::{
    diff::{self, ChangeKind, FieldDiff, HunkLineKind},
    domain::{ChangeOp, Field, Link, Patch, Snapshot, SubmissionStatus, input_path},
    merge::Resolution,
    selectors::{self, ChangesKey, ClaimFilter, RevisionKey, RevisionMeta, SnapshotKey, SubmissionKey},
    service,
};
use crate::{
    auth::Viewer,
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
        pagination::{self, Connection},
    },
    ids::{UserId, parse_uuid},
    modules::{
        content::{
            domain::normalize_tag,
            graphql::Entry,
            selectors::{self as content_selectors, EntryKey},
        },
        identity::graphql::User,
        moderation::service::require_moderator,
    },
    paging::{Cursor, Page},
};

/// An immutable snapshot of an entry, numbered 1..n.
pub struct Revision(RevisionMeta);

impl Revision {
    pub fn new(meta: RevisionMeta) -> Self {
        Self(meta)
    }
}

async fn load_snapshot(ctx: &Context<'_>, revision: i64) -> AppResult<Snapshot> {
    ctx.loaders()
        .versioning
        .load_one(SnapshotKey(revision))
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::not_found("revision"))
}

/// The diff from one revision (or from nothing) to another; both snapshots in one batch.
async fn load_diff(ctx: &Context<'_>, from: Option<i64>, to: i64) -> AppResult<EntryDiff> {
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

fn visible(viewer: Option<&Viewer>, submission: &submission::Model) -> bool {
    SubmissionStatus::parse(&submission.status) == SubmissionStatus::Merged
        || viewer.is_some_and(|v| v.role.is_moderator() || v.is(UserId(submission.author_id)))
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
        User::load(ctx, UserId(self.0.author_id)).await
    }
    /// The moderator who merged it.
    async fn merger(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        match self.0.merger_id {
            Some(id) => User::load(ctx, UserId(id)).await,
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
pub struct EntrySnapshot(Snapshot);

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

fn line_kind(kind: HunkLineKind) -> LineKind {
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
pub struct FieldChange(FieldDiff);

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

/// A branch of changes, reviewed and merged as one.
pub struct Submission(pub submission::Model);

fields::object!(Submission);

#[Object(name = "Submission")]
impl Fields<'_, Submission> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn status(&self) -> SubmissionStatus {
        SubmissionStatus::parse(&self.0.status)
    }
    async fn author(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, UserId(self.0.author_id)).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// The moderator's reason for rejecting or requesting changes, or the approval comment.
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
    async fn changes(&self, ctx: &Context<'_>) -> AppResult<Vec<Change>> {
        let rows = ctx.loaders().versioning.load_one(ChangesKey(self.0.id)).await.map_err(AppError::internal)?;
        Ok(rows.unwrap_or_default().into_iter().map(Change).collect())
    }
    /// Moderators: who is reviewing it, while the claim lasts.
    async fn claim(&self, ctx: &Context<'_>) -> AppResult<Option<SubmissionClaim>> {
        let (Some(moderator), Some(expires_at)) = (self.0.claimed_by, self.0.claim_expires_at) else { return Ok(None) };
        if expires_at <= Utc::now() || !ctx.auth().viewer().is_some_and(|v| v.role.is_moderator()) {
            return Ok(None);
        }
        Ok(Some(SubmissionClaim { moderator: User::load(ctx, UserId(moderator)).await?, expires_at }))
    }
    /// Warnings of the automatic checks (e.g. a likely duplicate), for the author and moderators.
    async fn check_warnings(&self, ctx: &Context<'_>) -> Vec<CheckWarning> {
        let viewer = ctx.auth().viewer();
        if !viewer.is_some_and(|v| v.role.is_moderator() || v.is(UserId(self.0.author_id))) {
            return Vec::new();
        }
        let stored: Vec<service::CheckWarning> =
            self.0.check_warnings.clone().and_then(|w| serde_json::from_value(w).ok()).unwrap_or_default();
        stored
            .into_iter()
            .map(|w| CheckWarning { change_id: ID(w.change.to_string()), field: w.field, message: w.message })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct SubmissionClaim {
    moderator: Option<User>,
    expires_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct CheckWarning {
    change_id: ID,
    /// The field, as in the change's `fields`.
    field: String,
    message: String,
}

/// One change of a submission.
pub struct Change(change::Model);

#[derive(SimpleObject)]
pub struct Conflict {
    change_id: ID,
    field: String,
    base: Json<Value>,
    ours: Json<Value>,
    theirs: Json<Value>,
}

fields::object!(Change);

#[Object(name = "Change")]
impl Fields<'_, Change> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn op(&self) -> ChangeOp {
        ChangeOp::parse(&self.0.op)
    }
    /// The entry changed (for a CREATE, once merged).
    async fn entry(&self, ctx: &Context<'_>) -> AppResult<Option<Entry>> {
        let Some(id) = self.0.entry_id else { return Ok(None) };
        Ok(ctx.loaders().content.load_one(EntryKey(id)).await.map_err(AppError::internal)?.map(Entry::new))
    }
    /// The revision the editor saw.
    async fn base_revision(&self, ctx: &Context<'_>) -> AppResult<Option<Revision>> {
        let Some(id) = self.0.base_revision_id else { return Ok(None) };
        Ok(ctx.loaders().versioning.load_one(RevisionKey(id)).await.map_err(AppError::internal)?.map(Revision))
    }
    /// The changed fields and their new values, by their versioned names as
    /// conflicts, diffs and imports name them (`parent`, `media`; `{"deleted": true}`
    /// for a DELETE).
    async fn fields(&self) -> Json<Value> {
        Json(self.0.patch.clone())
    }
    /// The same fields as `ChangeInput.fields` takes them (`parentId`, `mediaIds`):
    /// load them into an editor and send them back with `editChange`. Empty for a DELETE.
    async fn input_fields(&self) -> Json<Value> {
        Json(Value::Object(service::patch_of(&self.0).input_fields()))
    }
    /// Conflicts of the last merge attempt, with base / ours / theirs values.
    async fn conflicts(&self) -> Vec<Conflict> {
        conflicts_of(&self.0)
    }
    /// The entry as merging this change now would leave it; null if it would conflict.
    async fn preview(&self, ctx: &Context<'_>) -> AppResult<Option<EntrySnapshot>> {
        Ok(service::preview(&ctx.state().db, &self.0).await?.ok().map(EntrySnapshot))
    }
}

fn conflicts_of(change: &change::Model) -> Vec<Conflict> {
    let Some(Value::Array(list)) = &change.conflicts else { return Vec::new() };
    list.iter()
        .map(|c| Conflict {
            change_id: ID(change.uuid.to_string()),
            field: c["field"].as_str().unwrap_or_default().to_owned(),
            base: Json(c["base"].clone()),
            ours: Json(c["ours"].clone()),
            theirs: Json(c["theirs"].clone()),
        })
        .collect()
}

#[derive(SimpleObject)]
pub struct MergeResult {
    merged: bool,
    submission: Submission,
    revisions: Vec<Revision>,
    conflicts: Vec<Conflict>,
}

#[derive(InputObject)]
pub struct LinkInput {
    #[graphql(name = "type")]
    link_type: String,
    target: ID,
}

/// The fields an editor sets; leave out what you didn't change.
#[derive(InputObject, Default)]
pub struct EntryFieldsInput {
    slug: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    body: Option<String>,
    attributes: Option<Json<Value>>,
    tags: Option<Vec<String>>,
    /// Null removes the parent.
    parent_id: MaybeUndefined<ID>,
    links: Option<Vec<LinkInput>>,
    /// Your uploads (`uploadMedia`), in display order; media already on the entry may stay.
    media_ids: Option<Vec<ID>>,
}

impl EntryFieldsInput {
    /// The patch; `prefix` names the change in field paths (`changes.0.`, `change.`).
    fn into_patch(self, prefix: &str) -> AppResult<Patch> {
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
    op: ChangeOp,
    /// Kind slug, for CREATE.
    kind: Option<String>,
    /// For UPDATE and DELETE.
    entry_id: Option<ID>,
    /// The revision number you edited, for UPDATE and DELETE.
    base_revision: Option<i32>,
    #[graphql(default)]
    fields: EntryFieldsInput,
}

impl ChangeInput {
    /// The change to validate; `prefix` names it in field paths: `changes.0.` in a
    /// `CreateSubmissionInput`, `change.` as an argument.
    fn into_spec(self, prefix: &str) -> AppResult<service::ChangeSpec> {
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
    title: String,
    #[graphql(default)]
    description: String,
    #[graphql(default)]
    changes: Vec<ChangeInput>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ConflictChoice {
    Ours,
    Theirs,
    Custom,
}

#[derive(InputObject)]
pub struct ResolveConflictInput {
    change_id: ID,
    /// The conflicted field, e.g. `title`.
    field: String,
    resolution: ConflictChoice,
    /// The value, for CUSTOM.
    value: Option<Json<Value>>,
}

#[derive(InputObject, Default)]
pub struct SubmissionFilter {
    status: Option<SubmissionStatus>,
    /// Only the viewer's own.
    #[graphql(default)]
    mine: bool,
}

#[derive(InputObject, Default)]
pub struct QueueFilter {
    /// Only submissions changing entries of this kind (slug).
    kind: Option<String>,
    #[graphql(default)]
    claim: ClaimFilter,
}

#[derive(Default)]
pub struct VersioningQuery;

#[Object]
impl VersioningQuery {
    async fn submission(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Submission>> {
        let id = parse_uuid("id", &id)?;
        Ok(selectors::visible_submission(&ctx.state().db, ctx.auth().viewer(), id).await?.map(Submission))
    }

    /// Submissions the viewer may see, newest first.
    #[graphql(complexity = "pagination::complexity(child_complexity, first)")]
    async fn submissions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SubmissionFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Submission>> {
        use sea_orm::{ColumnTrait, QueryFilter};
        use xpr_entity::submission::Column;
        let page = Page::parse(first, after)?;
        let filter = filter.unwrap_or_default();
        let viewer = ctx.auth().viewer();
        let mut select = selectors::visible_submissions(viewer);
        if let Some(status) = filter.status {
            select = select.filter(Column::Status.eq(status.as_str()));
        }
        if filter.mine {
            select = select.filter(Column::AuthorId.eq(ctx.auth().require()?.id.0));
        }
        let (rows, has_next) =
            crate::paging::newest_first(&ctx.state().db, select, Column::Id, Column::Uuid, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, |s| Cursor::new(None, s.uuid), Submission))
    }

    /// Moderators: PENDING submissions, oldest submitted first, with their check warnings and claims.
    #[graphql(complexity = "pagination::complexity(child_complexity, first)")]
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
        filter: Option<QueueFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Submission>> {
        let viewer = ctx.auth().require()?;
        require_moderator(viewer)?;
        let page = Page::parse(first, after)?;
        let filter = filter.unwrap_or_default();
        let db = &ctx.state().db;
        let kind = match filter.kind {
            Some(slug) => Some(content_selectors::kind_by_slug(db, &slug).await?.id),
            None => None,
        };
        let (rows, has_next) = selectors::queue(db, viewer, kind, filter.claim, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, selectors::queue_cursor, Submission))
    }

    /// Field-by-field differences between two revisions (of any entries).
    async fn diff(&self, ctx: &Context<'_>, from: ID, to: ID) -> AppResult<EntryDiff> {
        let db = &ctx.state().db;
        let from = selectors::revision_meta_by_uuid(db, parse_uuid("from", &from)?)
            .await?
            .ok_or_else(|| AppError::not_found("revision"))?;
        let to = selectors::revision_meta_by_uuid(db, parse_uuid("to", &to)?)
            .await?
            .ok_or_else(|| AppError::not_found("revision"))?;
        load_diff(ctx, Some(from.id), to.id).await
    }
}

#[derive(Default)]
pub struct VersioningMutation;

#[Object]
impl VersioningMutation {
    /// Opens a DRAFT submission, optionally with changes.
    async fn create_submission(&self, ctx: &Context<'_>, input: CreateSubmissionInput) -> AppResult<Submission> {
        let changes = input.changes.into_iter().enumerate();
        let changes = changes.map(|(i, c)| c.into_spec(&format!("changes.{i}."))).collect::<AppResult<Vec<_>>>()?;
        let viewer = ctx.auth().require()?;
        Ok(Submission(
            service::create_submission(ctx.state(), viewer, &input.title, &input.description, changes).await?,
        ))
    }

    async fn add_change(&self, ctx: &Context<'_>, submission_id: ID, change: ChangeInput) -> AppResult<Change> {
        let id = parse_uuid("submissionId", &submission_id)?;
        Ok(Change(service::add_change(ctx.state(), ctx.auth().require()?, id, change.into_spec("change.")?).await?))
    }

    /// Replaces a change (DRAFT or CHANGES_REQUESTED only).
    async fn edit_change(&self, ctx: &Context<'_>, change_id: ID, change: ChangeInput) -> AppResult<Change> {
        let id = parse_uuid("changeId", &change_id)?;
        Ok(Change(service::edit_change(ctx.state(), ctx.auth().require()?, id, change.into_spec("change.")?).await?))
    }

    async fn remove_change(&self, ctx: &Context<'_>, change_id: ID) -> AppResult<Submission> {
        let id = parse_uuid("changeId", &change_id)?;
        Ok(Submission(service::remove_change(ctx.state(), ctx.auth().require()?, id).await?))
    }

    async fn submit_for_review(&self, ctx: &Context<'_>, submission_id: ID) -> AppResult<Submission> {
        let id = parse_uuid("submissionId", &submission_id)?;
        Ok(Submission(service::submit(ctx.state(), ctx.auth().require()?, id).await?))
    }

    async fn withdraw_submission(&self, ctx: &Context<'_>, submission_id: ID) -> AppResult<Submission> {
        let id = parse_uuid("submissionId", &submission_id)?;
        Ok(Submission(service::withdraw(ctx.state(), ctx.auth().require()?, id).await?))
    }

    /// Moderators: merges the whole submission atomically, or records its conflicts.
    async fn approve_submission(
        &self,
        ctx: &Context<'_>,
        submission_id: ID,
        comment: Option<String>,
    ) -> AppResult<MergeResult> {
        let id = parse_uuid("submissionId", &submission_id)?;
        let outcome = service::approve(ctx.state(), ctx.auth().require()?, id, comment).await?;
        let conflicts = outcome
            .conflicts
            .into_iter()
            .map(|(change, c)| Conflict {
                change_id: ID(change.to_string()),
                field: c.field.name().to_owned(),
                base: Json(c.base),
                ours: Json(c.ours),
                theirs: Json(c.theirs),
            })
            .collect();
        let revisions: Vec<Revision> = outcome.revisions.into_iter().map(|r| Revision(r.into())).collect();
        Ok(MergeResult {
            merged: !revisions.is_empty(),
            submission: Submission(outcome.submission),
            revisions,
            conflicts,
        })
    }

    /// Moderators: rejects a pending submission with a reason the author sees.
    async fn reject_submission(&self, ctx: &Context<'_>, submission_id: ID, reason: String) -> AppResult<Submission> {
        let id = parse_uuid("submissionId", &submission_id)?;
        let viewer = ctx.auth().require()?;
        Ok(Submission(service::decide(ctx.state(), viewer, id, service::Decision::Reject, &reason).await?))
    }

    /// Moderators: sends a pending submission back to its author with a reason.
    async fn request_changes(&self, ctx: &Context<'_>, submission_id: ID, reason: String) -> AppResult<Submission> {
        let id = parse_uuid("submissionId", &submission_id)?;
        let viewer = ctx.auth().require()?;
        Ok(Submission(service::decide(ctx.state(), viewer, id, service::Decision::RequestChanges, &reason).await?))
    }

    /// Moderators: takes a pending submission for review; other moderators can't decide on it until the claim expires.
    async fn claim_submission(&self, ctx: &Context<'_>, submission_id: ID) -> AppResult<Submission> {
        let id = parse_uuid("submissionId", &submission_id)?;
        Ok(Submission(service::claim(ctx.state(), ctx.auth().require()?, id).await?))
    }

    /// Moderators: gives a claimed submission back to the queue (admins may release anyone's claim).
    async fn release_submission_claim(&self, ctx: &Context<'_>, submission_id: ID) -> AppResult<Submission> {
        let id = parse_uuid("submissionId", &submission_id)?;
        Ok(Submission(service::release_claim(ctx.state(), ctx.auth().require()?, id).await?))
    }

    /// Chooses ours, theirs or a custom value for one conflicted field.
    async fn resolve_conflict(&self, ctx: &Context<'_>, input: ResolveConflictInput) -> AppResult<Change> {
        let id = parse_uuid("changeId", &input.change_id)?;
        let field = Field::parse(&input.field).ok_or_else(|| AppError::bad_input("field", "not a versioned field"))?;
        let resolution = match (input.resolution, input.value) {
            (ConflictChoice::Ours, _) => Resolution::Ours,
            (ConflictChoice::Theirs, _) => Resolution::Theirs,
            (ConflictChoice::Custom, Some(value)) => Resolution::Custom(value.0),
            (ConflictChoice::Custom, None) => return Err(AppError::bad_input("value", "is required for CUSTOM")),
        };
        Ok(Change(service::resolve_conflict(ctx.state(), ctx.auth().require()?, id, field, resolution).await?))
    }

    /// Moves every change onto the current revision of its entry.
    async fn rebase_submission(&self, ctx: &Context<'_>, submission_id: ID) -> AppResult<Submission> {
        let id = parse_uuid("submissionId", &submission_id)?;
        Ok(Submission(service::rebase(ctx.state(), ctx.auth().require()?, id).await?))
    }

    /// Opens a submission (pending review) restoring an older revision.
    async fn revert_entry(
        &self,
        ctx: &Context<'_>,
        entry_id: ID,
        to_revision: i32,
        reason: String,
    ) -> AppResult<Submission> {
        let id = parse_uuid("entryId", &entry_id)?;
        Ok(Submission(service::revert_entry(ctx.state(), ctx.auth().require()?, id, to_revision, &reason).await?))
    }
}
