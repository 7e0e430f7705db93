//! One-time tokens by mail: verifying the email address, and resetting a forgotten password.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    sea_query::Expr,
};
use xpr_entity::{enums::TokenPurpose, one_time_token, user};

use crate::modules::identity::domain::{self, Email, Password, UserStatus};
use crate::{
    auth::{ClientInfo, Viewer, hash_token, random_secret},
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::UserId,
    mail,
};

use super::{hash_password, revoke_sessions};

async fn create_one_time_token(
    txn: &DatabaseTransaction,
    user: UserId,
    purpose: TokenPurpose,
    ttl: Duration,
) -> AppResult<String> {
    let token = random_secret(40);
    let now = Utc::now();
    one_time_token::ActiveModel {
        user_id: Set(user),
        purpose: Set(purpose),
        token_hash: Set(hash_token(&token)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(token)
}

/// Marks a one-time token used and returns its user; each token works once, before it expires.
async fn consume_one_time_token(
    txn: &DatabaseTransaction,
    purpose: TokenPurpose,
    token: &str,
) -> AppResult<user::Model> {
    let invalid = || AppError::bad_input("token", "is invalid, expired or already used");
    let now = Utc::now();
    let stored = one_time_token::Entity::find()
        .filter(one_time_token::Column::TokenHash.eq(hash_token(token)))
        .filter(one_time_token::Column::Purpose.eq(purpose))
        .one(txn)
        .await?
        .ok_or_else(invalid)?;
    let used = one_time_token::Entity::update_many()
        .col_expr(one_time_token::Column::UsedAt, Expr::value(now))
        .filter(one_time_token::Column::Id.eq(stored.id))
        .filter(one_time_token::Column::UsedAt.is_null())
        .filter(one_time_token::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?;
    if used.rows_affected == 0 {
        return Err(invalid());
    }
    user::Entity::find_by_id(stored.user_id).one(txn).await?.ok_or_else(invalid)
}

pub(super) async fn send_verification(state: &Deps, txn: &DatabaseTransaction, user: &user::Model) -> AppResult<()> {
    let token = create_one_time_token(txn, user.id, TokenPurpose::VerifyEmail, Duration::hours(48)).await?;
    let body = format!(
        "Hello {},\n\nconfirm your email address for XP-R:\n{}/verify-email?token={token}\n\nOr paste this code: {token}\nIt works once, for 48 hours.\n",
        user.display_name, state.config.public_url
    );
    mail::enqueue(txn, &user.email, "Confirm your email address", body).await
}

pub async fn resend_verification(state: &Deps, viewer: &Viewer) -> AppResult<()> {
    state.limiter.hit(&format!("verify:acct:{}", viewer.uuid), state.config.rate_limit_per_account).await?;
    db::transaction!(&state.db, |txn| {
        let user = user::Entity::find_by_id(viewer.id).one(&txn).await?.ok_or_else(|| AppError::not_found("user"))?;
        if user.email_verified_at.is_some() {
            return Err(AppError::Conflict("your email address is already verified".into()));
        }
        send_verification(state, &txn, &user).await?;
        Ok(())
    })?;
    state.mail_wake.notify_one();
    Ok(())
}

pub async fn verify_email(state: &Deps, token: &str) -> AppResult<user::Model> {
    db::transaction!(&state.db, |txn| {
        let user = consume_one_time_token(&txn, TokenPurpose::VerifyEmail, token).await?;
        let user = if user.email_verified_at.is_none() {
            let mut active = user.into_active_model();
            active.email_verified_at = Set(Some(Utc::now()));
            active.updated_at = Set(Utc::now());
            active.update(&txn).await?
        } else {
            user
        };
        Ok(user)
    })
}

/// Mails a reset link if the account exists; answers the same either way.
pub async fn request_password_reset(state: &Deps, client: &ClientInfo, email: &str) -> AppResult<()> {
    let email = Email::parse(email).map_err(|err| AppError::BadInput(vec![err]))?;
    state.limiter.hit(&format!("reset:addr:{}", client.address_key()), state.config.rate_limit_per_address).await?;
    state.limiter.hit(&format!("reset:acct:{}", email.as_str()), state.config.rate_limit_per_account).await?;
    db::transaction!(&state.db, |txn| {
        let user = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(&txn).await?;
        let Some(user) = user.filter(|u| domain::status_of(u, Utc::now()) != UserStatus::Banned) else {
            return Ok(());
        };
        let token = create_one_time_token(&txn, user.id, TokenPurpose::ResetPassword, Duration::hours(1)).await?;
        let body = format!(
            "Hello {},\n\nsomeone asked to reset your XP-R password. If it was you:\n{}/reset-password?token={token}\n\n\
             Or paste this code: {token}\nIt works once, for one hour. If it wasn't you, ignore this mail.\n",
            user.display_name, state.config.public_url
        );
        mail::enqueue(&txn, &user.email, "Reset your password", body).await?;
        Ok(())
    })?;
    state.mail_wake.notify_one();
    Ok(())
}

/// Sets a new password from a reset token and ends every session: whoever
/// knew the old password is signed out.
pub async fn reset_password(state: &Deps, token: &str, new_password: &str) -> AppResult<()> {
    let password = Password::parse(new_password, "newPassword", &[]).map_err(|err| AppError::BadInput(vec![err]))?;
    let hash = hash_password(password).await?;
    db::transaction!(&state.db, |txn| {
        let user = consume_one_time_token(&txn, TokenPurpose::ResetPassword, token).await?;
        let user_id = user.id;
        let mut active = user.into_active_model();
        active.password_hash = Set(hash.clone());
        // The mailbox owner proved control of the address.
        if active.email_verified_at.as_ref().is_none() {
            active.email_verified_at = Set(Some(Utc::now()));
        }
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        revoke_sessions(&txn, user_id, Expr::value(true)).await?;
        Ok(())
    })
}
