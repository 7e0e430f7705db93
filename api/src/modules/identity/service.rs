//! Identity writes: accounts, sign-in, sessions with rotating refresh tokens,
//! API tokens, one-time tokens by mail, profile, roles and account status.
//! Every permission decision is made here (with the pure rules in `domain`).

use std::sync::LazyLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;
use xpr_entity::{api_token, one_time_token, refresh_token, session, user};

use super::{
    domain::{self, Email, Handle, Password, Role, Scope, UserStatus},
    selectors::{self, API_TOKEN_PREFIX},
};
use crate::{
    auth::{ClientInfo, Viewer, hash_token, random_secret},
    db,
    deps::Deps,
    error::{AppError, AppResult, FieldError},
    ids::{UserId, new_uuid},
    mail,
    modules::{
        moderation::{
            self,
            domain::{ModerationActionKind, TargetType},
        },
        realtime::{self, domain::AUTH_CHANNEL},
        versioning,
    },
};

const VERIFY_EMAIL: &str = "verify_email";
const RESET_PASSWORD: &str = "reset_password";

/// What a successful sign-in returns. The refresh token is shown only here.
pub struct SignedIn {
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub user: user::Model,
}

pub struct NewAccount {
    pub handle: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
}

pub struct ProfileChange {
    pub display_name: Option<String>,
    /// `Some(None)` clears.
    pub bio: Option<String>,
    pub avatar_url: Option<Option<String>>,
}

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

pub async fn register(state: &Deps, client: &ClientInfo, input: NewAccount) -> AppResult<SignedIn> {
    state.limiter.hit(&format!("register:{}", client.address_key()), state.config.rate_limit_per_address).await?;
    let new = new_user(state, input, Role::User).await?;
    let signed_in = db::transaction!(&state.db, |txn| {
        let user = insert_user(&txn, new.clone()).await?;
        send_verification(state, &txn, &user).await?;
        let signed_in = start_session(state, &txn, user.clone(), client).await?;
        Ok(signed_in)
    })?;
    state.mail_wake.notify_one();
    Ok(signed_in)
}

/// Creates an administrator whose email counts as verified (the `create-admin` command).
pub async fn create_admin(state: &Deps, handle: &str, email: &str, password: &str) -> AppResult<user::Model> {
    let input =
        NewAccount { handle: handle.into(), email: email.into(), password: password.into(), display_name: None };
    let mut new = new_user(state, input, Role::Admin).await?;
    new.email_verified_at = Set(Some(Utc::now()));
    insert_user(&state.db, new).await
}

/// Validates a new account, checks that handle and email are free, and hashes
/// the password (before any transaction opens: hashing is slow on purpose).
async fn new_user(state: &Deps, input: NewAccount, role: Role) -> AppResult<user::ActiveModel> {
    let mut errors = Vec::new();
    let handle = collect(&mut errors, Handle::parse(&input.handle));
    let email = collect(&mut errors, Email::parse(&input.email));
    let password = collect(&mut errors, Password::parse(&input.password, "password", &[&input.handle, &input.email]));
    let display_name = match &input.display_name {
        Some(name) => collect(&mut errors, domain::text("displayName", name, 1, 64)),
        None => handle.as_ref().map(|h| h.as_str().to_owned()),
    };
    let (Some(handle), Some(email), Some(password), Some(display_name)) = (handle, email, password, display_name)
    else {
        return Err(AppError::BadInput(errors));
    };
    ensure_unique(&state.db, &handle, &email).await?;
    let now = Utc::now();
    Ok(user::ActiveModel {
        uuid: Set(new_uuid()),
        handle: Set(handle.as_str().to_owned()),
        handle_key: Set(handle.key()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(hash_password(password).await?),
        display_name: Set(display_name),
        bio: Set(String::new()),
        role: Set(role.as_str().to_owned()),
        status: Set(UserStatus::Active.as_str().to_owned()),
        reputation: Set(0),
        last_seen_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
}

async fn insert_user(db: &impl ConnectionTrait, new: user::ActiveModel) -> AppResult<user::Model> {
    new.insert(db).await.map_err(|err| match AppError::from(err) {
        // Lost a race with a registration of the same handle or email.
        AppError::Conflict(_) => AppError::BadInput(vec![
            FieldError::new("handle", "may already be taken"),
            FieldError::new("email", "may already be registered"),
        ]),
        other => other,
    })
}

async fn ensure_unique(db: &impl ConnectionTrait, handle: &Handle, email: &Email) -> AppResult<()> {
    let mut errors = Vec::new();
    let taken = |column: user::Column, value: String| user::Entity::find().filter(column.eq(value)).one(db);
    if taken(user::Column::HandleKey, handle.key()).await?.is_some() {
        errors.push(FieldError::new("handle", "is already taken"));
    }
    if taken(user::Column::Email, email.as_str().to_owned()).await?.is_some() {
        errors.push(FieldError::new("email", "is already registered"));
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::BadInput(errors)) }
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
    if UserStatus::of(&user, Utc::now()) == UserStatus::Banned {
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

async fn start_session(
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

async fn issue_refresh_token(txn: &DatabaseTransaction, session_id: i64) -> AppResult<String> {
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
            revoke_sessions(&txn, UserId(session.user_id), session::Column::Id.eq(session.id)).await?;
            tracing::warn!(session = %session.uuid, "refresh token reused: session revoked");
            return Ok(None);
        }
        let user =
            user::Entity::find_by_id(session.user_id).one(&txn).await?.ok_or_else(|| refused("account not found"))?;
        if UserStatus::of(&user, now) == UserStatus::Banned {
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

/// Revokes sessions of `user` and tells their open sockets to check their credentials.
async fn revoke_sessions(db: &impl ConnectionTrait, user: UserId, which: sea_orm::sea_query::Expr) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(user.0))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    credentials_changed(db, user).await
}

/// Hints every process that a user's sessions, tokens, role or status
/// changed: their WebSockets authenticate again and close if refused.
async fn credentials_changed(db: &impl ConnectionTrait, user: UserId) -> AppResult<()> {
    realtime::service::emit(db, vec![(AUTH_CHANNEL.to_owned(), serde_json::json!({ "user": user.0 }))]).await
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
            .filter(session::Column::UserId.eq(viewer.id.0))
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

async fn create_one_time_token(
    txn: &DatabaseTransaction,
    user: i64,
    purpose: &str,
    ttl: Duration,
) -> AppResult<String> {
    let token = random_secret(40);
    let now = Utc::now();
    one_time_token::ActiveModel {
        user_id: Set(user),
        purpose: Set(purpose.to_owned()),
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
async fn consume_one_time_token(txn: &DatabaseTransaction, purpose: &str, token: &str) -> AppResult<user::Model> {
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

async fn send_verification(state: &Deps, txn: &DatabaseTransaction, user: &user::Model) -> AppResult<()> {
    let token = create_one_time_token(txn, user.id, VERIFY_EMAIL, Duration::hours(48)).await?;
    let body = format!(
        "Hello {},\n\nconfirm your email address for XP-R:\n{}/verify-email?token={token}\n\nOr paste this code: {token}\nIt works once, for 48 hours.\n",
        user.display_name, state.config.public_url
    );
    mail::enqueue(txn, &user.email, "Confirm your email address", body).await
}

pub async fn resend_verification(state: &Deps, viewer: &Viewer) -> AppResult<()> {
    state.limiter.hit(&format!("verify:acct:{}", viewer.uuid), state.config.rate_limit_per_account).await?;
    db::transaction!(&state.db, |txn| {
        let user = user::Entity::find_by_id(viewer.id.0).one(&txn).await?.ok_or_else(|| AppError::not_found("user"))?;
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
        let user = consume_one_time_token(&txn, VERIFY_EMAIL, token).await?;
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
        let Some(user) = user.filter(|u| UserStatus::of(u, Utc::now()) != UserStatus::Banned) else {
            return Ok(());
        };
        let token = create_one_time_token(&txn, user.id, RESET_PASSWORD, Duration::hours(1)).await?;
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
        let user = consume_one_time_token(&txn, RESET_PASSWORD, token).await?;
        let user_id = user.id;
        let mut active = user.into_active_model();
        active.password_hash = Set(hash.clone());
        // The mailbox owner proved control of the address.
        if active.email_verified_at.as_ref().is_none() {
            active.email_verified_at = Set(Some(Utc::now()));
        }
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        revoke_sessions(&txn, UserId(user_id), Expr::value(true)).await?;
        Ok(())
    })
}

/// Changes the password and signs out every other session.
pub async fn change_password(state: &Deps, viewer: &Viewer, current: String, new_password: &str) -> AppResult<()> {
    let current_session = viewer.require_session()?;
    state.limiter.hit(&format!("login:acct:{}", viewer.uuid), state.config.rate_limit_per_account).await?;
    let user =
        user::Entity::find_by_id(viewer.id.0).one(&state.db).await?.ok_or_else(|| AppError::not_found("user"))?;
    if !verify_password(current, Some(user.password_hash.clone())).await? {
        return Err(AppError::bad_input("currentPassword", "is not your current password"));
    }
    let password = Password::parse(new_password, "newPassword", &[&user.handle, &user.email])
        .map_err(|err| AppError::BadInput(vec![err]))?;
    let hash = hash_password(password).await?;
    db::transaction!(&state.db, |txn| {
        let mut active = user.clone().into_active_model();
        active.password_hash = Set(hash.clone());
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?;
        revoke_sessions(&txn, viewer.id, session::Column::Id.ne(current_session)).await?;
        Ok(())
    })
}

pub async fn update_profile(state: &Deps, viewer: &Viewer, change: ProfileChange) -> AppResult<user::Model> {
    viewer.require_scope(Scope::Write)?;
    if viewer.suspended {
        return Err(AppError::forbidden("your account is suspended"));
    }
    let mut errors = Vec::new();
    let display_name = change.display_name.map(|name| collect(&mut errors, domain::text("displayName", &name, 1, 64)));
    let bio = change.bio.map(|bio| collect(&mut errors, domain::text("bio", &bio, 0, 2000)));
    let avatar_url = change.avatar_url.map(|url| url.map(|url| collect(&mut errors, domain::url("avatarUrl", &url))));
    if !errors.is_empty() {
        return Err(AppError::BadInput(errors));
    }
    let user =
        user::Entity::find_by_id(viewer.id.0).one(&state.db).await?.ok_or_else(|| AppError::not_found("user"))?;
    let mut active = user.into_active_model();
    if let Some(Some(name)) = display_name {
        active.display_name = Set(name);
    }
    if let Some(Some(bio)) = bio {
        active.bio = Set(bio);
    }
    if let Some(url) = avatar_url {
        active.avatar_url = Set(url.flatten());
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(&state.db).await?)
}

pub struct NewApiToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates a personal API token; the secret is returned once and only its hash is kept.
pub async fn create_api_token(
    state: &Deps,
    viewer: &Viewer,
    input: NewApiToken,
) -> AppResult<(String, api_token::Model)> {
    viewer.require_session()?;
    let mut errors = Vec::new();
    let name = collect(&mut errors, domain::text("name", &input.name, 1, 64));
    if input.scopes.is_empty() {
        errors.push(FieldError::new("scopes", "name at least one scope"));
    }
    if input.scopes.contains(&Scope::Moderate) && !viewer.role.is_moderator() {
        errors.push(FieldError::new("scopes", "only moderators and admins can grant `moderate`"));
    }
    if input.expires_at.is_some_and(|at| at <= Utc::now()) {
        errors.push(FieldError::new("expiresAt", "must be in the future"));
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return Err(AppError::BadInput(errors));
    };
    let mut scopes: Vec<&str> = input.scopes.iter().map(|s| s.as_str()).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let secret = format!("{API_TOKEN_PREFIX}{}", random_secret(40));
    let token = api_token::ActiveModel {
        uuid: Set(new_uuid()),
        user_id: Set(viewer.id.0),
        name: Set(name),
        token_hash: Set(hash_token(&secret)),
        token_prefix: Set(secret.chars().take(10).collect()),
        scopes: Set(scopes.join(" ")),
        created_at: Set(Utc::now()),
        expires_at: Set(input.expires_at),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok((secret, token))
}

pub async fn revoke_api_token(state: &Deps, viewer: &Viewer, token: Uuid) -> AppResult<()> {
    viewer.require_session()?;
    db::transaction!(&state.db, |txn| {
        let result = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(api_token::Column::Uuid.eq(token))
            .filter(api_token::Column::UserId.eq(viewer.id.0))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            return Err(AppError::not_found("API token"));
        }
        credentials_changed(&txn, viewer.id).await?;
        Ok(())
    })
}

/// Sets a user's role; the user's open WebSockets close (4412) so that their
/// subscriptions are authorized again with the new role.
pub async fn set_role(state: &Deps, viewer: &Viewer, target: Uuid, role: Role) -> AppResult<user::Model> {
    viewer.require_scope(Scope::Moderate)?;
    domain::can_set_role(viewer.role, viewer.uuid == target).map_err(AppError::forbidden)?;
    db::transaction!(&state.db, |txn| {
        let user = selectors::user_by_uuid(&txn, target).await?;
        let mut active = user.into_active_model();
        active.role = Set(role.as_str().to_owned());
        active.updated_at = Set(Utc::now());
        let user = active.update(&txn).await?;
        moderation::service::record(
            &txn,
            viewer,
            ModerationActionKind::SetRole,
            (TargetType::User, target),
            Some(role.as_str()),
        )
        .await?;
        // Their open sockets were authorized with the old role: they close and reconnect.
        credentials_changed(&txn, UserId(user.id)).await?;
        Ok(user)
    })
}

/// Locks a user's row until the transaction ends, so that one user's writes
/// checking per-user limits run one after the other and each counts what the
/// previous ones committed (PostgreSQL; SQLite has a single writer anyway).
/// Take it before other rows, as a ban does, so lock order stays the same.
pub async fn lock_user(txn: &DatabaseTransaction, user: UserId) -> AppResult<()> {
    user::Entity::find_by_id(user.0).lock_exclusive().one(txn).await?.ok_or_else(|| AppError::not_found("user"))?;
    Ok(())
}

/// Adds `delta` to a user's reputation, which never drops below zero.
pub async fn add_reputation(db: &impl ConnectionTrait, user: UserId, delta: i32) -> AppResult<()> {
    // `delta` is one of our constants, never client input.
    let clamped = format!("CASE WHEN reputation + ({delta}) < 0 THEN 0 ELSE reputation + ({delta}) END");
    user::Entity::update_many()
        .col_expr(user::Column::Reputation, Expr::cust(clamped))
        .filter(user::Column::Id.eq(user.0))
        .exec(db)
        .await?;
    Ok(())
}

/// A status change decided by a moderator or admin; without `until` it lasts until reinstated.
pub enum StatusChange {
    Suspend { until: Option<DateTime<Utc>> },
    Ban { until: Option<DateTime<Utc>> },
    Reinstate,
}

/// Suspends, bans or reinstates a user, with a reason. A ban also ends every
/// session and API token of the account.
pub async fn change_status(
    state: &Deps,
    viewer: &Viewer,
    target: Uuid,
    change: StatusChange,
    reason: &str,
) -> AppResult<user::Model> {
    viewer.require_scope(Scope::Moderate)?;
    let reason = domain::text("reason", reason, 3, 1000).map_err(|err| AppError::BadInput(vec![err]))?;
    db::transaction!(&state.db, |txn| {
        let user = selectors::user_by_uuid(&txn, target).await?;
        let target_role = Role::parse(&user.role).unwrap_or(Role::User);
        domain::can_change_status(viewer.role, target_role, viewer.uuid == target).map_err(AppError::forbidden)?;
        let user_id = user.id;
        let mut active = user.into_active_model();
        let (status, until, action) = match change {
            StatusChange::Suspend { until: Some(until) } | StatusChange::Ban { until: Some(until) }
                if until <= Utc::now() =>
            {
                return Err(AppError::bad_input("until", "must be in the future"));
            }
            StatusChange::Suspend { until } => (UserStatus::Suspended, until, ModerationActionKind::SuspendUser),
            StatusChange::Ban { until } => (UserStatus::Banned, until, ModerationActionKind::BanUser),
            StatusChange::Reinstate => (UserStatus::Active, None, ModerationActionKind::ReinstateUser),
        };
        active.status = Set(status.as_str().to_owned());
        active.suspended_until = Set(until);
        active.status_reason = Set(Some(reason.clone()));
        active.updated_at = Set(Utc::now());
        let user = active.update(&txn).await?;
        if status == UserStatus::Banned {
            revoke_sessions(&txn, UserId(user_id), Expr::value(true)).await?;
            api_token::Entity::update_many()
                .col_expr(api_token::Column::RevokedAt, Expr::value(Utc::now()))
                .filter(api_token::Column::UserId.eq(user_id))
                .filter(api_token::Column::RevokedAt.is_null())
                .exec(&txn)
                .await?;
            versioning::service::withdraw_all_of(&txn, UserId(user_id)).await?;
        }
        moderation::service::record(&txn, viewer, action, (TargetType::User, target), user.status_reason.as_deref())
            .await?;
        Ok(user)
    })
}
