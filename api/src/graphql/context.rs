//! What a resolver can reach: the shared [`AppState`], the request's
//! [`RequestContext`] (who is asking, from where) and its [`Loaders`].

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use async_graphql::{Context, dataloader::DataLoader};
use futures_util::future::BoxFuture;
use opentelemetry::context::FutureExt as _;
use sea_orm::DatabaseConnection;

use crate::{
    app::AppState,
    auth::{Auth, ClientInfo},
    modules::{
        content::selectors::ContentLoader, identity::selectors::UserLoader, media::selectors::MediaLoader,
        reviews::selectors::ReviewLoader, versioning::selectors::VersioningLoader,
    },
};

#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub auth: Auth,
    pub client: ClientInfo,
    /// How often resolvers read this: a render that didn't may be shared (`rendered`).
    asked: Arc<AtomicU64>,
}

impl RequestContext {
    pub fn new(auth: Auth, client: ClientInfo) -> Self {
        Self { auth, client, asked: Arc::default() }
    }

    pub fn asked(&self) -> u64 {
        self.asked.load(Ordering::SeqCst)
    }
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
    /// Loaders whose batches go to `spawn`, and the users' to `spawn_users`:
    /// [`Batches`](super::batches::Batches) for a request, so a batch holds a
    /// whole level's keys, and the users' those of all levels.
    pub fn new(
        db: &DatabaseConnection,
        spawn: impl Fn(BoxFuture<'static, ()>) + Clone + Send + Sync + 'static,
        spawn_users: impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static,
    ) -> Self {
        Self {
            users: loader(UserLoader::new(db.clone()), spawn_users),
            content: loader(ContentLoader::new(db.clone()), spawn.clone()),
            versioning: loader(VersioningLoader::new(db.clone()), spawn.clone()),
            reviews: loader(ReviewLoader::new(db.clone()), spawn.clone()),
            media: loader(MediaLoader::new(db.clone()), spawn),
        }
    }

    /// Loaders of a WebSocket or an event stream, whose items resolve one at
    /// a time: batches may simply run as tasks, each in the trace of the
    /// operation that asked, so its statements are that operation's children.
    pub fn spawned(db: &DatabaseConnection) -> Self {
        let spawn = |batch: BoxFuture<'static, ()>| drop(tokio::spawn(batch.with_current_context()));
        Self::new(db, spawn, spawn)
    }
}

/// No timer: when a batch starts is up to its spawner.
fn loader<T: Send + Sync + 'static>(
    inner: T,
    spawn: impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static,
) -> DataLoader<T> {
    DataLoader::new(inner, spawn).delay(std::time::Duration::ZERO)
}

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
        let request = self.data_unchecked::<RequestContext>();
        request.asked.fetch_add(1, Ordering::SeqCst);
        request
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }
}
