//! Submissions and their changes as GraphQL objects, with conflicts and the automatic checks' warnings; drafts are seen only by their author and moderators.

use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;
use xpr_entity::{change, submission};

use crate::modules::versioning::{
    domain::{ChangeOp, SubmissionStatus},
    selectors::{ChangesKey, RevisionKey},
    service,
};
use crate::{
    auth::{
        Viewer,
        policy::{self, Action},
    },
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
    },
    modules::{
        content::{graphql::Entry, selectors::EntryKey},
        identity::graphql::User,
    },
};

use super::history::{EntrySnapshot, Revision};

pub(super) fn visible(viewer: Option<&Viewer>, submission: &submission::Model) -> bool {
    submission.status == SubmissionStatus::Merged
        || policy::allows(viewer, Action::ReadPrivate { author: submission.author_id })
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
        self.0.status
    }
    async fn author(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.0.author_id).await
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
        if expires_at <= Utc::now() || !policy::sees_everything(ctx.auth().viewer()) {
            return Ok(None);
        }
        Ok(Some(SubmissionClaim { moderator: User::load(ctx, moderator).await?, expires_at }))
    }
    /// Warnings of the automatic checks (e.g. a likely duplicate), for the author and moderators.
    async fn check_warnings(&self, ctx: &Context<'_>) -> Vec<CheckWarning> {
        let viewer = ctx.auth().viewer();
        if !policy::allows(viewer, Action::ReadPrivate { author: self.0.author_id }) {
            return Vec::new();
        }
        let stored = self.0.check_warnings.iter().flat_map(|w| &w.0);
        stored
            .map(|w| CheckWarning {
                change_id: ID(w.change.to_string()),
                field: w.field.clone(),
                message: w.message.clone(),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
pub struct SubmissionClaim {
    pub(super) moderator: Option<User>,
    pub(super) expires_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct CheckWarning {
    pub(super) change_id: ID,
    /// The field, as in the change's `fields`.
    pub(super) field: String,
    pub(super) message: String,
}

/// One change of a submission.
pub struct Change(pub(super) change::Model);

#[derive(SimpleObject)]
pub struct Conflict {
    pub(super) change_id: ID,
    pub(super) field: String,
    pub(super) base: Json<Value>,
    pub(super) ours: Json<Value>,
    pub(super) theirs: Json<Value>,
}

fields::object!(Change);

#[Object(name = "Change")]
impl Fields<'_, Change> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn op(&self) -> ChangeOp {
        self.0.op
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

impl Conflict {
    pub(super) fn new(change: Uuid, c: change::Conflict) -> Self {
        let change_id = ID(change.to_string());
        Conflict { change_id, field: c.field, base: Json(c.base), ours: Json(c.ours), theirs: Json(c.theirs) }
    }
}

pub(super) fn conflicts_of(change: &change::Model) -> Vec<Conflict> {
    let stored = change.conflicts.iter().flat_map(|c| c.0.iter().cloned());
    stored.map(|c| Conflict::new(change.uuid, c)).collect()
}

#[derive(SimpleObject)]
pub struct MergeResult {
    pub(super) merged: bool,
    pub(super) submission: Submission,
    pub(super) revisions: Vec<Revision>,
    pub(super) conflicts: Vec<Conflict>,
}
