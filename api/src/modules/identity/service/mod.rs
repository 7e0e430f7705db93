//! Identity writes: accounts, sign-in, sessions with rotating refresh tokens,
//! API tokens, one-time tokens by mail, profile, roles and account status.
//! Every permission decision is made here (with the pure rules in `domain`).

mod accounts;
mod api_tokens;
mod recovery;
mod sessions;
mod standing;

use std::sync::LazyLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use xpr_entity::{session, user};

use super::domain::Password;
use crate::{
    auth::random_secret,
    error::{AppError, AppResult, FieldError},
    ids::UserId,
    realtime::{self, Event},
};

pub use accounts::*;
pub use api_tokens::*;
pub use recovery::*;
pub use sessions::*;
pub use standing::*;

async fn hash_password(password: Password) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.expose().as_bytes(), &salt).map(|hash| hash.to_string())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|err| AppError::internal(anyhow::anyhow!("hashing failed: {err}")))
}

/// Verifies `password` against a stored hash, or against a dummy hash when the
/// account doesn't exist, so both cases cost the same time.
async fn verify_password(password: String, stored: Option<String>) -> AppResult<bool> {
    static DUMMY: LazyLock<String> = LazyLock::new(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_secret(32).as_bytes(), &salt)
            .expect("hashing a random secret")
            .to_string()
    });
    tokio::task::spawn_blocking(move || {
        let exists = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY.clone());
        let hash = PasswordHash::new(&stored).map_err(|err| anyhow::anyhow!("stored hash unreadable: {err}"))?;
        Ok::<_, anyhow::Error>(exists && Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

fn collect<T>(results: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|err| results.push(err)).ok()
}

/// Revokes sessions of `user` and tells their open sockets to check their credentials.
async fn revoke_sessions(db: &impl ConnectionTrait, user: UserId, which: sea_orm::sea_query::Expr) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(user))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    credentials_changed(db, user).await
}

/// Hints every process that a user's sessions, tokens, role or status
/// changed: that user's WebSockets and event streams authenticate again and
/// close if refused or if the user's role or suspension differs.
pub async fn credentials_changed(db: &impl ConnectionTrait, user: UserId) -> AppResult<()> {
    realtime::emit(db, vec![Event::Credentials { user }]).await
}

/// Locks a user's row until the transaction ends, so that one user's writes
/// checking per-user limits run one after the other and each counts what the
/// previous ones committed (PostgreSQL; SQLite has a single writer anyway).
/// Take it before other rows, as a ban does, so lock order stays the same.
pub async fn lock_user(txn: &DatabaseTransaction, user: UserId) -> AppResult<()> {
    user::Entity::find_by_id(user).lock_exclusive().one(txn).await?.ok_or_else(|| AppError::not_found("user"))?;
    Ok(())
}
