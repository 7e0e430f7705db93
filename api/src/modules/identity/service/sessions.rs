//! Sign-in and sessions: access tokens with rotating refresh tokens, where a reused refresh token revokes its session; signing out.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;
use xpr_entity::{refresh_token, session, user};

use crate::modules::identity::domain::{self, Handle, UserStatus};
use crate::{
    auth::{ClientInfo, Viewer, hash_token, random_secret},
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{SessionId, new_uuid},
};

use super::{credentials_changed, revoke_sessions, verify_password};

/// What a successful sign-in returns. The refresh token is shown only here.
pub struct SignedIn {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub user: user::Model,
}

/// Signs in with a handle or an email. Unknown account and wrong password give
/// the same error in the same time.
pub async fn login(state: &Deps, client: &ClientInfo, login: &str, password: String) -> AppResult<SignedIn> {
    let login_key = Handle::key_of(login);
    state.limiter.hit(&format!("login:addr:{}", client.address_key()), state.config.rate_limit_per_address).await?;
    let column = if login.contains('@') { user::Column::Email } else { user::Column::HandleKey };
    let user = user::Entity::find().filter(column.eq(&login_key)).one(&state.db).await?;
    // One counter per account, whether it is named by handle or by email.
    let account = user.as_ref().map_or(login_key, |user| user.id.to_string());
    state.limiter.hit(&format!("login:acct:{account}"), state.config.rate_limit_per_account).await?;
    let valid = verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match user {
        Some(user) if valid => user,
        _ => return Err(AppError::Unauthenticated("invalid login or password".into())),
    };
    if domain::status_of(&user, Utc::now()) == UserStatus::Banned {
        return Err(AppError::forbidden(format!(
            "this account is banned: {}",
            user.status_reason.as_deref().unwrap_or("no reason given")
        )));
    }
    db::transaction!(&state.db, |txn| {
        let signed_in = start_session(state, &txn, user.clone(), client).await?;
        Ok(signed_in)
    })
}

pub(super) async fn start_session(
    state: &Deps,
    txn: &DatabaseTransaction,
    user: user::Model,
    client: &ClientInfo,
) -> AppResult<SignedIn> {
    let now = Utc::now();
    let session = session::ActiveModel {
        uuid: Set(new_uuid()),
        user_id: Set(user.id),
        user_agent: Set(client.user_agent.as_ref().map(|ua| ua.chars().take(512).collect())),
        ip_address: Set(client.ip.map(|ip| ip.to_string())),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(now + Duration::seconds(state.config.refresh_token_ttl_secs)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let refresh_token = issue_refresh_token(txn, session.id).await?;
    let user = touch_last_seen(txn, user).await?;
    let (access_token, access_token_expires_at) = state.keys.issue(user.uuid, session.uuid)?;
    Ok(SignedIn { access_token, access_token_expires_at, refresh_token, user })
}

async fn issue_refresh_token(txn: &DatabaseTransaction, session_id: SessionId) -> AppResult<String> {
    let token = random_secret(48);
    refresh_token::ActiveModel {
        session_id: Set(session_id),
        token_hash: Set(hash_token(&token)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(token)
}

/// "Last seen" moves when a session starts or refreshes (every access-token lifetime at most).
async fn touch_last_seen(txn: &DatabaseTransaction, user: user::Model) -> AppResult<user::Model> {
    let mut active = user.into_active_model();
    active.last_seen_at = Set(Some(Utc::now()));
    Ok(active.update(txn).await?)
}

/// Exchanges a refresh token for new tokens. Each refresh token works once;
/// presenting one that was already used revokes the whole session, since
/// either the client or a thief is replaying it.
pub async fn refresh_session(state: &Deps, token: &str) -> AppResult<SignedIn> {
    let refused = |why: &str| AppError::Unauthenticated(why.to_owned());
    let now = Utc::now();
    // A reuse revokes the session: that commits, then the refusal is returned.
    let rotated = db::transaction!(&state.db, |txn| {
        let Some((stored, Some(session))) = refresh_token::Entity::find()
            .find_also_related(session::Entity)
            .filter(refresh_token::Column::TokenHash.eq(hash_token(token)))
            .one(&txn)
            .await?
        else {
            return Err(refused("invalid refresh token"));
        };
        if session.revoked_at.is_some() || session.expires_at <= now {
            return Err(refused("session ended; sign in again"));
        }
        // Rotate only if nobody else did: a second use, even a concurrent one, is a reuse.
        let rotated = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(stored.id))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .exec(&txn)
            .await?;
        if rotated.rows_affected == 0 {
            revoke_sessions(&txn, session.user_id, session::Column::Id.eq(session.id)).await?;
            tracing::warn!(session = %session.uuid, "refresh token reused: session revoked");
            return Ok(None);
        }
        let user =
            user::Entity::find_by_id(session.user_id).one(&txn).await?.ok_or_else(|| refused("account not found"))?;
        if domain::status_of(&user, now) == UserStatus::Banned {
            return Err(refused("account banned"));
        }
        let refresh_token = issue_refresh_token(&txn, session.id).await?;
        session::Entity::update_many()
            .col_expr(session::Column::LastUsedAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .exec(&txn)
            .await?;
        let user = touch_last_seen(&txn, user).await?;
        Ok(Some((user, session, refresh_token)))
    })?;
    let (user, session, refresh_token) =
        rotated.ok_or_else(|| refused("refresh token already used; the session has been revoked"))?;
    let (access_token, access_token_expires_at) = state.keys.issue(user.uuid, session.uuid)?;
    Ok(SignedIn { access_token, access_token_expires_at, refresh_token, user })
}

pub async fn logout(state: &Deps, viewer: &Viewer) -> AppResult<()> {
    let session = viewer.require_session()?;
    db::transaction!(&state.db, |txn| {
        revoke_sessions(&txn, viewer.id, session::Column::Id.eq(session)).await?;
        Ok(())
    })
}

/// Revokes one of the viewer's sessions; someone else's is reported as not found.
pub async fn revoke_session(state: &Deps, viewer: &Viewer, session: Uuid) -> AppResult<()> {
    viewer.require_session()?;
    db::transaction!(&state.db, |txn| {
        let result = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(session::Column::Uuid.eq(session))
            .filter(session::Column::UserId.eq(viewer.id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            return Err(AppError::not_found("session"));
        }
        credentials_changed(&txn, viewer.id).await?;
        Ok(())
    })
}
