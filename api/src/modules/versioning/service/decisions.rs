//! Moderators' decisions (approve goes to `merging`, reject, request changes) and claims on pending submissions.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;
use xpr_entity::submission;

use crate::audit::{ModerationActionKind as Action, TargetType, record};
use crate::modules::versioning::{
    domain::{SubmissionStatus, Transition},
    selectors,
};
use crate::realtime::{self, NotificationKind, QueueEventKind};
use crate::{
    auth::{Viewer, policy},
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::UserId,
    modules::identity::{self},
};

use super::{claim_allows, merging::notify_author, refused, transition};

/// A moderator's decision other than approval, with the reason the author sees.
pub enum Decision {
    Reject,
    RequestChanges,
}

pub async fn decide(
    state: &Deps,
    viewer: &Viewer,
    id: Uuid,
    decision: Decision,
    reason: &str,
) -> AppResult<submission::Model> {
    policy::check(viewer, policy::Action::Moderate)?;
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
        realtime::submission_changed(&txn, id, submission.status, Some(QueueEventKind::Decided)).await?;
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
            identity::service::add_reputation(&txn, submission.author_id, identity::domain::REJECTED_REPUTATION)
                .await?;
        }
        Ok(submission)
    })
}

/// Claims a pending submission for review until the claim expires. Another
/// moderator's live claim is refused, except to admins.
pub async fn claim(state: &Deps, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    policy::check(viewer, policy::Action::Moderate)?;
    let found = selectors::submission_by_uuid(&state.db, id).await?.ok_or_else(|| AppError::not_found("submission"))?;
    let now = Utc::now();
    db::transaction!(&state.db, |txn| {
        let mut update = submission::Entity::update_many()
            .col_expr(submission::Column::ClaimedBy, Expr::value(viewer.id))
            .col_expr(
                submission::Column::ClaimExpiresAt,
                Expr::value(now + chrono::Duration::seconds(state.config.claim_ttl_secs)),
            )
            .filter(submission::Column::Id.eq(found.id))
            .filter(submission::Column::Status.eq(SubmissionStatus::Pending));
        if !policy::allows(Some(viewer), policy::Action::OverrideClaim) {
            update = update.filter(claim_allows(viewer, now));
        }
        if update.exec(&txn).await?.rows_affected == 0 {
            return Err(refused(&txn, found.id, "claimed").await);
        }
        record(&txn, viewer, Action::ClaimSubmission, (TargetType::Submission, id), None).await?;
        realtime::submission_changed(&txn, id, found.status, Some(QueueEventKind::Claimed)).await?;
        let claimed = submission::Entity::find_by_id(found.id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("submission"))?;
        Ok(claimed)
    })
}

/// Gives a claim back to the queue: the claiming moderator, or an admin.
pub async fn release_claim(state: &Deps, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    policy::check(viewer, policy::Action::Moderate)?;
    let found = selectors::submission_by_uuid(&state.db, id).await?.ok_or_else(|| AppError::not_found("submission"))?;
    db::transaction!(&state.db, |txn| {
        let mut update = submission::Entity::update_many()
            .col_expr(submission::Column::ClaimedBy, Expr::value(Option::<UserId>::None))
            .col_expr(submission::Column::ClaimExpiresAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(submission::Column::Id.eq(found.id))
            .filter(submission::Column::ClaimedBy.is_not_null());
        if !policy::allows(Some(viewer), policy::Action::OverrideClaim) {
            update = update.filter(submission::Column::ClaimedBy.eq(viewer.id));
        }
        if update.exec(&txn).await?.rows_affected == 0 {
            return Err(AppError::Conflict("you hold no claim on this submission".into()));
        }
        record(&txn, viewer, Action::ReleaseClaim, (TargetType::Submission, id), None).await?;
        realtime::submission_changed(&txn, id, found.status, Some(QueueEventKind::Released)).await?;
        let released = submission::Entity::find_by_id(found.id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("submission"))?;
        Ok(released)
    })
}
