//! Reviews' GraphQL types and fields: reviews, the lists on entries and
//! users, votes, moderation and the review queue. Relations resolve through the request's loaders.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use xpr_entity::review;

use super::{
    domain::{Moderation, ReviewStatus},
    selectors::{self, FirstReviewsKey, ReviewMediaKey, ReviewOrder as Order, ReviewsOf, Visibility},
    service,
};
use crate::modules::content::domain::Ratings;
use crate::{
    auth::policy::{self, Action},
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
        pagination::{self, Connection},
    },
    ids::parse_uuid,
    modules::{
        content::{graphql::Entry, selectors::EntryKey},
        identity::graphql::User,
        media::{graphql::Media, selectors::MediaKey},
    },
    paging::Page,
};

/// A user's review of an entry: one per user per entry. Rows from a loader are
/// shared with it, not copied.
pub struct Review(pub Arc<review::Model>);

impl From<review::Model> for Review {
    fn from(row: review::Model) -> Self {
        Self(Arc::new(row))
    }
}

impl Review {
    fn shows_moderation(&self, ctx: &Context<'_>) -> bool {
        policy::allows(ctx.auth().viewer(), Action::ReadPrivate { author: self.0.author_id })
    }
}

fields::object!(Review, node);

#[Object(name = "Review")]
impl Fields<'_, Review> {
    pub async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn entry(&self, ctx: &Context<'_>) -> AppResult<Option<Entry>> {
        let entry = ctx.loaders().content.load_one(EntryKey(self.0.entry_id)).await.map_err(AppError::internal)?;
        Ok(entry.map(Entry::new))
    }
    async fn author(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.0.author_id).await
    }
    /// 1 to 5 stars.
    async fn rating(&self) -> i32 {
        self.0.rating.into()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Plain text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Others only ever see published reviews; authors and moderators see every status.
    async fn status(&self) -> ReviewStatus {
        self.0.status
    }
    /// The moderator's reason for the last hide or show; only for the author and moderators.
    async fn status_reason(&self, ctx: &Context<'_>) -> Option<&str> {
        self.shows_moderation(ctx).then_some(self.0.status_reason.as_deref()).flatten()
    }
    /// Images, in the author's order.
    async fn media(&self, ctx: &Context<'_>) -> AppResult<Vec<Media>> {
        let ids = ctx.loaders().reviews.load_one(ReviewMediaKey(self.0.id)).await.map_err(AppError::internal)?;
        let ids = ids.unwrap_or_default();
        let mut media =
            ctx.loaders().media.load_many(ids.iter().map(|id| MediaKey(*id))).await.map_err(AppError::internal)?;
        Ok(ids.iter().filter_map(|id| media.remove(&MediaKey(*id))).map(Media).collect())
    }
    async fn helpful_count(&self) -> i32 {
        self.0.helpful_count
    }
    async fn unhelpful_count(&self) -> i32 {
        self.0.unhelpful_count
    }
    /// Whether the author changed the review after writing it.
    async fn edited(&self) -> bool {
        self.0.edited_at.is_some()
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReviewOrder {
    #[default]
    Newest,
    /// Most stars first.
    Highest,
    /// Fewest stars first.
    Lowest,
    /// Most helpful votes first.
    MostHelpful,
}

impl From<ReviewOrder> for Order {
    fn from(order: ReviewOrder) -> Self {
        match order {
            ReviewOrder::Newest => Order::Newest,
            ReviewOrder::Highest => Order::Highest,
            ReviewOrder::Lowest => Order::Lowest,
            ReviewOrder::MostHelpful => Order::MostHelpful,
        }
    }
}

/// How many published reviews gave an entry this many stars.
#[derive(SimpleObject)]
pub struct StarCount {
    stars: i32,
    count: i32,
}

/// The distribution of an entry's ratings, 1 to 5 stars.
pub fn star_counts(ratings: &Ratings) -> Vec<StarCount> {
    ratings.distribution.iter().zip(1..).map(|(count, stars)| StarCount { stars, count: *count }).collect()
}

/// The reviews of an entry or a user the viewer may see. First pages come
/// batched through the loader (also in lists); later pages query directly.
pub async fn connection(
    ctx: &Context<'_>,
    of: ReviewsOf,
    order: Option<ReviewOrder>,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<Connection<Review>> {
    let page = Page::parse(first, after)?;
    let order: Order = order.unwrap_or_default().into();
    let visibility = Visibility::of(ctx.auth().viewer());
    let (rows, has_next) = if page.after.is_none() {
        let key = FirstReviewsKey { of, visibility, order, first: page.first };
        let first = ctx.loaders().reviews.load_one(key).await.map_err(AppError::internal)?.unwrap_or_default();
        (first.rows, first.more)
    } else {
        // Boxed: this future is part of every field of an Entry and a User (see `Entry`).
        let (rows, has_next) = Box::pin(selectors::reviews(&ctx.state().db, of, visibility, order, &page)).await?;
        (rows.into_iter().map(Arc::new).collect(), has_next)
    };
    Ok(pagination::connection(rows, has_next, &page, |r| order.cursor(r), Review))
}

#[derive(InputObject)]
pub struct ReviewInput {
    entry_id: ID,
    /// 1 to 5 stars.
    rating: i32,
    #[graphql(default)]
    title: String,
    #[graphql(default)]
    body: String,
    /// Your own uploads (`uploadMedia`), in display order; replaces the review's media.
    #[graphql(default)]
    media_ids: Vec<ID>,
}

#[derive(Default)]
pub struct ReviewsQuery;

#[Object]
impl ReviewsQuery {
    /// A review by id; null when it doesn't exist or isn't visible to the viewer.
    async fn review(&self, ctx: &Context<'_>, id: ID) -> AppResult<Option<Review>> {
        let id = parse_uuid("id", &id)?;
        Ok(selectors::visible_review(&ctx.state().db, ctx.auth().viewer(), id).await?.map(Review::from))
    }

    /// Moderators: reviews the content filter holds (PENDING), oldest first.
    /// `showReview` publishes one, `hideReview` hides it; either takes it off the queue.
    async fn review_queue(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Review>> {
        let viewer = ctx.auth().require()?;
        policy::check(viewer, Action::Moderate)?;
        let page = Page::parse(first, after)?;
        let (rows, has_next) = selectors::held(&ctx.state().db, viewer, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, selectors::held_cursor, Review::from))
    }
}

#[derive(Default)]
pub struct ReviewsMutation;

#[Object]
impl ReviewsMutation {
    /// Writes your review of an entry: the first call creates it, later calls
    /// edit it. Needs a verified email address.
    async fn upsert_review(&self, ctx: &Context<'_>, input: ReviewInput) -> AppResult<Review> {
        let media = input.media_ids.iter().map(|id| parse_uuid("mediaIds", id)).collect::<AppResult<Vec<_>>>()?;
        let input = service::ReviewInput {
            entry: parse_uuid("entryId", &input.entry_id)?,
            rating: input.rating,
            title: input.title,
            body: input.body,
            media,
        };
        Ok(Review::from(service::upsert(ctx.state(), ctx.auth().require()?, input).await?))
    }

    /// Deletes your own review.
    async fn delete_review(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        service::delete(ctx.state(), ctx.auth().require()?, parse_uuid("id", &id)?).await?;
        Ok(true)
    }

    /// Votes a published review of someone else helpful or not; voting again
    /// changes your vote. Voting on your own review is FORBIDDEN.
    async fn vote_review_helpful(&self, ctx: &Context<'_>, review_id: ID, helpful: bool) -> AppResult<Review> {
        let id = parse_uuid("reviewId", &review_id)?;
        Ok(Review::from(service::vote(ctx.state(), ctx.auth().require()?, id, helpful).await?))
    }

    /// Moderators: hides a review (it leaves the entry's rating), with a reason.
    async fn hide_review(&self, ctx: &Context<'_>, id: ID, reason: String) -> AppResult<Review> {
        let id = parse_uuid("id", &id)?;
        Ok(Review::from(service::moderate(ctx.state(), ctx.auth().require()?, id, Moderation::Hide, &reason).await?))
    }

    /// Moderators: publishes a hidden or pending review (it counts in the entry's rating again), with a reason.
    async fn show_review(&self, ctx: &Context<'_>, id: ID, reason: String) -> AppResult<Review> {
        let id = parse_uuid("id", &id)?;
        Ok(Review::from(service::moderate(ctx.state(), ctx.auth().require()?, id, Moderation::Show, &reason).await?))
    }
}
