//! The moderation log, beside the modules: every module whose service lets a
//! moderator or admin act appends the action here, in the action's
//! transaction. `modules::moderation` reads it.

use async_graphql::Enum;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

use crate::{auth::Viewer, enums, error::AppResult, ids::new_uuid};

/// What a moderator or admin did.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ModerationActionKind {
    ClaimSubmission,
    ReleaseClaim,
    ApproveSubmission,
    RejectSubmission,
    RequestChanges,
    RevertEntry,
    HideReview,
    ShowReview,
    SetRole,
    SuspendUser,
    BanUser,
    ReinstateUser,
    ResolveReport,
    AddBlocklistEntry,
    RemoveBlocklistEntry,
    CreateEntryKind,
}

/// What a log entry or a report is about.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TargetType {
    Submission,
    Entry,
    Revision,
    Review,
    User,
    Report,
    Blocklist,
    EntryKind,
}

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
        actor_id: Set(actor.id.0),
        action: Set(enums::name(action).to_owned()),
        target_type: Set(enums::name(target.0).to_owned()),
        target_id: Set(target.1),
        reason: Set(reason.map(str::to_owned)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
