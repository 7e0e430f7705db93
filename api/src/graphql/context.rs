//! What a resolver can reach: the shared [`AppState`], the request's
//! [`RequestContext`] (who is asking, from where) and its [`Loaders`].

use std::net::IpAddr;

use async_graphql::{Context, dataloader::DataLoader};
use sea_orm::DatabaseConnection;

use crate::{app::AppState, auth::Auth, modules::identity::selectors::UserLoader};

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
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Self {
        Self { users: DataLoader::new(UserLoader::new(db.clone()), tokio::spawn) }
    }
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
        self.data_unchecked::<RequestContext>()
    }

    fn loaders(&self) -> &Loaders {
        self.data_unchecked::<Loaders>()
    }
}
