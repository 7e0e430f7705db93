//! What a resolver can reach: the shared [`AppState`], the request's
//! [`RequestContext`] (who is asking, from where) and its [`Loaders`].

use std::net::IpAddr;

use async_graphql::{Context, dataloader::DataLoader};
use sea_orm::DatabaseConnection;

use crate::{
    app::AppState,
    auth::Auth,
    modules::{
        content::selectors::ContentLoader, identity::selectors::UserLoader, media::selectors::MediaLoader,
        reviews::selectors::ReviewLoader, versioning::selectors::VersioningLoader,
    },
};

#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The rate-limit key of the client's address.
    pub fn address_key(&self) -> String {
        self.ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub auth: Auth,
    pub client: ClientInfo,
}

/// DataLoaders, built per request (never shared across requests or users) so
/// that caches can't serve stale rows after a write or leak between viewers.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub content: DataLoader<ContentLoader>,
    pub versioning: DataLoader<VersioningLoader>,
    pub reviews: DataLoader<ReviewLoader>,
    pub media: DataLoader<MediaLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            users: loader(UserLoader::new(db.clone())),
            content: loader(ContentLoader::new(db.clone())),
            versioning: loader(VersioningLoader::new(db.clone())),
            reviews: loader(ReviewLoader::new(db.clone())),
            media: loader(MediaLoader::new(db.clone())),
        }
    }
}

/// Batches start after the request task has had its turns, not after a timer.
/// async-graphql resolves a level of a query in one task, yielding after
/// every 32 list items; a batch that waits a fixed 1 ms (the default) can
/// fire half-way through a long page, splitting it into two statements. A
/// few yields let the whole level queue its loads first — deterministically,
/// and without the millisecond of latency per level.
fn loader<T: Send + Sync + 'static>(inner: T) -> DataLoader<T> {
    let spawn = |batch| {
        tokio::spawn(async move {
            for _ in 0..BATCH_YIELDS {
                tokio::task::yield_now().await;
            }
            batch.await
        })
    };
    DataLoader::new(inner, spawn).delay(std::time::Duration::ZERO)
}

/// Enough turns for the largest page (100 items, yielding every 32) with room to spare.
const BATCH_YIELDS: usize = 8;

pub trait ContextExt {
    fn state(&self) -> &AppState;
    fn request(&self) -> &RequestContext;
    fn auth(&self) -> &Auth {
        &self.request().auth
    }
    fn loaders(&self) -> &Loaders;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn request(&self) -> &RequestContext {
        self.data_unchecked::<RequestContext>()
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }
}
