//! The moderation log, beside the modules: every module whose service lets a
//! moderator or admin act appends the action here, in the action's
//! transaction. `modules::moderation` reads it.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

pub use xpr_entity::enums::{ModerationActionKind, TargetType};

use crate::{auth::Viewer, error::AppResult, ids::new_uuid};

/// Appends an action to the moderation log; call it in the action's transaction.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Viewer,
    action: ModerationActionKind,
    target: (TargetType, Uuid),
    reason: Option<&str>,
) -> AppResult<()> {
    xpr_entity::moderation_log::ActiveModel {
        uuid: Set(new_uuid()),
        actor_id: Set(actor.id),
        action: Set(action),
        target_type: Set(target.0),
        target_id: Set(target.1),
        reason: Set(reason.map(str::to_owned)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
