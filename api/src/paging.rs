//! Paging every list the API returns: `first` (at most 100) and an opaque
//! keyset cursor, read one statement per page however deep. Cursors never
//! contain database ids. The GraphQL connections are built on this in
//! `graphql::pagination`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;

/// A position in an ordered list: the sort key of the last row seen (for
/// orders other than newest-first) and its public id as the tie-breaker.
/// Encoded only when a client asks for an edge's `cursor`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    pub fn new(key: Option<String>, id: Uuid) -> Self {
        Self { key, id }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serializes"))
    }

    pub fn decode(cursor: &str) -> AppResult<Self> {
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| AppError::bad_input("after", "not a valid cursor"))
    }
}

pub struct Page {
    pub first: u64,
    pub after: Option<Cursor>,
}

impl Page {
    pub fn parse(first: Option<i32>, after: Option<String>) -> AppResult<Self> {
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(AppError::bad_input("first", format!("must be between 0 and {MAX_PAGE}")));
        }
        let after = after.map(|cursor| Cursor::decode(&cursor)).transpose()?;
        Ok(Self { first: first as u64, after })
    }

    /// The sort key of the cursor, required for keyed orders.
    pub fn after_key(&self) -> AppResult<Option<(&str, Uuid)>> {
        match &self.after {
            None => Ok(None),
            Some(Cursor { key: Some(key), id }) => Ok(Some((key.as_str(), *id))),
            Some(_) => Err(AppError::bad_input("after", "this cursor belongs to another ordering")),
        }
    }

    /// The cursor of an order by a timestamp: the instant and the id.
    pub fn after_instant(&self) -> AppResult<Option<(DateTime<Utc>, Uuid)>> {
        let Some((key, id)) = self.after_key()? else { return Ok(None) };
        let at = key.parse().map_err(|_| AppError::bad_input("after", "not a valid cursor"))?;
        Ok(Some((at, id)))
    }

    /// Cuts the extra row fetched to learn whether another page follows.
    pub fn finish<T>(&self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let has_next = rows.len() as u64 > self.first;
        rows.truncate(self.first as usize);
        (rows, has_next)
    }
}

/// Pages `select` newest first by the table's `id`, with the public `uuid` as
/// cursor: one statement, an index range scan however deep the page.
pub async fn newest_first<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id: E::Column,
    uuid: E::Column,
    page: &Page,
) -> AppResult<(Vec<E::Model>, bool)>
where
    E: EntityTrait,
    E::Column: ColumnTrait,
{
    by_id(db, select, id, uuid, page, false).await
}

/// Pages `select` oldest first by the table's `id` (queues), as [`newest_first`].
pub async fn oldest_first<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id: E::Column,
    uuid: E::Column,
    page: &Page,
) -> AppResult<(Vec<E::Model>, bool)>
where
    E: EntityTrait,
    E::Column: ColumnTrait,
{
    by_id(db, select, id, uuid, page, true).await
}

async fn by_id<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id: E::Column,
    uuid: E::Column,
    page: &Page,
    ascending: bool,
) -> AppResult<(Vec<E::Model>, bool)>
where
    E: EntityTrait,
    E::Column: ColumnTrait,
{
    let mut select = if ascending { select.order_by_asc(id) } else { select.order_by_desc(id) }.limit(page.first + 1);
    if let Some(after) = &page.after {
        let cursor_row = E::find().select_only().column(id).filter(uuid.eq(after.id)).into_query();
        let cursor_id = Expr::SubQuery(None, Box::new(cursor_row.into()));
        let beyond = if ascending { Expr::col(id).gt(cursor_id) } else { Expr::col(id).lt(cursor_id) };
        select = select.filter(beyond);
    }
    Ok(page.finish(select.all(db).await?))
}

/// Up to `page.first + 1` rows of `select` after the page's cursor, newest
/// first by the column `at`, ties by the public id `uuid`. The bound on `at`
/// alone lets an index on it start at the cursor rather than skip every newer row.
pub async fn newest_after<E: EntityTrait, C: ColumnTrait>(
    db: &impl ConnectionTrait,
    mut select: Select<E>,
    at: C,
    uuid: C,
    page: &Page,
) -> AppResult<Vec<E::Model>> {
    if let Some((cursor_at, cursor_id)) = page.after_instant()? {
        let older = Condition::any().add(at.lt(cursor_at)).add(uuid.lt(cursor_id));
        select = select.filter(Condition::all().add(at.lte(cursor_at)).add(older));
    }
    Ok(select.order_by_desc(at).order_by_desc(uuid).limit(page.first + 1).all(db).await?)
}
