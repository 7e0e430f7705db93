//! A user's standing: roles set by admins, reputation earned by merges, and
//! the sessions a ban ends (suspensions and bans are moderation's).

use chrono::Utc;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, sea_query::Expr,
};
use uuid::Uuid;
use xpr_entity::{api_token, user};

use crate::modules::identity::{
    domain::{Role, Scope},
    selectors::{self},
};
use crate::{
    audit::{self, ModerationActionKind, TargetType},
    auth::{
        Viewer,
        policy::{self, Action},
    },
    db,
    deps::Deps,
    error::AppResult,
    ids::UserId,
};

use super::{credentials_changed, revoke_sessions};

/// Sets a user's role; the user's open WebSockets close (4412) so that their
/// subscriptions are authorized again with the new role.
pub async fn set_role(state: &Deps, viewer: &Viewer, target: Uuid, role: Role) -> AppResult<user::Model> {
    viewer.require_scope(Scope::Moderate)?;
    policy::check(viewer, Action::SetRole { is_self: viewer.uuid == target })?;
    db::transaction!(&state.db, |txn| {
        let user = selectors::user_by_uuid(&txn, target).await?;
        let mut active = user.into_active_model();
        active.role = Set(role);
        active.updated_at = Set(Utc::now());
        let user = active.update(&txn).await?;
        audit::record(&txn, viewer, ModerationActionKind::SetRole, (TargetType::User, target), Some(&role.to_value()))
            .await?;
        // Their open sockets were authorized with the old role: they close and reconnect.
        credentials_changed(&txn, user.id).await?;
        Ok(user)
    })
}

/// Adds `delta` to a user's reputation, which never drops below zero.
pub async fn add_reputation(db: &impl ConnectionTrait, user: UserId, delta: i32) -> AppResult<()> {
    // `delta` is one of our constants, never client input.
    let clamped = format!("CASE WHEN reputation + ({delta}) < 0 THEN 0 ELSE reputation + ({delta}) END");
    user::Entity::update_many()
        .col_expr(user::Column::Reputation, Expr::cust(clamped))
        .filter(user::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session and API token of a banned account.
pub async fn revoke_all(db: &impl ConnectionTrait, user: UserId) -> AppResult<()> {
    revoke_sessions(db, user, Expr::value(true)).await?;
    api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_token::Column::UserId.eq(user))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
