//! Versioning writes: submissions and their changes, and the merge that turns
//! an approved submission into revisions — atomically, three-way per field,
//! with entry rows locked so concurrent merges never lose an update. One file
//! per concern; this one holds the guards they share (states, ownership,
//! the conditional status update).

mod changes;
mod conflicts;
mod decisions;
mod history;
mod merging;
mod submit;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;
use xpr_entity::{entry_kind, submission};

use super::{
    domain::{Field, OPEN_STATUSES, SubmissionStatus, Transition, input_path},
    selectors,
};
use crate::{
    auth::{Viewer, policy},
    error::{AppError, AppResult, FieldError},
    ids::{EntryKindId, SubmissionId, UserId},
    modules::identity::domain::Scope,
};

pub use changes::*;
pub use conflicts::*;
pub use decisions::*;
pub use history::*;
pub use merging::*;
pub use submit::*;

fn illegal(s: &submission::Model, what: &str) -> AppError {
    AppError::Conflict(format!("a {} submission can't be {what}", s.status.to_value().to_lowercase().replace('_', " ")))
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
    let submission = found.filter(|s| viewer.is(s.author_id)).ok_or_else(|| AppError::not_found("submission"))?;
    if !transition.starts_from(submission.status) {
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

/// A claim leaves a submission to its moderator until it expires; admins may act anyway.
fn claim_allows(viewer: &Viewer, now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(submission::Column::ClaimedBy.is_null())
        .add(submission::Column::ClaimedBy.eq(viewer.id))
        .add(submission::Column::ClaimExpiresAt.lt(now))
}

/// Why a guarded update of a pending submission did nothing: its state moved on, or another moderator holds it.
async fn refused(db: &impl ConnectionTrait, id: SubmissionId, what: &str) -> AppError {
    match submission::Entity::find_by_id(id).one(db).await {
        Ok(Some(current)) if current.status == SubmissionStatus::Pending && current.claimed_by.is_some() => {
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
    let from = OPEN_STATUSES.into_iter().filter(|s| transition.starts_from(*s));
    let mut update = submission::Entity::update_many()
        .col_expr(submission::Column::Status, Expr::value(to))
        .col_expr(submission::Column::UpdatedAt, Expr::value(now))
        .col_expr(submission::Column::ClaimedBy, Expr::value(Option::<UserId>::None))
        .col_expr(submission::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(submission::Column::Id.eq(submission.id))
        .filter(submission::Column::Status.is_in(from));
    if to == SubmissionStatus::Pending && transition == Transition::Submit {
        update = update.col_expr(submission::Column::SubmittedAt, Expr::value(now));
    }
    if let Some(viewer) = decided_by {
        update = update
            .col_expr(submission::Column::DecidedAt, Expr::value(now))
            .col_expr(submission::Column::DecidedBy, Expr::value(viewer.id))
            .col_expr(submission::Column::DecisionReason, Expr::value(reason));
        if !policy::allows(Some(viewer), policy::Action::OverrideClaim) {
            update = update.filter(claim_allows(viewer, now));
        }
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Err(refused(db, submission.id, "changed that way any more").await);
    }
    submission::Entity::find_by_id(submission.id).one(db).await?.ok_or_else(|| AppError::not_found("submission"))
}

async fn kind_by_id(db: &impl ConnectionTrait, id: EntryKindId) -> AppResult<entry_kind::Model> {
    entry_kind::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("entry kind"))
}

async fn set_status(
    db: &impl ConnectionTrait,
    submission: &submission::Model,
    to: SubmissionStatus,
) -> AppResult<submission::Model> {
    let mut active: submission::ActiveModel = submission.clone().into();
    active.status = Set(to);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}
