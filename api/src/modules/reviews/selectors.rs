//! Review reads. Every read starts from [`Visibility`]: others see published
//! reviews only, authors also their own, moderators everything. The loader
//! batches review lists (first pages), authors' media and votes. Moderators
//! also page the queue of reviews the content filter holds.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Iterable, QueryFilter, QueryOrder,
    QuerySelect, Select, Value,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Query},
};
use uuid::Uuid;
use xpr_entity::{review, review_media};

use super::domain::ReviewStatus;
use crate::{
    auth::{Viewer, policy},
    db::{self, rows},
    error::{AppError, AppResult},
    ids::{EntryId, MediaId, ReviewId, UserId},
    paging::{self, Cursor, Page},
};

/// Which reviews a viewer may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Visibility {
    Published,
    /// Published ones and all of this user's own.
    PublishedOrAuthor(UserId),
    Everything,
}

impl Visibility {
    pub fn of(viewer: Option<&Viewer>) -> Self {
        match viewer {
            _ if policy::sees_everything(viewer) => Visibility::Everything,
            Some(v) => Visibility::PublishedOrAuthor(v.id),
            None => Visibility::Published,
        }
    }

    fn condition(self) -> Condition {
        let published = review::Column::Status.eq(ReviewStatus::Published);
        match self {
            Visibility::Published => Condition::all().add(published),
            Visibility::PublishedOrAuthor(user) => {
                Condition::any().add(published).add(review::Column::AuthorId.eq(user))
            }
            Visibility::Everything => Condition::all(),
        }
    }
}

/// The reviews `viewer` may see.
pub fn visible_reviews(viewer: Option<&Viewer>) -> Select<review::Entity> {
    review::Entity::find().filter(Visibility::of(viewer).condition())
}

pub async fn visible_review(
    db: &impl ConnectionTrait,
    viewer: Option<&Viewer>,
    id: Uuid,
) -> AppResult<Option<review::Model>> {
    Ok(visible_reviews(viewer).filter(review::Column::Uuid.eq(id)).one(db).await?)
}

/// The orders of a review list. Ties go newest first (UUIDv7 ids sort by creation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReviewOrder {
    Newest,
    Highest,
    Lowest,
    MostHelpful,
}

impl ReviewOrder {
    fn key_column(self) -> review::Column {
        match self {
            ReviewOrder::Newest => review::Column::CreatedAt,
            ReviewOrder::Highest | ReviewOrder::Lowest => review::Column::Rating,
            ReviewOrder::MostHelpful => review::Column::HelpfulCount,
        }
    }

    fn ascending(self) -> bool {
        self == ReviewOrder::Lowest
    }

    /// The same order as SQL text, for the window function of batched first pages.
    fn window_order(self) -> &'static str {
        match self {
            ReviewOrder::Newest => "created_at DESC, uuid DESC",
            ReviewOrder::Highest => "rating DESC, uuid DESC",
            ReviewOrder::Lowest => "rating ASC, uuid DESC",
            ReviewOrder::MostHelpful => "helpful_count DESC, uuid DESC",
        }
    }

    pub fn cursor(self, review: &review::Model) -> Cursor {
        let key = match self {
            ReviewOrder::Newest => review.created_at.to_rfc3339(),
            ReviewOrder::Highest | ReviewOrder::Lowest => review.rating.to_string(),
            ReviewOrder::MostHelpful => review.helpful_count.to_string(),
        };
        Cursor::new(Some(key), review.uuid)
    }

    /// Rows after the cursor `(key, id)` in this order.
    fn after(self, key: &str, id: Uuid) -> AppResult<Condition> {
        let bad = || AppError::bad_input("after", "not a valid cursor");
        let key: Value = match self {
            ReviewOrder::Newest => key.parse::<DateTime<Utc>>().map_err(|_| bad())?.into(),
            ReviewOrder::Highest | ReviewOrder::Lowest => key.parse::<i16>().map_err(|_| bad())?.into(),
            ReviewOrder::MostHelpful => key.parse::<i32>().map_err(|_| bad())?.into(),
        };
        let column = self.key_column();
        let beyond = if self.ascending() { column.gt(key.clone()) } else { column.lt(key.clone()) };
        Ok(Condition::any().add(beyond).add(Condition::all().add(column.eq(key)).add(review::Column::Uuid.lt(id))))
    }
}

/// Whose reviews a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReviewsOf {
    Entry(EntryId),
    Author(UserId),
}

impl ReviewsOf {
    fn column(self) -> review::Column {
        match self {
            ReviewsOf::Entry(_) => review::Column::EntryId,
            ReviewsOf::Author(_) => review::Column::AuthorId,
        }
    }

    /// The column's name, for the window function's partition.
    fn partition(self) -> &'static str {
        match self {
            ReviewsOf::Entry(_) => "entry_id",
            ReviewsOf::Author(_) => "author_id",
        }
    }

    /// The entry's or author's id as [`ReviewsOf::column`] stores it: the
    /// column is picked at run time, so the value is bound untyped.
    fn id(self) -> i64 {
        match self {
            ReviewsOf::Entry(EntryId(id)) | ReviewsOf::Author(UserId(id)) => id,
        }
    }

    /// The list of the same kind that `row` belongs to.
    fn of(self, row: &review::Model) -> Self {
        match self {
            ReviewsOf::Entry(_) => ReviewsOf::Entry(row.entry_id),
            ReviewsOf::Author(_) => ReviewsOf::Author(row.author_id),
        }
    }
}

/// A page of the reviews of an entry or an author, by a keyset cursor.
pub async fn reviews(
    db: &DatabaseConnection,
    of: ReviewsOf,
    visibility: Visibility,
    order: ReviewOrder,
    page: &Page,
) -> AppResult<(Vec<review::Model>, bool)> {
    let mut select =
        review::Entity::find().filter(visibility.condition()).filter(of.column().eq(of.id())).limit(page.first + 1);
    if let Some((key, id)) = page.after_key()? {
        select = select.filter(order.after(key, id)?);
    }
    let key = order.key_column();
    select = if order.ascending() { select.order_by_asc(key) } else { select.order_by_desc(key) };
    Ok(page.finish(select.order_by_desc(review::Column::Uuid).all(db).await?))
}

/// Half of a page of the activity feed: up to `page.first + 1` of `author`'s
/// published reviews after the page's cursor, last written first. The caller
/// merges it with the other half and finishes the page.
pub async fn published_of(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    author: UserId,
    page: &Page,
) -> AppResult<Vec<review::Model>> {
    let select = visible_reviews(viewer)
        .filter(review::Column::AuthorId.eq(author))
        .filter(review::Column::Status.eq(ReviewStatus::Published));
    paging::newest_after(db, select, review::Column::CreatedAt, review::Column::Uuid, page).await
}

/// The review queue: reviews the content filter holds (PENDING), oldest first.
/// Starts from what `viewer` may see; callers check they moderate.
pub async fn held(db: &DatabaseConnection, viewer: &Viewer, page: &Page) -> AppResult<(Vec<review::Model>, bool)> {
    let select = visible_reviews(Some(viewer)).filter(review::Column::Status.eq(ReviewStatus::Pending));
    paging::oldest_first(db, select, review::Column::Id, review::Column::Uuid, page).await
}

pub fn held_cursor(review: &review::Model) -> Cursor {
    Cursor::new(None, review.uuid)
}

/// Batches review relations per request.
pub struct ReviewLoader {
    db: DatabaseConnection,
}

impl ReviewLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// The first `first` reviews of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FirstReviewsKey {
    pub of: ReviewsOf,
    pub visibility: Visibility,
    pub order: ReviewOrder,
    pub first: u64,
}

/// Ids of the media attached to a review, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReviewMediaKey(pub ReviewId);

/// A first page of reviews, and whether more follow.
#[derive(Clone, Default)]
pub struct FirstReviews {
    pub rows: Vec<Arc<review::Model>>,
    pub more: bool,
}

impl Loader<FirstReviewsKey> for ReviewLoader {
    type Value = FirstReviews;
    type Error = Arc<DbErr>;

    /// First pages of many lists in one statement per kind of list: rows are
    /// numbered and counted per entry (or author) by window functions and cut
    /// at the largest page (at least one row, which carries the count).
    async fn load(&self, keys: &[FirstReviewsKey]) -> Result<HashMap<FirstReviewsKey, Self::Value>, Self::Error> {
        let mut groups: HashMap<(&str, Visibility, ReviewOrder), Vec<FirstReviewsKey>> = HashMap::new();
        for key in keys {
            groups.entry((key.of.partition(), key.visibility, key.order)).or_default().push(*key);
        }
        let mut found = HashMap::new();
        for ((partition, visibility, order), keys) in groups {
            let of = keys[0].of;
            let limit = Ord::max(keys.iter().map(|k| k.first).max().unwrap_or(0), 1);
            let ranked = Query::select()
                .columns(review::Column::iter())
                .expr_as(
                    Expr::cust(format!(
                        "ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY {})",
                        order.window_order()
                    )),
                    Alias::new("review_rank"),
                )
                .expr_as(Expr::cust(format!("COUNT(*) OVER (PARTITION BY {partition})")), Alias::new("review_total"))
                .from(review::Entity)
                .cond_where(visibility.condition())
                .and_where(db::any_of(self.db.get_database_backend(), of.column(), keys.iter().map(|k| k.of.id())))
                .to_owned();
            let page = Query::select()
                .column(Asterisk)
                .from_subquery(ranked, Alias::new("ranked"))
                .and_where(Expr::col(Alias::new("review_rank")).lte(limit))
                .order_by(Alias::new("review_rank"), sea_orm::Order::Asc)
                .to_owned();
            // After the review's columns: its rank, then the list's length.
            let total_at = review::Column::iter().count() + 1;
            let mut by_owner: HashMap<ReviewsOf, (Vec<Arc<review::Model>>, u64)> = HashMap::new();
            for (i, row) in self.db.query_all(&page).await?.iter().enumerate() {
                let total: i64 = row.try_get_by_index(total_at)?;
                let row = rows::review(row, i == 0)?;
                let list = by_owner.entry(of.of(&row)).or_default();
                list.0.push(Arc::new(row));
                list.1 = total as u64;
            }
            for key in keys {
                let page = by_owner.get(&key.of).map(|(rows, total)| FirstReviews {
                    rows: rows.iter().take(key.first as usize).cloned().collect(),
                    more: *total > key.first,
                });
                found.insert(key, page.unwrap_or_default());
            }
        }
        Ok(found)
    }
}

impl Loader<ReviewMediaKey> for ReviewLoader {
    type Value = Vec<MediaId>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ReviewMediaKey]) -> Result<HashMap<ReviewMediaKey, Vec<MediaId>>, Self::Error> {
        let rows = review_media::Entity::find()
            .filter(db::any_of(
                self.db.get_database_backend(),
                review_media::Column::ReviewId,
                keys.iter().map(|k| k.0),
            ))
            .order_by_asc(review_media::Column::Position)
            .all(&self.db)
            .await?;
        let mut found: HashMap<ReviewMediaKey, Vec<MediaId>> = HashMap::new();
        for row in rows {
            found.entry(ReviewMediaKey(row.review_id)).or_default().push(row.media_id);
        }
        Ok(found)
    }
}
