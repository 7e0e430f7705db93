//! Moderation writes: the log every moderator and admin action appends to, the
//! blocklist (admins), and reports (verified users file, moderators resolve).

use chrono::Utc;
use sea_orm::{ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;
use xpr_entity::{blocklist, report};

use super::domain::{ReportStatus, ReportTarget};
use crate::audit::{ModerationActionKind, TargetType, record};
use crate::modules::content::checks::BlocklistKind;
use crate::realtime::{self, NotificationKind};
use crate::{
    auth::{
        Viewer,
        policy::{self, Action},
    },
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::new_uuid,
    modules::{
        content::selectors as content_selectors,
        identity::{domain::text, selectors as identity_selectors},
        reviews::selectors as reviews_selectors,
        versioning::selectors as versioning_selectors,
    },
};

pub async fn add_blocklist_entry(
    state: &Deps,
    viewer: &Viewer,
    kind: BlocklistKind,
    value: &str,
) -> AppResult<blocklist::Model> {
    policy::check(viewer, Action::ManageBlocklist)?;
    let value = text("value", value, 2, 200).map_err(|e| AppError::BadInput(vec![e]))?.to_lowercase();
    if kind == BlocklistKind::LinkDomain
        && (value.contains(['/', ':', ' ', '@']) || !value.contains('.') || value.starts_with('.'))
    {
        return Err(AppError::bad_input("value", "must be a domain name such as `example.com`"));
    }
    db::transaction!(&state.db, |txn| {
        let row = blocklist::ActiveModel {
            uuid: Set(new_uuid()),
            kind: Set(kind),
            value: Set(value.clone()),
            created_by: Set(viewer.id),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            viewer,
            ModerationActionKind::AddBlocklistEntry,
            (TargetType::Blocklist, row.uuid),
            Some(&row.value),
        )
        .await?;
        Ok(row)
    })
}

pub async fn remove_blocklist_entry(state: &Deps, viewer: &Viewer, id: Uuid) -> AppResult<()> {
    policy::check(viewer, Action::ManageBlocklist)?;
    db::transaction!(&state.db, |txn| {
        let row = blocklist::Entity::find()
            .filter(blocklist::Column::Uuid.eq(id))
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("blocklist entry"))?;
        blocklist::Entity::delete_by_id(row.id).exec(&txn).await?;
        record(&txn, viewer, ModerationActionKind::RemoveBlocklistEntry, (TargetType::Blocklist, id), Some(&row.value))
            .await?;
        Ok(())
    })
}

/// Whether the reported thing exists and the reporter may report it.
async fn check_target(state: &Deps, viewer: &Viewer, target: ReportTarget, id: Uuid) -> AppResult<()> {
    let db = &state.db;
    let exists = match target {
        ReportTarget::Entry => content_selectors::entry_by_uuid(db, id).await?.is_some(),
        ReportTarget::Revision => versioning_selectors::revision_meta_by_uuid(db, id).await?.is_some(),
        ReportTarget::User if id == viewer.uuid => {
            return Err(AppError::bad_input("targetId", "you can't report yourself"));
        }
        ReportTarget::User => identity_selectors::visible_user_by_uuid(db, Some(viewer), id).await?.is_some(),
        ReportTarget::Review => reviews_selectors::visible_review(db, Some(viewer), id).await?.is_some(),
    };
    if exists { Ok(()) } else { Err(AppError::not_found("report target")) }
}

pub async fn report(
    state: &Deps,
    viewer: &Viewer,
    target: ReportTarget,
    target_id: Uuid,
    reason: &str,
) -> AppResult<report::Model> {
    viewer.require_verified_writer("report")?;
    let reason = text("reason", reason, 3, 2000).map_err(|e| AppError::BadInput(vec![e]))?;
    check_target(state, viewer, target, target_id).await?;
    let inserted = report::ActiveModel {
        uuid: Set(new_uuid()),
        reporter_id: Set(viewer.id),
        target_type: Set(target),
        target_id: Set(target_id),
        reason: Set(reason),
        status: Set(ReportStatus::Open),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await;
    // The partial unique index keeps one open report per reporter and target, even under races.
    inserted.map_err(|err| match AppError::from(err) {
        AppError::Conflict(_) => AppError::Conflict("you already reported this and the report is still open".into()),
        other => other,
    })
}

/// Closes an open report, dismissed or actioned, with a note for the reporter.
pub async fn resolve_report(
    state: &Deps,
    viewer: &Viewer,
    id: Uuid,
    resolution: ReportStatus,
    note: &str,
) -> AppResult<report::Model> {
    policy::check(viewer, Action::Moderate)?;
    if resolution == ReportStatus::Open {
        return Err(AppError::bad_input("resolution", "must be DISMISSED or ACTIONED"));
    }
    let note = text("note", note, 3, 2000).map_err(|e| AppError::BadInput(vec![e]))?;
    db::transaction!(&state.db, |txn| {
        let found = report::Entity::find()
            .filter(report::Column::Uuid.eq(id))
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::not_found("report"))?;
        let updated = report::Entity::update_many()
            .col_expr(report::Column::Status, Expr::value(resolution))
            .col_expr(report::Column::ResolutionNote, Expr::value(note.clone()))
            .col_expr(report::Column::ResolvedBy, Expr::value(viewer.id))
            .col_expr(report::Column::ResolvedAt, Expr::value(Utc::now()))
            .filter(report::Column::Id.eq(found.id))
            .filter(report::Column::Status.eq(ReportStatus::Open))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(AppError::Conflict("this report is already resolved".into()));
        }
        record(&txn, viewer, ModerationActionKind::ResolveReport, (TargetType::Report, id), Some(&note)).await?;
        let note = realtime::Note {
            user: found.reporter_id,
            kind: NotificationKind::ReportResolved,
            subject: (TargetType::Report, id),
            message: format!("Your report was {}: {note}", resolution.to_value().to_lowercase()),
            actor: Some(viewer.id),
        };
        realtime::notify(&txn, vec![note]).await?;
        let resolved =
            report::Entity::find_by_id(found.id).one(&txn).await?.ok_or_else(|| AppError::not_found("report"))?;
        Ok(resolved)
    })
}
