//! Submitting for review after the automatic checks (a trusted author's clean submission merges at once), withdrawing, and withdrawing all of a banned author's.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, sea_query::Expr,
};
use uuid::Uuid;
use xpr_entity::{
    change, entry,
    submission::{self, CheckWarning, CheckWarnings},
};

use crate::modules::content::checks::Checker;
use crate::modules::versioning::{
    domain::{ChangeOp, OPEN_STATUSES, Snapshot, SubmissionStatus, Transition},
    selectors,
};
use crate::realtime::{self, QueueEventKind};
use crate::{
    auth::Viewer,
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{SubmissionId, UserId},
    modules::{
        content::service::Targets,
        identity::{self},
    },
};

use super::{bad_field, kind_by_id, merging::merge_in, merging::patch_of, own_submission, transition};

/// Submits for review after the automatic checks: failures refuse it field by
/// field, warnings are kept for moderators. A trusted author's submission with
/// neither is merged at once.
pub async fn submit(state: &Deps, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
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
pub(super) async fn enter_queue(
    txn: &DatabaseTransaction,
    pending: submission::Model,
    warnings: &[CheckWarning],
) -> AppResult<submission::Model> {
    let mut active: submission::ActiveModel = pending.into();
    active.check_warnings = Set((!warnings.is_empty()).then(|| CheckWarnings(warnings.to_vec())));
    let pending = active.update(txn).await?;
    realtime::submission_changed(txn, pending.uuid, pending.status, Some(QueueEventKind::Submitted)).await?;
    Ok(pending)
}

/// The checker for merging a trusted author's submission at once, when the
/// checks left no warnings; `None` when it waits for a moderator.
pub(super) async fn automatic_merge(
    state: &Deps,
    viewer: &Viewer,
    warnings: &[CheckWarning],
) -> AppResult<Option<Checker>> {
    let author = identity::selectors::user_by_uuid(&state.db, viewer.uuid).await?;
    let trusted = identity::domain::trusted(viewer.role, author.reputation, state.config.trust_reputation);
    Ok(if trusted && warnings.is_empty() { Some(Checker::load(&state.db).await?) } else { None })
}

/// Merges `pending` in the transaction that submitted it when `checker` says
/// it merges at once: submit and merge succeed or fail together.
pub(super) async fn merge_if(
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
pub(super) async fn check_limits(
    db: &impl ConnectionTrait,
    state: &Deps,
    viewer: &Viewer,
    submission: Option<SubmissionId>,
) -> AppResult<()> {
    use sea_orm::{PaginatorTrait, QueryOrder};
    let others = submission::Column::Id.ne(submission.unwrap_or(SubmissionId(0)));
    let waiting = [SubmissionStatus::Pending, SubmissionStatus::ChangesRequested, SubmissionStatus::Conflicted];
    let open = submission::Entity::find()
        .filter(submission::Column::AuthorId.eq(viewer.id))
        .filter(others.clone())
        .filter(submission::Column::Status.is_in(waiting))
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
        .filter(submission::Column::AuthorId.eq(viewer.id))
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

/// Runs the automatic checks on every change as it would leave its entry.
pub(super) async fn run_checks(db: &impl ConnectionTrait, changes: &[change::Model]) -> AppResult<Vec<CheckWarning>> {
    let checker = Checker::load(db).await?;
    let mut checked = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let prefix = format!("changes.{i}.");
        let (kind, snapshot, itself) = match change.op {
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

pub async fn withdraw(state: &Deps, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    let submission = own_submission(&state.db, viewer, id, Transition::Withdraw, "withdrawn").await?;
    db::transaction!(&state.db, |txn| {
        let withdrawn =
            transition(&txn, &submission, Transition::Withdraw, SubmissionStatus::Withdrawn, None, None).await?;
        let left_queue = (submission.status == SubmissionStatus::Pending).then_some(QueueEventKind::Decided);
        realtime::submission_changed(&txn, withdrawn.uuid, withdrawn.status, left_queue).await?;
        Ok(withdrawn)
    })
}

/// Withdraws every open submission of a user (on ban), in the caller's
/// transaction, with the events of a withdrawal: each submission's, and a queue
/// event for those that were waiting for review.
pub async fn withdraw_all_of(txn: &DatabaseTransaction, author: UserId) -> AppResult<u64> {
    let open = OPEN_STATUSES.into_iter().filter(|s| Transition::Withdraw.starts_from(*s));
    // Locked, so that what is announced is what is withdrawn.
    let found: Vec<(SubmissionId, Uuid, SubmissionStatus)> = submission::Entity::find()
        .select_only()
        .columns([submission::Column::Id, submission::Column::Uuid, submission::Column::Status])
        .filter(submission::Column::AuthorId.eq(author))
        .filter(submission::Column::Status.is_in(open))
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await?;
    if found.is_empty() {
        return Ok(0);
    }
    let result = submission::Entity::update_many()
        .col_expr(submission::Column::Status, Expr::value(SubmissionStatus::Withdrawn))
        .col_expr(submission::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(submission::Column::ClaimedBy, Expr::value(Option::<UserId>::None))
        .col_expr(submission::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(submission::Column::Id.is_in(found.iter().map(|f| f.0)))
        .exec(txn)
        .await?;
    let events: Vec<(Uuid, SubmissionStatus, Option<QueueEventKind>)> = found
        .iter()
        .map(|&(_, uuid, was)| {
            let left_queue = (was == SubmissionStatus::Pending).then_some(QueueEventKind::Decided);
            (uuid, SubmissionStatus::Withdrawn, left_queue)
        })
        .collect();
    realtime::submissions_changed(txn, &events).await?;
    Ok(result.rows_affected)
}
