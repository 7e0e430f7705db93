//! Activity's GraphQL type and the `User.activity` connection: thin over the selector.

use async_graphql::{Context, Enum, Object};
use chrono::{DateTime, Utc};
use xpr_entity::user;

use super::selectors;
use crate::{
    error::AppResult,
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
        pagination::{self, Connection},
    },
    modules::{reviews::graphql::Review, versioning::graphql::Submission},
    paging::Page,
};

/// What a user did.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    /// A submission of the user's was merged; `submission` holds it.
    SubmissionMerged,
    /// The user wrote a review, now published; `review` holds it.
    ReviewWritten,
}

/// An item of `User.activity`.
pub struct Activity(selectors::Activity);

fields::object!(Activity);

/// One thing a user did in public: `kind` says which of `submission` and
/// `review` is set.
#[Object(name = "Activity")]
impl Fields<'_, Activity> {
    async fn kind(&self) -> ActivityKind {
        match self.0 {
            selectors::Activity::SubmissionMerged(_) => ActivityKind::SubmissionMerged,
            selectors::Activity::ReviewWritten(_) => ActivityKind::ReviewWritten,
        }
    }
    /// When it happened: the merge, or the writing of the review (edits don't move it).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at()
    }
    /// The merged submission, for `SUBMISSION_MERGED`.
    async fn submission(&self) -> Option<Submission> {
        match &self.0 {
            selectors::Activity::SubmissionMerged(row) => Some(Submission(row.clone())),
            selectors::Activity::ReviewWritten(_) => None,
        }
    }
    /// The review, for `REVIEW_WRITTEN`.
    async fn review(&self) -> Option<Review> {
        match &self.0 {
            selectors::Activity::ReviewWritten(row) => Some(Review::from(row.clone())),
            selectors::Activity::SubmissionMerged(_) => None,
        }
    }
}

/// `user`'s public activity, newest first: the field `User.activity`.
pub async fn connection(
    ctx: &Context<'_>,
    user: &user::Model,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<Connection<Activity>> {
    let page = Page::parse(first, after)?;
    let (rows, has_next) = selectors::activity(&ctx.state().db, ctx.auth().viewer(), user, &page).await?;
    Ok(pagination::connection(rows, has_next, &page, selectors::Activity::cursor, Activity))
}
