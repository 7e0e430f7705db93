//! Relay connections over the pages of `crate::paging`.

use std::borrow::Cow;

use async_graphql::{
    ContainerType, Context, ContextSelectionSet, OutputType, Positioned, ServerResult, Value,
    connection::{self, CursorType, Edge},
    parser::types::Field,
    registry::Registry,
};

use crate::{
    graphql::fields,
    paging::{Cursor, Page},
};

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
