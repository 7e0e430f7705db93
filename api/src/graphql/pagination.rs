//! The one pagination helper behind every connection: `first` (at most 100)
//! and an opaque keyset cursor. Cursors never contain database ids.

use std::borrow::Cow;

use async_graphql::{
    ContainerType, Context, ContextSelectionSet, OutputType, Positioned, ServerResult, Value,
    connection::{self, CursorType, Edge},
    parser::types::Field,
    registry::Registry,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::fields,
};

pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;

/// Complexity of a connection field: its children count once per requested item.
pub fn complexity(child: usize, first: Option<i32>) -> usize {
    child.saturating_mul(first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize)
}

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

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serializes"))
    }

    fn decode(cursor: &str) -> AppResult<Self> {
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| AppError::bad_input("after", "not a valid cursor"))
    }
}

/// For async-graphql's connections; `after` arguments go through [`Page::parse`].
impl CursorType for Cursor {
    type Error = &'static str;

    fn decode_cursor(cursor: &str) -> Result<Self, Self::Error> {
        Self::decode(cursor).map_err(|_| "not a valid cursor")
    }

    fn encode_cursor(&self) -> String {
        self.encode()
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

/// Builds the Relay connection of a page of rows; `cursor_of` gives each row's position.
pub fn connection<T, N: OutputType>(
    rows: Vec<T>,
    has_next: bool,
    page: &Page,
    cursor_of: impl Fn(&T) -> Cursor,
    node: impl Fn(T) -> N,
) -> Connection<N> {
    let mut connection = Inner::new(page.after.is_some(), has_next);
    connection.edges.extend(rows.into_iter().map(|row| Edge::new(cursor_of(&row), node(row))));
    Connection(connection)
}

/// async-graphql's Relay connection (its schema, `pageInfo` and `nodes`),
/// with the connection and its edges resolved as our objects are (ADR 0014).
pub struct Connection<N: OutputType>(Inner<N>);

type Inner<N> = connection::Connection<Cursor, N>;
type InnerEdge<N> = Edge<Cursor, N, connection::EmptyFields>;

impl<N: OutputType> Connection<N> {
    /// No rows, and no pages either side.
    pub fn empty() -> Self {
        Self(Inner::new(false, false))
    }
}

impl<N: OutputType> OutputType for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        Inner::<N>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Inner::<N>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        fields::resolve(ctx, self).await
    }
}

impl<N: OutputType> ContainerType for Connection<N> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        if ctx.item.node.name.node != "edges" {
            return self.0.resolve_field(ctx).await;
        }
        let edges: Vec<_> = self.0.edges.iter().map(EdgeOf).collect();
        edges.resolve(&ctx.with_selection_set(&ctx.item.node.selection_set), ctx.item).await.map(Some)
    }
}

/// An edge of a [`Connection`]: async-graphql's, resolved as our objects are.
struct EdgeOf<'a, N: OutputType>(&'a InnerEdge<N>);

impl<N: OutputType> OutputType for EdgeOf<'_, N> {
    fn type_name() -> Cow<'static, str> {
        InnerEdge::<N>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        InnerEdge::<N>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        fields::resolve(ctx, self.0).await
    }
}
