//! Versioning's GraphQL types and fields: revisions, diffs, submissions and
//! changes, and the editing, review and merge mutations.

mod history;
mod inputs;
mod submissions;

use async_graphql::{Context, ID, Object};

use super::{
    domain::Field,
    merge::Resolution,
    selectors::{self},
    service,
};
use crate::{
    auth::policy::{self, Action},
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        pagination::{self, Connection},
    },
    ids::parse_uuid,
    modules::content::selectors::{self as content_selectors},
    paging::{Cursor, Page},
};

pub use history::*;
pub use inputs::*;
pub use submissions::*;

#[derive(Default)]
pub struct VersioningQuery;

#[Object]
impl VersioningQuery {
    async fn submission(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Submission>> {
        let id = parse_uuid("id", &id)?;
        Ok(selectors::visible_submission(&ctx.state().db, ctx.auth().viewer(), id).await?.map(Submission))
    }

    /// Submissions the viewer may see, newest first.
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
            select = select.filter(Column::Status.eq(status));
        }
        if filter.mine {
            select = select.filter(Column::AuthorId.eq(ctx.auth().require()?.id.0));
        }
        let (rows, has_next) =
            crate::paging::newest_first(&ctx.state().db, select, Column::Id, Column::Uuid, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, |s| Cursor::new(None, s.uuid), Submission))
    }

    /// Moderators: PENDING submissions, oldest submitted first, with their check warnings and claims.
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
        filter: Option<QueueFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Submission>> {
        let viewer = ctx.auth().require()?;
        policy::check(viewer, Action::Moderate)?;
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
        let conflicts = outcome.conflicts.into_iter().map(|(change, c)| Conflict::new(change, c)).collect();
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
            (ConflictChoice::Custom, Some(value)) => Resolution::Custom { value: value.0 },
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
