//! A user's standing: roles set by admins, suspensions and bans by moderators, and reputation earned by merges.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, sea_query::Expr,
};
use uuid::Uuid;
use xpr_entity::{api_token, user};

use crate::modules::identity::{
    domain::{self, Role, Scope, UserStatus},
    selectors::{self},
};
use crate::{
    auth::{
        Viewer,
        policy::{self, Action},
    },
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::UserId,
    modules::{
        moderation::{
            self,
            domain::{ModerationActionKind, TargetType},
        },
        versioning,
    },
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
        moderation::service::record(
            &txn,
            viewer,
            ModerationActionKind::SetRole,
            (TargetType::User, target),
            Some(&role.to_value()),
        )
        .await?;
        // Their open sockets were authorized with the old role: they close and reconnect.
        credentials_changed(&txn, UserId(user.id)).await?;
        Ok(user)
    })
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
        policy::check(viewer, Action::ChangeStatus { target: user.role, is_self: viewer.uuid == target })?;
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
        active.status = Set(status);
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
