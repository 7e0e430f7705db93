//! Suspensions, bans and reinstatements: moderators acting on a user's
//! standing. A ban also ends the user's sessions and withdraws their open
//! submissions; every change makes the user's open sockets check again.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use uuid::Uuid;
use xpr_entity::user;

use crate::{
    audit::{self, ModerationActionKind, TargetType},
    auth::{
        Viewer,
        policy::{self, Action},
    },
    db,
    deps::Deps,
    error::{AppError, AppResult},
    modules::{
        identity::{
            self,
            domain::{Scope, UserStatus},
        },
        versioning,
    },
};

/// A status change decided by a moderator or admin; without `until` it lasts until reinstated.
pub enum StatusChange {
    Suspend { until: Option<DateTime<Utc>> },
    Ban { until: Option<DateTime<Utc>> },
    Reinstate,
}

/// Suspends, bans or reinstates a user, with a reason. A ban also ends every
/// session and API token of the account (their sockets close with 4401); a
/// suspension or reinstatement closes them with 4412, so they reconnect as
/// the user now is (a socket's context says whether its user may write).
pub async fn change_status(
    state: &Deps,
    viewer: &Viewer,
    target: Uuid,
    change: StatusChange,
    reason: &str,
) -> AppResult<user::Model> {
    viewer.require_scope(Scope::Moderate)?;
    let reason = identity::domain::text("reason", reason, 3, 1000).map_err(|err| AppError::BadInput(vec![err]))?;
    db::transaction!(&state.db, |txn| {
        let user = identity::selectors::user_by_uuid(&txn, target).await?;
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
            identity::service::revoke_all(&txn, user_id).await?;
            versioning::service::withdraw_all_of(&txn, user_id).await?;
        } else {
            // Revoking the sessions told the sockets of a ban already.
            identity::service::credentials_changed(&txn, user_id).await?;
        }
        audit::record(&txn, viewer, action, (TargetType::User, target), user.status_reason.as_deref()).await?;
        Ok(user)
    })
}
