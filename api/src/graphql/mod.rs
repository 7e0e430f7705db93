//! Schema assembly: one merged root per operation type, the `Node` interface,
//! and the depth and complexity limits.

pub mod batches;
pub mod context;
pub mod enums;
pub mod fields;
pub mod pagination;

use async_graphql::{ID, Interface, MergedObject, Object, Schema, SchemaBuilder};

use crate::{
    app::AppState,
    error::AppResult,
    graphql::context::ContextExt,
    ids::parse_uuid,
    modules::{
        content::{
            self,
            graphql::{ContentMutation, ContentQuery, Entry},
        },
        identity::{
            self,
            graphql::{IdentityMutation, IdentityQuery, User},
        },
        media::graphql::MediaMutation,
        moderation::graphql::{ModerationMutation, ModerationQuery},
        realtime::graphql::{RealtimeMutation, RealtimeQuery, RealtimeSubscription},
        reviews::{
            self,
            graphql::{Review, ReviewsMutation, ReviewsQuery},
        },
        versioning::graphql::{VersioningMutation, VersioningQuery},
    },
};

pub type AppSchema = Schema<Query, Mutation, RealtimeSubscription>;

#[derive(MergedObject, Default)]
pub struct Query(NodeQuery, IdentityQuery, ContentQuery, VersioningQuery, ModerationQuery, ReviewsQuery, RealtimeQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(
    IdentityMutation,
    ContentMutation,
    VersioningMutation,
    ModerationMutation,
    ReviewsMutation,
    MediaMutation,
    RealtimeMutation,
);

/// An object with a global id (its UUID), fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    User(User),
    Entry(Entry),
    Review(Review),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id; null when it doesn't exist or isn't visible.
    async fn node(&self, ctx: &async_graphql::Context<'_>, id: ID) -> AppResult<Option<Node>> {
        let uuid = parse_uuid("id", &id)?;
        let db = &ctx.state().db;
        if let Some(user) = identity::selectors::visible_user_by_uuid(db, ctx.auth().viewer(), uuid).await? {
            return Ok(Some(Node::User(User::new(user))));
        }
        if let Some(entry) = content::selectors::entry_by_uuid(db, uuid).await? {
            return Ok(Some(Node::Entry(Entry::new(entry))));
        }
        Ok(reviews::selectors::visible_review(db, ctx.auth().viewer(), uuid)
            .await?
            .map(|r| Node::Review(Review::from(r))))
    }
}

fn builder() -> SchemaBuilder<Query, Mutation, RealtimeSubscription> {
    Schema::build(Query::default(), Mutation::default(), RealtimeSubscription)
}

pub fn build_schema(state: AppState) -> AppSchema {
    let (depth, complexity) = (state.config.max_query_depth, state.config.max_query_complexity);
    builder().data(state).limit_depth(depth).limit_complexity(complexity).finish()
}

/// The SDL that `schema.graphql` holds.
pub fn sdl() -> String {
    builder().finish().sdl()
}
