//! Review writes. Every change to a review runs in one transaction that first
//! locks the entry row, so writers of one entry's reviews queue up and each
//! recount of the rating aggregates sees every committed review: the
//! aggregates stay exact under concurrent writes on both backends.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, TryIntoModel,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;
use xpr_entity::{entry, review, review_media, review_vote};

use super::{
    domain::{self, Moderation, ReviewStatus, ReviewText},
    selectors,
};
use crate::audit::{ModerationActionKind, TargetType, record};
use crate::modules::content::{checks::Checker, domain::Ratings};
use crate::realtime::{self, NotificationKind};
use crate::{
    auth::{
        Viewer,
        policy::{self, Action},
    },
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{EntryId, new_uuid},
    modules::{content, identity::domain::Scope, media},
};

/// A review as its author sends it.
pub struct ReviewInput {
    pub entry: Uuid,
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub media: Vec<Uuid>,
}

/// Writes the viewer's review of an entry: the first call creates it, later
/// ones edit the same review (marking it edited).
pub async fn upsert(state: &Deps, viewer: &Viewer, input: ReviewInput) -> AppResult<review::Model> {
    viewer.require_verified_writer("write reviews")?;
    let text =
        ReviewText::parse(input.rating, &input.title, &input.body, input.media.len()).map_err(AppError::BadInput)?;
    let mut seen = HashSet::new();
    let media_ids: Vec<Uuid> = input.media.into_iter().filter(|id| seen.insert(*id)).collect();
    let entry = content::selectors::entry_by_uuid(&state.db, input.entry)
        .await?
        .filter(|e| !e.deleted)
        .ok_or_else(|| AppError::not_found("entry"))?;

    let checker = Checker::load(&state.db).await?;
    db::transaction!(&state.db, |txn| {
        content::service::lock_entry(&txn, entry.id).await?;
        let media = media::selectors::owned_ids(&txn, viewer.id, &media_ids, "mediaIds").await?;
        let existing = review::Entity::find()
            .filter(review::Column::EntryId.eq(entry.id))
            .filter(review::Column::AuthorId.eq(viewer.id))
            .one(&txn)
            .await?;
        let now = Utc::now();
        let blocked = checker.hits(&text.title) || checker.hits(&text.body);
        let status = domain::status_on_write(existing.as_ref().map(|r| r.status), blocked);
        let notify = status == ReviewStatus::Published && !existing.as_ref().is_some_and(|r| r.creator_notified);
        let mut row = match existing {
            Some(existing) => {
                let mut row: review::ActiveModel = existing.into();
                row.edited_at = Set(Some(now));
                row
            }
            None => review::ActiveModel {
                uuid: Set(new_uuid()),
                entry_id: Set(entry.id),
                author_id: Set(viewer.id),
                helpful_count: Set(0),
                unhelpful_count: Set(0),
                created_at: Set(now),
                creator_notified: Set(false),
                ..Default::default()
            },
        };
        if notify {
            row.creator_notified = Set(true);
        }
        row.rating = Set(text.rating.stars());
        row.title = Set(text.title.clone());
        row.body = Set(text.body.clone());
        row.status = Set(status);
        row.updated_at = Set(now);
        let review = row.save(&txn).await?.try_into_model()?;

        review_media::Entity::delete_many().filter(review_media::Column::ReviewId.eq(review.id)).exec(&txn).await?;
        if !media.is_empty() {
            let rows = media.into_iter().zip(0..).map(|(media_id, position)| review_media::ActiveModel {
                review_id: Set(review.id),
                media_id: Set(media_id),
                position: Set(position),
            });
            review_media::Entity::insert_many(rows).exec_without_returning(&txn).await?;
        }
        recount_ratings(&txn, entry.id).await?;
        if notify {
            notify_creator(&txn, &entry, &review).await?;
        }
        Ok(review)
    })
}

/// Tells the entry's creator of a review, unless they wrote it. Called once
/// per review: when it is first published (written, or a held one shown).
async fn notify_creator(txn: &DatabaseTransaction, entry: &entry::Model, review: &review::Model) -> AppResult<()> {
    if entry.created_by == review.author_id {
        return Ok(());
    }
    let note = realtime::Note {
        user: entry.created_by,
        kind: NotificationKind::ReviewOnYourEntry,
        subject: (TargetType::Review, review.uuid),
        message: format!("New {}-star review of “{}”", review.rating, entry.title),
        actor: Some(review.author_id),
    };
    realtime::notify(txn, vec![note]).await
}

/// Deletes one of the viewer's own reviews.
pub async fn delete(state: &Deps, viewer: &Viewer, id: Uuid) -> AppResult<()> {
    viewer.require_scope(Scope::Write)?;
    let review =
        selectors::visible_review(&state.db, Some(viewer), id).await?.ok_or_else(|| AppError::not_found("review"))?;
    policy::check(viewer, Action::DeleteReview { author: review.author_id })?;
    db::transaction!(&state.db, |txn| {
        content::service::lock_entry(&txn, review.entry_id).await?;
        let deleted = review::Entity::delete_by_id(review.id).exec(&txn).await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::not_found("review"));
        }
        recount_ratings(&txn, review.entry_id).await?;
        Ok(())
    })
}

/// Records the viewer's helpful / not helpful vote on someone else's
/// published review; voting again changes the vote.
pub async fn vote(state: &Deps, viewer: &Viewer, id: Uuid, helpful: bool) -> AppResult<review::Model> {
    viewer.require_verified_writer("vote on reviews")?;
    db::transaction!(&state.db, |txn| {
        // Voters on one review queue on its row, so the recount sees every committed vote.
        let review = review::Entity::find()
            .filter(review::Column::Uuid.eq(id))
            .filter(review::Column::Status.eq(ReviewStatus::Published))
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("review"))?;
        domain::may_vote(viewer.is(review.author_id)).map_err(AppError::forbidden)?;
        let now = Utc::now();
        let vote = review_vote::ActiveModel {
            review_id: Set(review.id),
            user_id: Set(viewer.id),
            helpful: Set(helpful),
            created_at: Set(now),
            updated_at: Set(now),
        };
        review_vote::Entity::insert(vote)
            .on_conflict(
                OnConflict::columns([review_vote::Column::ReviewId, review_vote::Column::UserId])
                    .update_columns([review_vote::Column::Helpful, review_vote::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        let counts: Vec<(bool, i64)> = review_vote::Entity::find()
            .select_only()
            .column(review_vote::Column::Helpful)
            .column_as(Expr::col(review_vote::Column::UserId).count(), "votes")
            .filter(review_vote::Column::ReviewId.eq(review.id))
            .group_by(review_vote::Column::Helpful)
            .into_tuple()
            .all(&txn)
            .await?;
        let count = |which: bool| counts.iter().find(|(h, _)| *h == which).map_or(0, |(_, n)| *n as i32);
        let mut row: review::ActiveModel = review.into();
        row.helpful_count = Set(count(true));
        row.unhelpful_count = Set(count(false));
        let review = row.update(&txn).await?;
        Ok(review)
    })
}

/// A moderator hides or shows a review, with a reason; the entry's rating follows.
pub async fn moderate(
    state: &Deps,
    viewer: &Viewer,
    id: Uuid,
    action: Moderation,
    reason: &str,
) -> AppResult<review::Model> {
    policy::check(viewer, Action::Moderate)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_input("reason", "is required"));
    }
    let found =
        selectors::visible_review(&state.db, Some(viewer), id).await?.ok_or_else(|| AppError::not_found("review"))?;
    db::transaction!(&state.db, |txn| {
        let entry = content::service::lock_entry(&txn, found.entry_id).await?;
        let review =
            review::Entity::find_by_id(found.id).one(&txn).await?.ok_or_else(|| AppError::not_found("review"))?;
        let status = domain::moderate(review.status, action).map_err(|message| AppError::Conflict(message.into()))?;
        // A held review shown for the first time is news to the entry's creator.
        let notify = status == ReviewStatus::Published && !review.creator_notified;
        let mut row: review::ActiveModel = review.into();
        if notify {
            row.creator_notified = Set(true);
        }
        row.status = Set(status);
        row.status_reason = Set(Some(reason.to_owned()));
        row.moderated_by = Set(Some(viewer.id));
        row.moderated_at = Set(Some(Utc::now()));
        let review = row.update(&txn).await?;
        recount_ratings(&txn, review.entry_id).await?;
        let logged = match action {
            Moderation::Hide => ModerationActionKind::HideReview,
            Moderation::Show => ModerationActionKind::ShowReview,
        };
        record(&txn, viewer, logged, (TargetType::Review, review.uuid), Some(reason)).await?;
        if notify {
            notify_creator(&txn, &entry, &review).await?;
        }
        Ok(review)
    })
}

/// Recounts an entry's rating aggregates from its published reviews. Runs
/// under the entry's row lock, taken first in the same transaction.
async fn recount_ratings(txn: &DatabaseTransaction, entry: EntryId) -> AppResult<()> {
    let counts: Vec<(i16, i64)> = review::Entity::find()
        .select_only()
        .column(review::Column::Rating)
        .column_as(Expr::col(review::Column::Id).count(), "reviews")
        .filter(review::Column::EntryId.eq(entry))
        .filter(review::Column::Status.eq(ReviewStatus::Published))
        .group_by(review::Column::Rating)
        .into_tuple()
        .all(txn)
        .await?;
    content::service::write_ratings(txn, entry, &Ratings::from_counts(counts)).await
}
