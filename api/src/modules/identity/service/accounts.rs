//! Accounts: registration (and the first admin from the command line), the profile and the password.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use xpr_entity::{session, user};

use crate::modules::identity::domain::{self, Email, Handle, Password, Role, Scope, UserStatus};
use crate::{
    auth::{ClientInfo, Viewer},
    db,
    deps::Deps,
    error::{AppError, AppResult, FieldError},
    ids::new_uuid,
};

use super::{
    collect, hash_password, recovery::send_verification, revoke_sessions, sessions::SignedIn, sessions::start_session,
    verify_password,
};

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
        role: Set(role),
        status: Set(UserStatus::Active),
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

/// Changes the password and signs out every other session.
pub async fn change_password(state: &Deps, viewer: &Viewer, current: String, new_password: &str) -> AppResult<()> {
    let current_session = viewer.require_session()?;
    state.limiter.hit(&format!("login:acct:{}", viewer.uuid), state.config.rate_limit_per_account).await?;
    let user = user::Entity::find_by_id(viewer.id).one(&state.db).await?.ok_or_else(|| AppError::not_found("user"))?;
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
    let user = user::Entity::find_by_id(viewer.id).one(&state.db).await?.ok_or_else(|| AppError::not_found("user"))?;
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
