//! Moderation reads: the log and reports (newest first), and the blocklist.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use xpr_entity::{blocklist, moderation_log, report};

use super::domain::ReportStatus;
use crate::audit::{ModerationActionKind, TargetType};
use crate::{
    error::AppResult,
    ids::UserId,
    paging::{self, Page},
};

#[derive(Default)]
pub struct LogFilter {
    pub actor: Option<UserId>,
    pub action: Option<ModerationActionKind>,
    pub target_type: Option<TargetType>,
    pub target: Option<Uuid>,
}

pub async fn log(
    db: &DatabaseConnection,
    filter: LogFilter,
    page: &Page,
) -> AppResult<(Vec<moderation_log::Model>, bool)> {
    use moderation_log::Column;
    let mut select = moderation_log::Entity::find();
    if let Some(actor) = filter.actor {
        select = select.filter(Column::ActorId.eq(actor));
    }
    if let Some(action) = filter.action {
        select = select.filter(Column::Action.eq(action));
    }
    if let Some(target_type) = filter.target_type {
        select = select.filter(Column::TargetType.eq(target_type));
    }
    if let Some(target) = filter.target {
        select = select.filter(Column::TargetId.eq(target));
    }
    paging::newest_first(db, select, Column::Id, Column::Uuid, page).await
}

/// Reports with `status`; only those of `reporter` when given.
pub async fn reports(
    db: &DatabaseConnection,
    status: Option<ReportStatus>,
    reporter: Option<UserId>,
    page: &Page,
) -> AppResult<(Vec<report::Model>, bool)> {
    let mut select = report::Entity::find();
    if let Some(reporter) = reporter {
        select = select.filter(report::Column::ReporterId.eq(reporter));
    }
    if let Some(status) = status {
        select = select.filter(report::Column::Status.eq(status));
    }
    paging::newest_first(db, select, report::Column::Id, report::Column::Uuid, page).await
}

pub async fn blocklist(db: &DatabaseConnection) -> AppResult<Vec<blocklist::Model>> {
    Ok(blocklist::Entity::find()
        .order_by_asc(blocklist::Column::Kind)
        .order_by_asc(blocklist::Column::Value)
        .all(db)
        .await?)
}
