//! Versioning writes: submissions and their changes, and the merge that turns
//! an approved submission into revisions — atomically, three-way per field,
//! with entry rows locked so concurrent merges never lose an update.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, IntoActiveModel,
    JoinType, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::{Value, json};
use uuid::Uuid;
use xpr_entity::{change, entry, entry_kind, revision, revision_archive, submission};

use super::{
    domain::{ChangeOp, Field, MergePolicy, Patch, Snapshot, SubmissionStatus, Transition, input_path},
    merge::{self, Conflict, Resolution},
    selectors,
};
use crate::{
    app::AppState,
    auth::Viewer,
    db,
    error::{AppError, AppResult, FieldError},
    ids::{UserId, new_uuid},
    modules::{
        content::{
            self, selectors as content_selectors,
            service::{EntryWrite, Targets},
        },
        identity::{
            self,
            domain::{Role, Scope},
        },
        media,
        moderation::{
            checks::Checker,
            domain::{self as moderation_domain, ModerationActionKind as Action, TargetType},
            service::{record, require_moderator},
        },
        realtime::{
            self,
            domain::{NotificationKind, QueueEventKind, entry_channel},
        },
    },
};

/// A change as an editor describes it.
pub struct ChangeSpec {
    pub op: ChangeOp,
    /// Kind slug, for CREATE.
    pub kind: Option<String>,
    /// The entry, for UPDATE and DELETE.
    pub entry: Option<Uuid>,
    /// The revision number the editor saw, for UPDATE and DELETE.
    pub base_revision: Option<i32>,
    pub patch: Patch,
}

/// The result of an approval: merged, or conflicted with every conflict listed.
pub struct MergeOutcome {
    pub submission: submission::Model,
    pub revisions: Vec<revision::Model>,
    pub conflicts: Vec<(Uuid, Conflict)>,
}

fn status(s: &submission::Model) -> SubmissionStatus {
    SubmissionStatus::parse(&s.status)
}

fn illegal(s: &submission::Model, what: &str) -> AppError {
    AppError::Conflict(format!("a {} submission can't be {what}", s.status.to_lowercase().replace('_', " ")))
}

fn contributor(viewer: &Viewer) -> AppResult<()> {
    viewer.require_scope(Scope::Write)?;
    if viewer.suspended {
        return Err(AppError::forbidden("your account is suspended"));
    }
    Ok(())
}

/// The author's submission in a state allowing `transition`; others' are not found.
async fn own_submission(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
    transition: Transition,
    what: &str,
) -> AppResult<submission::Model> {
    let found = selectors::submission_by_uuid(db, id).await?;
    let submission = found
        .filter(|s| viewer.is(crate::ids::UserId(s.author_id)))
        .ok_or_else(|| AppError::not_found("submission"))?;
    if !status(&submission).allows(transition) {
        return Err(illegal(&submission, what));
    }
    Ok(submission)
}

fn bad(prefix: &str, field: &str, message: impl Into<String>) -> AppError {
    AppError::BadInput(vec![FieldError::new(&format!("{prefix}{field}"), message)])
}

/// A [`bad`] value of a versioned field, named as the change's `fields` input names it.
fn bad_field(prefix: &str, field: Field, message: impl Into<String>) -> AppError {
    AppError::bad_input(&input_path(prefix, field.name()), message)
}

/// Most images on one entry.
const MAX_MEDIA: usize = 20;

/// Images a change adds must be uploads of its author (`None`: an operator's import, trusted).
async fn check_media(
    db: &impl ConnectionTrait,
    author: Option<UserId>,
    before: &[Uuid],
    after: &[Uuid],
    prefix: &str,
) -> AppResult<()> {
    if after.len() > MAX_MEDIA {
        return Err(bad_field(prefix, Field::Media, format!("at most {MAX_MEDIA} images")));
    }
    let added: Vec<Uuid> = after.iter().filter(|m| !before.contains(m)).copied().collect();
    if let Some(author) = author {
        media::selectors::owned_ids(db, author, &added, &input_path(prefix, Field::Media.name())).await?;
    }
    Ok(())
}

/// Validates a change by `author` and builds its row (without submission and position).
pub(super) async fn prepare(
    db: &impl ConnectionTrait,
    author: Option<UserId>,
    spec: ChangeSpec,
    prefix: &str,
) -> AppResult<change::ActiveModel> {
    if spec.patch.0.contains_key(Field::Deleted.name()) {
        return Err(bad_field(prefix, Field::Deleted, "use a DELETE change"));
    }
    let now = Utc::now();
    let mut row = change::ActiveModel {
        uuid: Set(new_uuid()),
        op: Set(spec.op.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match spec.op {
        ChangeOp::Create => {
            let kind = content_selectors::kind_by_slug(
                db,
                spec.kind.as_deref().ok_or_else(|| bad(prefix, "kind", "is required to create"))?,
            )
            .await
            .map_err(|_| bad(prefix, "kind", "no such entry kind"))?;
            let snapshot = spec.patch.apply(&Snapshot::default()).map_err(|(f, e)| bad_field(prefix, f, e))?;
            let targets = Targets::load(db, [&snapshot]).await?;
            content::service::check(&kind, &snapshot, None, prefix, &targets)?;
            check_media(db, author, &[], &snapshot.media, prefix).await?;
            if content_selectors::entry_by_slug_in(db, kind.id, &snapshot.slug).await?.is_some() {
                return Err(bad_field(prefix, Field::Slug, "is already taken in this kind"));
            }
            row.kind_id = Set(Some(kind.id));
            row.patch = Set(Value::Object(spec.patch.0));
        }
        ChangeOp::Update | ChangeOp::Delete => {
            let entry_id = spec.entry.ok_or_else(|| bad(prefix, "entryId", "is required"))?;
            let entry = content_selectors::entry_by_uuid(db, entry_id)
                .await?
                .ok_or_else(|| bad(prefix, "entryId", "no such entry"))?;
            if entry.deleted {
                return Err(bad(prefix, "entryId", "the entry is deleted; revert it to a live revision first"));
            }
            let number = spec
                .base_revision
                .ok_or_else(|| bad(prefix, "baseRevision", "is required: the revision you edited"))?;
            let base = selectors::revision_by_number(db, entry.id, number)
                .await?
                .ok_or_else(|| bad(prefix, "baseRevision", "no such revision of this entry"))?;
            let patch = match spec.op {
                ChangeOp::Delete => {
                    Patch([(Field::Deleted.name().to_owned(), Value::Bool(true))].into_iter().collect())
                }
                _ => {
                    let base_snapshot = selectors::snapshot(db, &base).await?;
                    let after = spec.patch.apply(&base_snapshot).map_err(|(f, e)| bad_field(prefix, f, e))?;
                    if after == base_snapshot {
                        return Err(bad(prefix, "fields", "changes nothing"));
                    }
                    let kind = entry_kind::Entity::find_by_id(entry.kind_id)
                        .one(db)
                        .await?
                        .ok_or_else(|| AppError::not_found("kind"))?;
                    let targets = Targets::load(db, [&after]).await?;
                    content::service::check(&kind, &after, Some(entry.uuid), prefix, &targets)?;
                    check_media(db, author, &base_snapshot.media, &after.media, prefix).await?;
                    spec.patch
                }
            };
            row.entry_id = Set(Some(entry.id));
            row.base_revision_id = Set(Some(base.id));
            row.patch = Set(Value::Object(patch.0));
        }
    }
    Ok(row)
}

/// Appends a change; `prefix` names it in field paths, as for [`prepare`].
async fn insert_change(
    txn: &DatabaseTransaction,
    submission: &submission::Model,
    mut row: change::ActiveModel,
    prefix: &str,
) -> AppResult<change::Model> {
    let existing = selectors::changes_of(txn, submission.id).await?;
    if let Set(Some(entry)) = &row.entry_id
        && existing.iter().any(|c| c.entry_id == Some(*entry))
    {
        return Err(bad(prefix, "entryId", "this submission already changes the entry; edit that change"));
    }
    row.submission_id = Set(submission.id);
    row.position = Set(existing.iter().map(|c| c.position + 1).max().unwrap_or(0));
    Ok(row.insert(txn).await?)
}

pub async fn create_submission(
    state: &AppState,
    viewer: &Viewer,
    title: &str,
    description: &str,
    changes: Vec<ChangeSpec>,
) -> AppResult<submission::Model> {
    contributor(viewer)?;
    let title =
        crate::modules::identity::domain::text("title", title, 1, 200).map_err(|e| AppError::BadInput(vec![e]))?;
    let mut rows = Vec::with_capacity(changes.len());
    for (i, spec) in changes.into_iter().enumerate() {
        rows.push(prepare(&state.db, Some(viewer.id), spec, &format!("changes.{i}.")).await?);
    }
    open_submission(state, viewer, title, description, rows, SubmissionStatus::Draft).await
}

/// Opens a submission with already validated changes.
pub(super) async fn open_submission(
    state: &AppState,
    viewer: &Viewer,
    title: String,
    description: &str,
    rows: Vec<change::ActiveModel>,
    status: SubmissionStatus,
) -> AppResult<submission::Model> {
    db::transaction!(&state.db, |txn| {
        let submission = insert_submission(&txn, viewer, title.clone(), description, rows.clone(), status).await?;
        Ok(submission)
    })
}

async fn insert_submission(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    title: String,
    description: &str,
    rows: Vec<change::ActiveModel>,
    status: SubmissionStatus,
) -> AppResult<submission::Model> {
    let now = Utc::now();
    let submission = submission::ActiveModel {
        uuid: Set(new_uuid()),
        author_id: Set(viewer.id.0),
        title: Set(title),
        description: Set(description.trim().to_owned()),
        status: Set(status.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        submitted_at: Set((status == SubmissionStatus::Pending).then_some(now)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for (i, row) in rows.into_iter().enumerate() {
        insert_change(txn, &submission, row, &format!("changes.{i}.")).await?;
    }
    Ok(submission)
}

pub async fn add_change(
    state: &AppState,
    viewer: &Viewer,
    submission: Uuid,
    spec: ChangeSpec,
) -> AppResult<change::Model> {
    contributor(viewer)?;
    let submission = own_submission(&state.db, viewer, submission, Transition::Edit, "edited").await?;
    let row = prepare(&state.db, Some(viewer.id), spec, "change.").await?;
    db::transaction!(&state.db, |txn| {
        let change = insert_change(&txn, &submission, row.clone(), "change.").await?;
        Ok(change)
    })
}

/// The change and its submission, if the viewer authored it.
async fn own_change(
    state: &AppState,
    viewer: &Viewer,
    change: Uuid,
    transition: Transition,
    what: &str,
) -> AppResult<(change::Model, submission::Model)> {
    let change = selectors::change_by_uuid(&state.db, change).await?.ok_or_else(|| AppError::not_found("change"))?;
    let submission = submission::Entity::find_by_id(change.submission_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("change"))?;
    let submission = own_submission(&state.db, viewer, submission.uuid, transition, what).await?;
    Ok((change, submission))
}

pub async fn edit_change(
    state: &AppState,
    viewer: &Viewer,
    change: Uuid,
    spec: ChangeSpec,
) -> AppResult<change::Model> {
    contributor(viewer)?;
    let (old, _) = own_change(state, viewer, change, Transition::Edit, "edited").await?;
    let mut row = prepare(&state.db, Some(viewer.id), spec, "change.").await?;
    row.id = Set(old.id);
    row.uuid = Set(old.uuid);
    row.submission_id = Set(old.submission_id);
    row.position = Set(old.position);
    row.created_at = Set(old.created_at);
    Ok(row.update(&state.db).await?)
}

pub async fn remove_change(state: &AppState, viewer: &Viewer, change: Uuid) -> AppResult<submission::Model> {
    contributor(viewer)?;
    let (change, submission) = own_change(state, viewer, change, Transition::Edit, "edited").await?;
    change::Entity::delete_by_id(change.id).exec(&state.db).await?;
    Ok(submission)
}

/// A claim leaves a submission to its moderator until it expires; admins may act anyway.
fn claim_allows(viewer: &Viewer, now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(submission::Column::ClaimedBy.is_null())
        .add(submission::Column::ClaimedBy.eq(viewer.id.0))
        .add(submission::Column::ClaimExpiresAt.lt(now))
}

/// Why a guarded update of a pending submission did nothing: its state moved on, or another moderator holds it.
async fn refused(db: &impl ConnectionTrait, id: i64, what: &str) -> AppError {
    match submission::Entity::find_by_id(id).one(db).await {
        Ok(Some(current)) if status(&current) == SubmissionStatus::Pending && current.claimed_by.is_some() => {
            let until = current.claim_expires_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            AppError::Conflict(format!("another moderator has claimed this submission until {until}"))
        }
        Ok(Some(current)) => illegal(&current, what),
        Ok(None) => AppError::not_found("submission"),
        Err(err) => err.into(),
    }
}

/// Moves a submission to `to` only if it is still in a state allowing
/// `transition` (and, for a decision, not claimed by another moderator): the
/// conditional update is what makes racing decisions safe. Any claim ends.
async fn transition(
    db: &impl ConnectionTrait,
    submission: &submission::Model,
    transition: Transition,
    to: SubmissionStatus,
    decided_by: Option<&Viewer>,
    reason: Option<String>,
) -> AppResult<submission::Model> {
    let now = Utc::now();
    let from: Vec<&str> = [
        SubmissionStatus::Draft,
        SubmissionStatus::Pending,
        SubmissionStatus::ChangesRequested,
        SubmissionStatus::Conflicted,
    ]
    .into_iter()
    .filter(|s| s.allows(transition))
    .map(SubmissionStatus::as_str)
    .collect();
    let mut update = submission::Entity::update_many()
        .col_expr(submission::Column::Status, Expr::value(to.as_str()))
        .col_expr(submission::Column::UpdatedAt, Expr::value(now))
        .col_expr(submission::Column::ClaimedBy, Expr::value(Option::<i64>::None))
        .col_expr(submission::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(submission::Column::Id.eq(submission.id))
        .filter(submission::Column::Status.is_in(from));
    if to == SubmissionStatus::Pending && transition == Transition::Submit {
        update = update.col_expr(submission::Column::SubmittedAt, Expr::value(now));
    }
    if let Some(viewer) = decided_by {
        update = update
            .col_expr(submission::Column::DecidedAt, Expr::value(now))
            .col_expr(submission::Column::DecidedBy, Expr::value(viewer.id.0))
            .col_expr(submission::Column::DecisionReason, Expr::value(reason));
        if viewer.role != Role::Admin {
            update = update.filter(claim_allows(viewer, now));
        }
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Err(refused(db, submission.id, "changed that way any more").await);
    }
    submission::Entity::find_by_id(submission.id).one(db).await?.ok_or_else(|| AppError::not_found("submission"))
}

/// Submits for review after the automatic checks: failures refuse it field by
/// field, warnings are kept for moderators. A trusted author's submission with
/// neither is merged at once.
pub async fn submit(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    viewer.require_verified_writer("submit for review")?;
    let submission = own_submission(&state.db, viewer, id, Transition::Submit, "submitted").await?;
    let changes = selectors::changes_of(&state.db, submission.id).await?;
    if changes.is_empty() {
        return Err(AppError::bad_input("submissionId", "add at least one change first"));
    }
    if changes.iter().any(|c| c.conflicts.is_some()) {
        return Err(AppError::bad_input("submissionId", "resolve the conflicts of its changes first"));
    }
    // Refuse early, before the checks; the count that holds is the one in the transaction.
    check_limits(&state.db, state, viewer, Some(submission.id)).await?;
    let warnings = run_checks(&state.db, &changes).await?;
    let automatic = automatic_merge(state, viewer, &warnings).await?;
    db::transaction!(&state.db, |txn| {
        identity::service::lock_user(&txn, viewer.id).await?;
        let pending = transition(&txn, &submission, Transition::Submit, SubmissionStatus::Pending, None, None).await?;
        check_limits(&txn, state, viewer, Some(pending.id)).await?;
        let pending = enter_queue(&txn, pending, &warnings).await?;
        let submission = merge_if(&txn, automatic.as_ref(), viewer, pending).await?;
        Ok(submission)
    })
}

/// Stores the warnings of a submission that just became PENDING and announces
/// it in the moderation queue.
async fn enter_queue(
    txn: &DatabaseTransaction,
    pending: submission::Model,
    warnings: &[CheckWarning],
) -> AppResult<submission::Model> {
    let mut active: submission::ActiveModel = pending.into();
    active.check_warnings = Set((!warnings.is_empty()).then(|| json!(warnings)));
    let pending = active.update(txn).await?;
    realtime::service::submission_changed(txn, pending.uuid, &pending.status, Some(QueueEventKind::Submitted)).await?;
    Ok(pending)
}

/// The checker for merging a trusted author's submission at once, when the
/// checks left no warnings; `None` when it waits for a moderator.
async fn automatic_merge(state: &AppState, viewer: &Viewer, warnings: &[CheckWarning]) -> AppResult<Option<Checker>> {
    let author = identity::selectors::user_by_uuid(&state.db, viewer.uuid).await?;
    let trusted = moderation_domain::trusted(viewer.role, author.reputation, state.config.trust_reputation);
    Ok(if trusted && warnings.is_empty() { Some(Checker::load(&state.db).await?) } else { None })
}

/// Merges `pending` in the transaction that submitted it when `checker` says
/// it merges at once: submit and merge succeed or fail together.
async fn merge_if(
    txn: &DatabaseTransaction,
    checker: Option<&Checker>,
    viewer: &Viewer,
    pending: submission::Model,
) -> AppResult<submission::Model> {
    match checker {
        Some(checker) => Ok(merge_in(txn, checker, viewer, &pending, None, false).await?.submission),
        None => Ok(pending),
    }
}

/// Per-user limits: submissions waiting at once, and submitted per hour, not
/// counting `submission` itself. Counted once more inside the submitting
/// transaction, after the status change and under [`identity::service::lock_user`],
/// so that concurrent submits by one user can't all pass.
async fn check_limits(
    db: &impl ConnectionTrait,
    state: &AppState,
    viewer: &Viewer,
    submission: Option<i64>,
) -> AppResult<()> {
    use sea_orm::{PaginatorTrait, QueryOrder};
    let others = submission::Column::Id.ne(submission.unwrap_or(0));
    let waiting = [SubmissionStatus::Pending, SubmissionStatus::ChangesRequested, SubmissionStatus::Conflicted];
    let open = submission::Entity::find()
        .filter(submission::Column::AuthorId.eq(viewer.id.0))
        .filter(others.clone())
        .filter(submission::Column::Status.is_in(waiting.map(SubmissionStatus::as_str)))
        .count(db)
        .await?;
    if open >= state.config.max_open_submissions {
        return Err(AppError::bad_input(
            "submissionId",
            format!("you have {open} submissions waiting for a decision; wait for one or withdraw one first"),
        ));
    }
    let now = Utc::now();
    let hour_ago = now - chrono::Duration::hours(1);
    let recent: Vec<DateTime<Utc>> = submission::Entity::find()
        .select_only()
        .column(submission::Column::SubmittedAt)
        .filter(submission::Column::AuthorId.eq(viewer.id.0))
        .filter(others)
        .filter(submission::Column::SubmittedAt.gt(hour_ago))
        .order_by_asc(submission::Column::SubmittedAt)
        .limit(state.config.submissions_per_hour)
        .into_tuple()
        .all(db)
        .await?;
    if recent.len() as u64 >= state.config.submissions_per_hour {
        let frees_at = recent[0] + chrono::Duration::hours(1);
        return Err(AppError::RateLimited { retry_after_secs: Ord::max((frees_at - now).num_seconds(), 1) as u64 });
    }
    Ok(())
}

/// A warning of the automatic checks, stored on the submission.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct CheckWarning {
    pub change: Uuid,
    pub field: String,
    pub message: String,
}

/// Runs the automatic checks on every change as it would leave its entry.
async fn run_checks(db: &impl ConnectionTrait, changes: &[change::Model]) -> AppResult<Vec<CheckWarning>> {
    let checker = Checker::load(db).await?;
    let mut checked = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let prefix = format!("changes.{i}.");
        let (kind, snapshot, itself) = match ChangeOp::parse(&change.op) {
            ChangeOp::Delete => continue,
            ChangeOp::Create => {
                let kind = kind_by_id(db, change.kind_id.unwrap_or_default()).await?;
                let snapshot = patch_of(change).apply(&Snapshot::default());
                (kind, snapshot, None)
            }
            ChangeOp::Update => {
                let entry = entry::Entity::find_by_id(change.entry_id.unwrap_or_default())
                    .one(db)
                    .await?
                    .ok_or_else(|| AppError::not_found("entry"))?;
                let base = selectors::snapshot_by_id(db, change.base_revision_id.unwrap_or_default()).await?;
                (kind_by_id(db, entry.kind_id).await?, patch_of(change).apply(&base), Some(entry.uuid))
            }
        };
        let snapshot = snapshot.map_err(|(f, e)| bad_field(&prefix, f, e))?;
        checked.push((change, prefix, kind, snapshot, itself));
    }
    let targets = Targets::load(db, checked.iter().map(|c| &c.3)).await?;
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    for (change, prefix, kind, snapshot, itself) in &checked {
        errors.extend(checker.errors(kind, snapshot, *itself, prefix, &targets)?);
        for warning in checker.warnings(db, kind, snapshot, *itself).await? {
            warnings.push(CheckWarning { change: change.uuid, field: warning.field, message: warning.message });
        }
    }
    if errors.is_empty() { Ok(warnings) } else { Err(AppError::BadInput(errors)) }
}

pub async fn withdraw(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    let submission = own_submission(&state.db, viewer, id, Transition::Withdraw, "withdrawn").await?;
    db::transaction!(&state.db, |txn| {
        let withdrawn =
            transition(&txn, &submission, Transition::Withdraw, SubmissionStatus::Withdrawn, None, None).await?;
        let left_queue = (status(&submission) == SubmissionStatus::Pending).then_some(QueueEventKind::Decided);
        realtime::service::submission_changed(&txn, withdrawn.uuid, &withdrawn.status, left_queue).await?;
        Ok(withdrawn)
    })
}

/// A moderator's decision other than approval, with the reason the author sees.
pub enum Decision {
    Reject,
    RequestChanges,
}

pub async fn decide(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
    decision: Decision,
    reason: &str,
) -> AppResult<submission::Model> {
    require_moderator(viewer)?;
    let reason =
        crate::modules::identity::domain::text("reason", reason, 3, 2000).map_err(|e| AppError::BadInput(vec![e]))?;
    let (tr, to, action) = match decision {
        Decision::Reject => (Transition::Reject, SubmissionStatus::Rejected, Action::RejectSubmission),
        Decision::RequestChanges => {
            (Transition::RequestChanges, SubmissionStatus::ChangesRequested, Action::RequestChanges)
        }
    };
    let found = selectors::submission_by_uuid(&state.db, id).await?.ok_or_else(|| AppError::not_found("submission"))?;
    db::transaction!(&state.db, |txn| {
        let submission = transition(&txn, &found, tr, to, Some(viewer), Some(reason.clone())).await?;
        record(&txn, viewer, action, (TargetType::Submission, id), Some(&reason)).await?;
        realtime::service::submission_changed(&txn, id, &submission.status, Some(QueueEventKind::Decided)).await?;
        let kind = match decision {
            Decision::Reject => NotificationKind::SubmissionRejected,
            Decision::RequestChanges => NotificationKind::ChangesRequested,
        };
        let verb = if kind == NotificationKind::SubmissionRejected { "was rejected" } else { "needs changes" };
        notify_author(
            &txn,
            &submission,
            kind,
            format!("Your submission “{}” {verb}: {reason}", submission.title),
            viewer,
        )
        .await?;
        if to == SubmissionStatus::Rejected {
            identity::service::add_reputation(
                &txn,
                UserId(submission.author_id),
                moderation_domain::REJECTED_REPUTATION,
            )
            .await?;
        }
        Ok(submission)
    })
}

/// Claims a pending submission for review until the claim expires. Another
/// moderator's live claim is refused, except to admins.
pub async fn claim(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    require_moderator(viewer)?;
    let found = selectors::submission_by_uuid(&state.db, id).await?.ok_or_else(|| AppError::not_found("submission"))?;
    let now = Utc::now();
    db::transaction!(&state.db, |txn| {
        let mut update = submission::Entity::update_many()
            .col_expr(submission::Column::ClaimedBy, Expr::value(viewer.id.0))
            .col_expr(
                submission::Column::ClaimExpiresAt,
                Expr::value(now + chrono::Duration::seconds(state.config.claim_ttl_secs)),
            )
            .filter(submission::Column::Id.eq(found.id))
            .filter(submission::Column::Status.eq(SubmissionStatus::Pending.as_str()));
        if viewer.role != Role::Admin {
            update = update.filter(claim_allows(viewer, now));
        }
        if update.exec(&txn).await?.rows_affected == 0 {
            return Err(refused(&txn, found.id, "claimed").await);
        }
        record(&txn, viewer, Action::ClaimSubmission, (TargetType::Submission, id), None).await?;
        realtime::service::submission_changed(&txn, id, &found.status, Some(QueueEventKind::Claimed)).await?;
        let claimed = submission::Entity::find_by_id(found.id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("submission"))?;
        Ok(claimed)
    })
}

/// Gives a claim back to the queue: the claiming moderator, or an admin.
pub async fn release_claim(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    require_moderator(viewer)?;
    let found = selectors::submission_by_uuid(&state.db, id).await?.ok_or_else(|| AppError::not_found("submission"))?;
    db::transaction!(&state.db, |txn| {
        let mut update = submission::Entity::update_many()
            .col_expr(submission::Column::ClaimedBy, Expr::value(Option::<i64>::None))
            .col_expr(submission::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(submission::Column::Id.eq(found.id))
            .filter(submission::Column::ClaimedBy.is_not_null());
        if viewer.role != Role::Admin {
            update = update.filter(submission::Column::ClaimedBy.eq(viewer.id.0));
        }
        if update.exec(&txn).await?.rows_affected == 0 {
            return Err(AppError::Conflict("you hold no claim on this submission".into()));
        }
        record(&txn, viewer, Action::ReleaseClaim, (TargetType::Submission, id), None).await?;
        realtime::service::submission_changed(&txn, id, &found.status, Some(QueueEventKind::Released)).await?;
        let released = submission::Entity::find_by_id(found.id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("submission"))?;
        Ok(released)
    })
}

/// Withdraws every open submission of a user (on ban), in the caller's
/// transaction, with the events of a withdrawal: each submission's, and a queue
/// event for those that were waiting for review.
pub async fn withdraw_all_of(txn: &DatabaseTransaction, author: UserId) -> AppResult<u64> {
    let open: Vec<&str> = [
        SubmissionStatus::Draft,
        SubmissionStatus::Pending,
        SubmissionStatus::ChangesRequested,
        SubmissionStatus::Conflicted,
    ]
    .into_iter()
    .filter(|s| s.allows(Transition::Withdraw))
    .map(SubmissionStatus::as_str)
    .collect();
    // Locked, so that what is announced is what is withdrawn.
    let found: Vec<(i64, Uuid, String)> = submission::Entity::find()
        .select_only()
        .columns([submission::Column::Id, submission::Column::Uuid, submission::Column::Status])
        .filter(submission::Column::AuthorId.eq(author.0))
        .filter(submission::Column::Status.is_in(open))
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await?;
    if found.is_empty() {
        return Ok(0);
    }
    let result = submission::Entity::update_many()
        .col_expr(submission::Column::Status, Expr::value(SubmissionStatus::Withdrawn.as_str()))
        .col_expr(submission::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(submission::Column::ClaimedBy, Expr::value(Option::<i64>::None))
        .col_expr(submission::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(submission::Column::Id.is_in(found.iter().map(|f| f.0)))
        .exec(txn)
        .await?;
    let withdrawn = SubmissionStatus::Withdrawn.as_str();
    let events: Vec<(Uuid, &str, Option<QueueEventKind>)> = found
        .iter()
        .map(|(_, uuid, was)| {
            let left_queue =
                (SubmissionStatus::parse(was) == SubmissionStatus::Pending).then_some(QueueEventKind::Decided);
            (*uuid, withdrawn, left_queue)
        })
        .collect();
    realtime::service::submissions_changed(txn, &events).await?;
    Ok(result.rows_affected)
}

/// A change ready to become a revision.
struct Planned {
    /// Its place in the submission, for field paths of check failures.
    index: usize,
    change: change::Model,
    kind: entry_kind::Model,
    entry: Option<entry::Model>,
    snapshot: Snapshot,
}

/// Merges an approved submission: every change becomes a revision, or — on
/// any conflict — no entry changes and the submission is CONFLICTED with its
/// conflicts recorded.
pub async fn approve(state: &AppState, viewer: &Viewer, id: Uuid, comment: Option<String>) -> AppResult<MergeOutcome> {
    require_moderator(viewer)?;
    let found = selectors::submission_by_uuid(&state.db, id).await?.ok_or_else(|| AppError::not_found("submission"))?;
    merge(state, viewer, &found, comment, true).await
}

/// The merge behind an approval (`reviewed`: by a moderator, logged), in a
/// transaction of its own.
async fn merge(
    state: &AppState,
    merger: &Viewer,
    found: &submission::Model,
    comment: Option<String>,
    reviewed: bool,
) -> AppResult<MergeOutcome> {
    let checker = Checker::load(&state.db).await?;
    db::transaction!(&state.db, |txn| {
        let outcome = merge_in(&txn, &checker, merger, found, comment.clone(), reviewed).await?;
        Ok(outcome)
    })
}

/// Merges in `txn`: an approval's, or the automatic merge of a trusted
/// author's submission in the transaction that submitted it. The checks run
/// again against the entries as they are now.
async fn merge_in(
    txn: &DatabaseTransaction,
    checker: &Checker,
    merger: &Viewer,
    found: &submission::Model,
    comment: Option<String>,
    reviewed: bool,
) -> AppResult<MergeOutcome> {
    // The state change comes first: it takes SQLite's write lock and PostgreSQL's
    // row lock, so of two racing approvals exactly one proceeds.
    let submission =
        transition(txn, found, Transition::Approve, SubmissionStatus::Merged, Some(merger), comment).await?;
    if reviewed {
        let target = (TargetType::Submission, submission.uuid);
        record(txn, merger, Action::ApproveSubmission, target, submission.decision_reason.as_deref()).await?;
    }
    let changes = selectors::changes_of(txn, submission.id).await?;

    // The touched entries, their kinds and the revisions to merge: a few statements for the whole submission.
    let locked = content::service::lock_entries(txn, changes.iter().filter_map(|c| c.entry_id).collect()).await?;
    let kind_ids = changes.iter().filter_map(|c| c.kind_id).chain(locked.values().map(|e| e.kind_id));
    let kinds = content_selectors::kinds_by_id(txn, kind_ids).await?;
    let kind_of =
        |id: Option<i64>| kinds.get(&id.unwrap_or_default()).cloned().ok_or_else(|| AppError::not_found("kind"));
    let revision_ids = changes.iter().filter_map(|c| c.base_revision_id);
    let snapshots =
        selectors::snapshots_by_id(txn, revision_ids.chain(locked.values().filter_map(|e| e.current_revision_id)))
            .await?;
    let snapshot_of =
        |id: Option<i64>| snapshots.get(&id.unwrap_or_default()).ok_or_else(|| AppError::not_found("revision"));

    let mut plans = Vec::new();
    let mut conflicts = Vec::new();
    for (index, change) in changes.into_iter().enumerate() {
        let patch = patch_of(&change);
        match ChangeOp::parse(&change.op) {
            ChangeOp::Create => {
                let kind = kind_of(change.kind_id)?;
                let snapshot = patch
                    .apply(&Snapshot::default())
                    .map_err(|(f, e)| bad_field(&format!("changes.{index}."), f, e))?;
                if content_selectors::entry_by_slug_in(txn, kind.id, &snapshot.slug).await?.is_some() {
                    let taken = Value::from(snapshot.slug.clone());
                    conflicts.push((
                        change,
                        None,
                        vec![Conflict { field: Field::Slug, base: Value::Null, ours: taken.clone(), theirs: taken }],
                    ));
                    continue;
                }
                plans.push(Planned { index, change, kind, entry: None, snapshot });
            }
            ChangeOp::Update | ChangeOp::Delete => {
                let entry = locked.get(&change.entry_id.unwrap_or_default()).cloned();
                let entry = entry.ok_or_else(|| AppError::not_found("entry"))?;
                let kind = kind_of(Some(entry.kind_id))?;
                let base = snapshot_of(change.base_revision_id)?;
                let theirs = snapshot_of(entry.current_revision_id)?;
                match merge::merge(base, theirs, &patch, MergePolicy::parse(&kind.merge_policy)) {
                    Ok(snapshot) => plans.push(Planned { index, change, kind, entry: Some(entry), snapshot }),
                    Err(found) => conflicts.push((change, entry.current_revision_id, found)),
                }
            }
        }
    }

    if !conflicts.is_empty() {
        let mut listed = Vec::new();
        for (change, theirs, found) in conflicts {
            record_conflicts(txn, &change, theirs, &found).await?;
            listed.extend(found.into_iter().map(|c| (change.uuid, c)));
        }
        let submission = set_status(txn, &submission, SubmissionStatus::Conflicted).await?;
        let queue = reviewed.then_some(QueueEventKind::Decided);
        realtime::service::submission_changed(txn, submission.uuid, &submission.status, queue).await?;
        let message =
            format!("Your submission “{}” conflicts with newer edits: resolve or rebase it", submission.title);
        notify_author(txn, &submission, NotificationKind::SubmissionConflicted, message, merger).await?;
        return Ok(MergeOutcome { submission, revisions: Vec::new(), conflicts: listed });
    }

    let targets = Targets::load(txn, plans.iter().map(|p| &p.snapshot)).await?;
    let mut errors = Vec::new();
    for plan in &plans {
        let itself = plan.entry.as_ref().map(|e| e.uuid);
        let prefix = format!("changes.{}.", plan.index);
        errors.extend(checker.errors(&plan.kind, &plan.snapshot, itself, &prefix, &targets)?);
    }
    if !errors.is_empty() {
        return Err(AppError::BadInput(errors));
    }
    let mut entries = Vec::with_capacity(plans.len());
    for plan in &plans {
        entries.push(match &plan.entry {
            Some(entry) => entry.clone(),
            None => {
                let entry =
                    content::service::insert_entry(txn, &plan.kind, &plan.snapshot, submission.author_id).await?;
                // A CREATE's change now points at the entry it made.
                let mut change: change::ActiveModel = plan.change.clone().into();
                change.entry_id = Set(Some(entry.id));
                change.update(txn).await?;
                entry
            }
        });
    }
    let summary: String = submission.title.chars().take(500).collect();
    let rows = plans.iter().zip(&entries).map(|(plan, entry)| {
        Ok(revision::ActiveModel {
            uuid: Set(new_uuid()),
            entry_id: Set(entry.id),
            number: Set(entry.version + 1),
            parent_id: Set(entry.current_revision_id),
            author_id: Set(submission.author_id),
            merger_id: Set(Some(merger.id.0)),
            submission_id: Set(Some(submission.id)),
            summary: Set(summary.clone()),
            snapshot: Set(serde_json::to_value(&plan.snapshot).map_err(AppError::internal)?),
            created_at: Set(Utc::now()),
            archived: Set(false),
            ..Default::default()
        })
    });
    let mut revisions = db::insert_rows(txn, rows.collect::<AppResult<_>>()?, None).await?;
    // In the submission's order, whatever order RETURNING gave.
    let order: HashMap<i64, usize> = entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    revisions.sort_by_key(|r| order[&r.entry_id]);
    let writes = plans.iter().zip(entries).zip(&revisions).map(|((plan, entry), revision)| EntryWrite {
        entry,
        snapshot: &plan.snapshot,
        version: revision.number,
        revision_id: revision.id,
    });
    content::service::write_entries(txn, writes.collect(), &targets).await?;
    identity::service::add_reputation(txn, UserId(submission.author_id), moderation_domain::MERGED_REPUTATION).await?;
    merged_events(txn, &submission, &revisions, merger, reviewed).await?;
    Ok(MergeOutcome { submission, revisions, conflicts: Vec::new() })
}

/// Tells the author about a decision, unless they made it themselves (an automatic merge).
async fn notify_author(
    db: &impl ConnectionTrait,
    submission: &submission::Model,
    kind: NotificationKind,
    message: String,
    actor: &Viewer,
) -> AppResult<()> {
    let author = UserId(submission.author_id);
    if actor.is(author) {
        return Ok(());
    }
    let uuid = identity::selectors::user_uuids(db, vec![author.0]).await?.first().map(|u| u.1).unwrap_or_default();
    let note = realtime::service::Note {
        user: (author, uuid),
        kind,
        subject: (TargetType::Submission, submission.uuid),
        message,
        actor: Some(actor.id),
    };
    realtime::service::notify(db, vec![note]).await
}

/// A merge's events: the submission's, each touched entry's, and the
/// notifications of the author and of everyone watching those entries.
async fn merged_events(
    txn: &DatabaseTransaction,
    submission: &submission::Model,
    revisions: &[revision::Model],
    merger: &Viewer,
    reviewed: bool,
) -> AppResult<()> {
    let queue = reviewed.then_some(QueueEventKind::Decided);
    realtime::service::submission_changed(txn, submission.uuid, &submission.status, queue).await?;
    let message = format!("Your submission “{}” was merged", submission.title);
    notify_author(txn, submission, NotificationKind::SubmissionMerged, message, merger).await?;
    let entries = content_selectors::entry_uuids(txn, revisions.iter().map(|r| r.entry_id).collect()).await?;
    let events =
        entries.iter().zip(revisions).map(|((_, uuid), r)| (entry_channel(*uuid), json!({ "version": r.number })));
    realtime::service::emit(txn, events.collect()).await?;
    let message = format!("An entry you watch changed: “{}”", submission.title);
    realtime::service::notify_watchers(txn, &entries, &message, UserId(submission.author_id)).await
}

pub(super) fn patch_of(change: &change::Model) -> Patch {
    Patch(change.patch.as_object().cloned().unwrap_or_default())
}

async fn kind_by_id(db: &impl ConnectionTrait, id: i64) -> AppResult<entry_kind::Model> {
    entry_kind::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("entry kind"))
}

async fn set_status(
    db: &impl ConnectionTrait,
    submission: &submission::Model,
    to: SubmissionStatus,
) -> AppResult<submission::Model> {
    let mut active: submission::ActiveModel = submission.clone().into();
    active.status = Set(to.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

fn conflicts_json(found: &[Conflict]) -> Value {
    Value::Array(
        found
            .iter()
            .map(|c| json!({ "field": c.field.name(), "base": c.base, "ours": c.ours, "theirs": c.theirs }))
            .collect(),
    )
}

async fn record_conflicts(
    db: &impl ConnectionTrait,
    change: &change::Model,
    theirs: Option<i64>,
    found: &[Conflict],
) -> AppResult<()> {
    let mut active: change::ActiveModel = change.clone().into();
    active.conflicts = Set(Some(conflicts_json(found)));
    active.conflict_revision_id = Set(theirs);
    active.resolutions = Set(None);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}

/// The conflicted fields recorded on a change.
pub fn conflicted_fields(change: &change::Model) -> Vec<Field> {
    change
        .conflicts
        .as_ref()
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|c| c["field"].as_str().and_then(Field::parse)).collect())
        .unwrap_or_default()
}

/// Records the author's choice for one conflicted field. Once every conflict of
/// the change has a choice, the change is rewritten as a patch against the
/// revision it conflicted with; once no change conflicts, the submission is
/// back to PENDING.
pub async fn resolve_conflict(
    state: &AppState,
    viewer: &Viewer,
    change: Uuid,
    field: Field,
    resolution: Resolution,
) -> AppResult<change::Model> {
    contributor(viewer)?;
    let (change, submission) = own_change(state, viewer, change, Transition::Resolve, "resolved").await?;
    let fields = conflicted_fields(&change);
    if !fields.contains(&field) {
        return Err(AppError::bad_input("field", "this field has no conflict"));
    }
    let mut choices: BTreeMap<Field, Resolution> = resolutions_of(&change);
    choices.insert(field, resolution);
    db::transaction!(&state.db, |txn| {
        let mut active: change::ActiveModel = change.clone().into();
        active.updated_at = Set(Utc::now());
        if fields.iter().all(|f| choices.contains_key(f)) {
            let patch = patch_of(&change);
            let (base_revision, patch) = match ChangeOp::parse(&change.op) {
                ChangeOp::Create => {
                    let mut patch = patch;
                    match choices.get(&Field::Slug) {
                        Some(Resolution::Custom(slug)) => patch.0.insert(Field::Slug.name().to_owned(), slug.clone()),
                        _ => {
                            return Err(AppError::bad_input(
                                "value",
                                "the slug is taken: choose CUSTOM with a new slug",
                            ));
                        }
                    };
                    (None, patch)
                }
                _ => {
                    let kind = kind_by_id(
                        &txn,
                        content_selectors::entry_kind_id(&txn, change.entry_id.unwrap_or_default()).await?,
                    )
                    .await?;
                    let base = selectors::snapshot_by_id(&txn, change.base_revision_id.unwrap_or_default()).await?;
                    let theirs_id = change.conflict_revision_id.unwrap_or_default();
                    let theirs = selectors::snapshot_by_id(&txn, theirs_id).await?;
                    let patch =
                        merge::resolve(&base, &theirs, &patch, MergePolicy::parse(&kind.merge_policy), &choices)
                            .map_err(|_| AppError::bad_input("value", "this value doesn't fit the field"))?;
                    // A CUSTOM value may cite images too: only the author's own may be added.
                    let after = patch.apply(&theirs).map_err(|(_, e)| AppError::bad_input("value", e))?;
                    check_media(&txn, Some(viewer.id), &theirs.media, &after.media, "").await?;
                    (Some(theirs_id), patch)
                }
            };
            if base_revision.is_some() {
                active.base_revision_id = Set(base_revision);
            }
            active.patch = Set(Value::Object(patch.0));
            active.conflicts = Set(None);
            active.conflict_revision_id = Set(None);
            active.resolutions = Set(None);
        } else {
            active.resolutions = Set(Some(resolutions_json(&choices)));
        }
        let change = active.update(&txn).await?;
        let remaining = selectors::changes_of(&txn, submission.id).await?.iter().any(|c| c.conflicts.is_some());
        if !remaining && status(&submission) == SubmissionStatus::Conflicted {
            let pending = set_status(&txn, &submission, SubmissionStatus::Pending).await?;
            let queue = Some(QueueEventKind::Submitted);
            realtime::service::submission_changed(&txn, pending.uuid, &pending.status, queue).await?;
        }
        Ok(change)
    })
}

fn resolutions_json(choices: &BTreeMap<Field, Resolution>) -> Value {
    Value::Object(
        choices
            .iter()
            .map(|(field, choice)| {
                let value = match choice {
                    Resolution::Ours => json!({ "choice": "OURS" }),
                    Resolution::Theirs => json!({ "choice": "THEIRS" }),
                    Resolution::Custom(v) => json!({ "choice": "CUSTOM", "value": v }),
                };
                (field.name().to_owned(), value)
            })
            .collect(),
    )
}

fn resolutions_of(change: &change::Model) -> BTreeMap<Field, Resolution> {
    let Some(Value::Object(map)) = &change.resolutions else { return BTreeMap::new() };
    map.iter()
        .filter_map(|(name, choice)| {
            let resolution = match choice["choice"].as_str()? {
                "OURS" => Resolution::Ours,
                "THEIRS" => Resolution::Theirs,
                _ => Resolution::Custom(choice["value"].clone()),
            };
            Some((Field::parse(name)?, resolution))
        })
        .collect()
}

/// Moves every change onto its entry's current revision. Clean changes get a
/// new base; the others record their conflicts and the submission becomes CONFLICTED.
pub async fn rebase(state: &AppState, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    contributor(viewer)?;
    let submission = own_submission(&state.db, viewer, id, Transition::Rebase, "rebased").await?;
    db::transaction!(&state.db, |txn| {
        let mut conflicted = false;
        for change in selectors::changes_of(&txn, submission.id).await? {
            let (Some(entry_id), Some(base_id)) = (change.entry_id, change.base_revision_id) else {
                // A CREATE conflicts only on a taken slug: it stays conflicted while the slug is taken.
                if change.conflicts.is_some() {
                    let slug = patch_of(&change)
                        .0
                        .get(Field::Slug.name())
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    if content_selectors::entry_by_slug_in(&txn, change.kind_id.unwrap_or_default(), &slug)
                        .await?
                        .is_some()
                    {
                        conflicted = true;
                    } else {
                        let mut active: change::ActiveModel = change.into();
                        active.conflicts = Set(None);
                        active.resolutions = Set(None);
                        active.updated_at = Set(Utc::now());
                        active.update(&txn).await?;
                    }
                }
                continue;
            };
            let entry =
                entry::Entity::find_by_id(entry_id).one(&txn).await?.ok_or_else(|| AppError::not_found("entry"))?;
            let current = entry.current_revision_id.unwrap_or_default();
            if current == base_id && change.conflicts.is_none() {
                continue;
            }
            let kind = kind_by_id(&txn, entry.kind_id).await?;
            let base = selectors::snapshot_by_id(&txn, base_id).await?;
            let theirs = selectors::snapshot_by_id(&txn, current).await?;
            match merge::rebase(&base, &theirs, &patch_of(&change), MergePolicy::parse(&kind.merge_policy)) {
                Ok(patch) => {
                    let mut active: change::ActiveModel = change.into();
                    active.base_revision_id = Set(Some(current));
                    active.patch = Set(Value::Object(patch.0));
                    active.conflicts = Set(None);
                    active.conflict_revision_id = Set(None);
                    active.resolutions = Set(None);
                    active.updated_at = Set(Utc::now());
                    active.update(&txn).await?;
                }
                Err(found) => {
                    conflicted = true;
                    record_conflicts(&txn, &change, Some(current), &found).await?;
                }
            }
        }
        // Only a submission under review changes state; a draft keeps its conflicts
        // on its changes and can't be submitted until they are resolved.
        let to = match (status(&submission), conflicted) {
            (SubmissionStatus::Pending, true) => SubmissionStatus::Conflicted,
            (SubmissionStatus::Conflicted, false) => SubmissionStatus::Pending,
            (unchanged, _) => unchanged,
        };
        let queue = match (status(&submission), to) {
            (from, to) if from == to => None,
            (_, SubmissionStatus::Pending) => Some(QueueEventKind::Submitted),
            _ => Some(QueueEventKind::Decided),
        };
        let submission = set_status(&txn, &submission, to).await?;
        realtime::service::submission_changed(&txn, submission.uuid, &submission.status, queue).await?;
        Ok(submission)
    })
}

/// Opens a submission that restores an entry to an older revision (restoring
/// a deleted entry undeletes it) and submits it as `submit` does: per-user
/// limits, automatic checks, the queue event, and a trusted author's merge.
pub async fn revert_entry(
    state: &AppState,
    viewer: &Viewer,
    entry: Uuid,
    to: i32,
    reason: &str,
) -> AppResult<submission::Model> {
    viewer.require_verified_writer("revert entries")?;
    let reason =
        crate::modules::identity::domain::text("reason", reason, 3, 200).map_err(|e| AppError::BadInput(vec![e]))?;
    let entry =
        content_selectors::entry_by_uuid(&state.db, entry).await?.ok_or_else(|| AppError::not_found("entry"))?;
    let target = selectors::revision_by_number(&state.db, entry.id, to)
        .await?
        .ok_or_else(|| AppError::bad_input("toRevision", "no such revision of this entry"))?;
    let current_id = entry.current_revision_id.unwrap_or_default();
    let current = selectors::snapshot_by_id(&state.db, current_id).await?;
    let patch = Patch::between(&current, &selectors::snapshot(&state.db, &target).await?);
    if patch.is_empty() {
        return Err(AppError::bad_input("toRevision", "the entry already looks like that revision"));
    }
    let now = Utc::now();
    // Built directly rather than through `prepare`: a revert may restore a deleted entry.
    let change = change::Model {
        id: 0,
        uuid: new_uuid(),
        submission_id: 0,
        position: 0,
        op: ChangeOp::Update.as_str().to_owned(),
        kind_id: None,
        entry_id: Some(entry.id),
        base_revision_id: Some(current_id),
        patch: Value::Object(patch.0),
        conflicts: None,
        conflict_revision_id: None,
        resolutions: None,
        created_at: now,
        updated_at: now,
    };
    check_limits(&state.db, state, viewer, None).await?;
    let warnings = run_checks(&state.db, std::slice::from_ref(&change)).await?;
    let automatic = automatic_merge(state, viewer, &warnings).await?;
    let mut row = change.into_active_model().reset_all();
    row.id = sea_orm::ActiveValue::NotSet;
    let title: String = format!("Revert {} to revision {to}", entry.title).chars().take(200).collect();
    db::transaction!(&state.db, |txn| {
        identity::service::lock_user(&txn, viewer.id).await?;
        let submission =
            insert_submission(&txn, viewer, title.clone(), &reason, vec![row.clone()], SubmissionStatus::Pending)
                .await?;
        check_limits(&txn, state, viewer, Some(submission.id)).await?;
        let pending = enter_queue(&txn, submission, &warnings).await?;
        if viewer.role.is_moderator() {
            record(&txn, viewer, Action::RevertEntry, (TargetType::Entry, entry.uuid), Some(&reason)).await?;
        }
        let submission = merge_if(&txn, automatic.as_ref(), viewer, pending).await?;
        Ok(submission)
    })
}

/// How the change's entry would look if merged now (a preview).
pub async fn preview(db: &impl ConnectionTrait, change: &change::Model) -> AppResult<Result<Snapshot, Vec<Conflict>>> {
    let patch = patch_of(change);
    match (change.entry_id, change.base_revision_id) {
        (Some(entry_id), Some(base_id)) => {
            let entry =
                entry::Entity::find_by_id(entry_id).one(db).await?.ok_or_else(|| AppError::not_found("entry"))?;
            let kind = kind_by_id(db, entry.kind_id).await?;
            let base = selectors::snapshot_by_id(db, base_id).await?;
            let theirs = selectors::snapshot_by_id(db, entry.current_revision_id.unwrap_or_default()).await?;
            Ok(merge::merge(&base, &theirs, &patch, MergePolicy::parse(&kind.merge_policy)))
        }
        _ => Ok(patch
            .apply(&Snapshot::default())
            .map_err(|(f, _)| vec![Conflict { field: f, base: Value::Null, ours: Value::Null, theirs: Value::Null }])),
    }
}

/// Moves the snapshots of revisions older than `before`, beyond the newest
/// `keep` of each entry, to archive storage, `batch` revisions per
/// transaction. They stay readable through the same API, flagged `archived`.
/// Returns how many were archived; `progress` hears each batch's size.
pub async fn archive_history(
    db: &DatabaseConnection,
    before: DateTime<Utc>,
    keep: i32,
    batch: u64,
    progress: impl Fn(u64),
) -> AppResult<u64> {
    let mut total = 0;
    loop {
        let archived = db::transaction!(db, |txn| {
            let due: Vec<(i64, Value)> = revision::Entity::find()
                .select_only()
                .column(revision::Column::Id)
                .column(revision::Column::Snapshot)
                .join(
                    JoinType::InnerJoin,
                    revision::Entity::belongs_to(entry::Entity)
                        .from(revision::Column::EntryId)
                        .to(entry::Column::Id)
                        .into(),
                )
                .filter(revision::Column::Archived.eq(false))
                .filter(revision::Column::CreatedAt.lt(before))
                .filter(
                    Expr::col((revision::Entity, revision::Column::Number))
                        .lte(Expr::col((entry::Entity, entry::Column::Version)).sub(keep)),
                )
                .limit(batch)
                .into_tuple()
                .all(&txn)
                .await?;
            if due.is_empty() {
                return Ok(0);
            }
            let ids: Vec<i64> = due.iter().map(|(id, _)| *id).collect();
            let now = Utc::now();
            revision_archive::Entity::insert_many(due.into_iter().map(|(id, snapshot)| {
                revision_archive::ActiveModel { revision_id: Set(id), snapshot: Set(snapshot), archived_at: Set(now) }
            }))
            .exec(&txn)
            .await?;
            revision::Entity::update_many()
                .col_expr(revision::Column::Archived, Expr::value(true))
                .col_expr(revision::Column::Snapshot, Expr::value(Value::Object(Default::default())))
                .filter(revision::Column::Id.is_in(ids.clone()))
                .exec(&txn)
                .await?;
            Ok(ids.len() as u64)
        })?;
        if archived == 0 {
            return Ok(total);
        }
        total += archived;
        progress(archived);
    }
}
