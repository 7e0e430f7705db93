//! The activity feed's read: both halves after one cursor, merged newest first.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;
use xpr_entity::{review, submission, user};

use crate::{
    auth::Viewer,
    error::AppResult,
    modules::{identity::selectors as identity, reviews::selectors as reviews, versioning::selectors as versioning},
    paging::{Cursor, Page},
};

/// One thing a user did in public.
pub enum Activity {
    SubmissionMerged(submission::Model),
    ReviewWritten(review::Model),
}

impl Activity {
    /// When it happened: the merge, or the writing of the review (edits don't move it).
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            // Every merge sets `decided_at`, at the instant it sets `updated_at`.
            Activity::SubmissionMerged(s) => s.decided_at.unwrap_or(s.updated_at),
            Activity::ReviewWritten(r) => r.created_at,
        }
    }

    fn uuid(&self) -> Uuid {
        match self {
            Activity::SubmissionMerged(s) => s.uuid,
            Activity::ReviewWritten(r) => r.uuid,
        }
    }

    /// Its position in the feed; the halves page by the same `(instant, id)`.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(Some(self.occurred_at().to_rfc3339()), self.uuid())
    }
}

/// A page of `user`'s activity, newest first (ties by id, as the cursor
/// compares them). Each half reads at most one row more than the page, by an
/// index range from the cursor, so a page costs two statements at any depth.
/// A banned user's activity shows to moderators only, as the user does.
pub async fn activity(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    user: &user::Model,
    page: &Page,
) -> AppResult<(Vec<Activity>, bool)> {
    if !identity::is_visible(viewer, user) {
        return Ok((Vec::new(), false));
    }
    let (merged, reviewed) = tokio::try_join!(
        versioning::merged_of(db, viewer, user.id, page),
        reviews::published_of(db, viewer, user.id, page),
    )?;
    let mut rows: Vec<Activity> = merged
        .into_iter()
        .map(Activity::SubmissionMerged)
        .chain(reviewed.into_iter().map(Activity::ReviewWritten))
        .collect();
    rows.sort_by_key(|row| Reverse((row.occurred_at(), row.uuid())));
    Ok(page.finish(rows))
}
