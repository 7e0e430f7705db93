//! API tokens for bots and integrations: created with scopes and an expiry, shown once, revoked by their owner.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;
use xpr_entity::api_token;

use crate::modules::identity::{
    domain::{self, Scope},
    selectors::API_TOKEN_PREFIX,
};
use crate::{
    auth::{
        Viewer, hash_token,
        policy::{self, Action},
        random_secret,
    },
    db,
    deps::Deps,
    error::{AppError, AppResult, FieldError},
    ids::new_uuid,
};

use super::{collect, credentials_changed};

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
    if input.scopes.contains(&Scope::Moderate)
        && let Err(why) = policy::decide(Some(viewer), Action::GrantModerateScope)
    {
        errors.push(FieldError::new("scopes", why));
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
        user_id: Set(viewer.id),
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
            .filter(api_token::Column::UserId.eq(viewer.id))
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
