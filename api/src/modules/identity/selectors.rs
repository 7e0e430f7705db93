//! Identity reads: users visible to a viewer, the viewer behind a bearer
//! credential, the viewer's sessions and API tokens, and the user loader.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryTrait, Select};
use uuid::Uuid;
use xpr_entity::{api_token, session, user};

use super::domain::{self, Handle, Scope, UserStatus};
use crate::{
    auth::{Credential, Viewer, hash_token, policy},
    db::{self, rows},
    deps::Deps,
    error::{AppError, AppResult, Refusal},
    ids::UserId,
    paging::{self, Page},
};

/// Prefix of personal API tokens, which tells them apart from JWTs.
pub const API_TOKEN_PREFIX: &str = "xpr_";

/// Users the viewer may see: banned accounts only show to moderators.
fn visible_users(viewer: Option<&Viewer>) -> Select<user::Entity> {
    let query = user::Entity::find();
    match viewer {
        _ if policy::sees_everything(viewer) => query,
        _ => query.filter(user::Column::Status.ne(UserStatus::Banned)),
    }
}

/// The rule of [`visible_users`] for a user at hand (one reached through a
/// loader, which never filters).
pub fn is_visible(viewer: Option<&Viewer>, user: &user::Model) -> bool {
    policy::sees_everything(viewer) || user.status != UserStatus::Banned
}

pub async fn visible_user_by_handle(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    handle: &str,
) -> AppResult<Option<user::Model>> {
    Ok(visible_users(viewer).filter(user::Column::HandleKey.eq(Handle::key_of(handle))).one(db).await?)
}

pub async fn visible_user_by_uuid(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    uuid: Uuid,
) -> AppResult<Option<user::Model>> {
    Ok(visible_users(viewer).filter(user::Column::Uuid.eq(uuid)).one(db).await?)
}

pub async fn user_by_uuid(db: &impl ConnectionTrait, uuid: Uuid) -> AppResult<user::Model> {
    user::Entity::find().filter(user::Column::Uuid.eq(uuid)).one(db).await?.ok_or_else(|| AppError::not_found("user"))
}

/// The viewer a bearer credential (access JWT or API token) stands for,
/// checking the session or token and the account on every call, or why it
/// is refused (`AppError::Refused`); other errors mean it couldn't be checked.
pub async fn authenticate(state: &Deps, bearer: &str) -> AppResult<Viewer> {
    if bearer.starts_with(API_TOKEN_PREFIX) {
        viewer_from_api_token(&state.db, bearer).await
    } else {
        let token = state.keys.verify(bearer)?;
        viewer_from_session(&state.db, token.session, token.user).await
    }
}

fn viewer(user: &user::Model, credential: Credential) -> AppResult<Viewer> {
    let status = domain::status_of(user, Utc::now());
    if status == UserStatus::Banned {
        return Err(AppError::Refused(Refusal::AccountBanned));
    }
    Ok(Viewer {
        id: user.id,
        uuid: user.uuid,
        role: user.role,
        email_verified: user.email_verified_at.is_some(),
        suspended: status == UserStatus::Suspended,
        credential,
    })
}

/// The viewer for an operator acting as `handle` from the command line.
pub async fn operator(db: &DatabaseConnection, handle: &str) -> AppResult<Viewer> {
    let user = user::Entity::find()
        .filter(user::Column::HandleKey.eq(Handle::key_of(handle)))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    viewer(&user, Credential::Operator)
}

async fn viewer_from_session(db: &DatabaseConnection, session: Uuid, user: Uuid) -> AppResult<Viewer> {
    let refused = || AppError::Refused(Refusal::SessionRevoked);
    let (session, owner) = session::Entity::find()
        .find_also_related(user::Entity)
        .filter(session::Column::Uuid.eq(session))
        .one(db)
        .await?
        .ok_or_else(refused)?;
    let owner = owner.filter(|owner| owner.uuid == user).ok_or_else(refused)?;
    if session.revoked_at.is_some() || session.expires_at <= Utc::now() {
        return Err(refused());
    }
    viewer(&owner, Credential::Session { id: session.id })
}

async fn viewer_from_api_token(db: &DatabaseConnection, secret: &str) -> AppResult<Viewer> {
    let refused = || AppError::Refused(Refusal::TokenInvalid);
    let (token, owner) = api_token::Entity::find()
        .find_also_related(user::Entity)
        .filter(api_token::Column::TokenHash.eq(hash_token(secret)))
        .one(db)
        .await?
        .ok_or_else(refused)?;
    let owner = owner.ok_or_else(refused)?;
    let now = Utc::now();
    if token.revoked_at.is_some() {
        return Err(AppError::Refused(Refusal::TokenRevoked));
    }
    if token.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::Refused(Refusal::TokenExpired));
    }
    // "Last used" is shown to the owner at minute precision: write at most once a minute.
    if token.last_used_at.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, sea_orm::sea_query::Expr::value(now))
            .filter(api_token::Column::Id.eq(token.id))
            .exec(db)
            .await?;
    }
    viewer(&owner, Credential::ApiToken { scopes: Scope::parse_list(&token.scopes) })
}

pub async fn sessions_of(db: &DatabaseConnection, user: UserId, page: &Page) -> AppResult<(Vec<session::Model>, bool)> {
    let select = session::Entity::find()
        .filter(session::Column::UserId.eq(user))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(Utc::now()));
    paging::newest_first(db, select, session::Column::Id, session::Column::Uuid, page).await
}

pub async fn api_tokens_of(
    db: &DatabaseConnection,
    user: UserId,
    page: &Page,
) -> AppResult<(Vec<api_token::Model>, bool)> {
    let select = api_token::Entity::find().filter(api_token::Column::UserId.eq(user));
    paging::newest_first(db, select, api_token::Column::Id, api_token::Column::Uuid, page).await
}

/// Batches user lookups by internal id. Not filtered by viewer: callers decide
/// what to show (loaders never authorize).
pub struct UserLoader {
    db: DatabaseConnection,
}

impl UserLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// Shared, not cloned, by the fields that ask for the same user.
impl Loader<UserId> for UserLoader {
    type Value = Arc<user::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, Self::Value>, Self::Error> {
        let select = user::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), user::Column::Id, keys.iter().map(|k| k.0)))
            .into_query();
        let found = self.db.query_all(&select).await?;
        let users = rows::each(&found, rows::user).map(|user| user.map(|user| (user.id, Arc::new(user))));
        Ok(users.collect::<Result<_, _>>()?)
    }
}
