//! The one pagination helper behind every connection: `first` (at most 100)
//! and an opaque keyset cursor. Cursors never contain database ids.

use async_graphql::{
    OutputType,
    connection::{Connection, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE: i32 = 20;
pub const MAX_PAGE: i32 = 100;

/// Complexity of a connection field: its children count once per requested item.
pub fn complexity(child: usize, first: Option<i32>) -> usize {
    child.saturating_mul(first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize)
}

pub struct Page {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl Page {
    pub fn parse(first: Option<i32>, after: Option<String>) -> AppResult<Self> {
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(AppError::bad_input("first", format!("must be between 0 and {MAX_PAGE}")));
        }
        let after = after.map(|cursor| decode(&cursor)).transpose()?;
        Ok(Self { first: first as u64, after })
    }
}

fn encode(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode(cursor: &str) -> AppResult<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| AppError::bad_input("after", "not a valid cursor"))
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
    let mut select = select.order_by_desc(id).limit(page.first + 1);
    if let Some(after) = page.after {
        let cursor_row = E::find().select_only().column(id).filter(uuid.eq(after)).into_query();
        select = select.filter(Expr::col(id).lt(Expr::SubQuery(None, Box::new(cursor_row.into()))));
    }
    let mut rows = select.all(db).await?;
    let has_next = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok((rows, has_next))
}

/// Builds the Relay connection of a page of rows.
pub fn connection<T, N: OutputType>(
    rows: Vec<T>,
    has_next: bool,
    page: &Page,
    uuid_of: impl Fn(&T) -> Uuid,
    node: impl Fn(T) -> N,
) -> Connection<String, N> {
    let mut connection = Connection::new(page.after.is_some(), has_next);
    connection.edges.extend(rows.into_iter().map(|row| Edge::new(encode(uuid_of(&row)), node(row))));
    connection
}
