//! Moderation in the API: the moderation log, reports and the blocklist.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use xpr_entity::{blocklist, moderation_log, report};

use super::{
    domain::{ReportStatus, ReportTarget},
    selectors::{self, LogFilter},
    service,
};
use crate::{
    audit::{ModerationActionKind, TargetType},
    auth::policy::{self, Action},
    error::AppResult,
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
        pagination::{self, Connection},
    },
    ids::parse_uuid,
    modules::content::checks::BlocklistKind,
    modules::identity::{graphql::User, selectors as identity_selectors},
    paging::{Cursor, Page},
};

/// One moderator or admin action. The log is append-only.
pub struct ModerationAction(moderation_log::Model);

fields::object!(ModerationAction);

#[Object(name = "ModerationAction")]
impl Fields<'_, ModerationAction> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.0.actor_id).await
    }
    // The enum fields stay nullable, as they were when the columns held strings: the schema doesn't change.
    async fn action(&self) -> Option<ModerationActionKind> {
        Some(self.0.action)
    }
    async fn target_type(&self) -> Option<TargetType> {
        Some(self.0.target_type)
    }
    async fn target_id(&self) -> ID {
        ID(self.0.target_id.to_string())
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A user's report; its reporter and moderators can read it.
pub struct Report(report::Model);

fields::object!(Report);

#[Object(name = "Report")]
impl Fields<'_, Report> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn target_type(&self) -> Option<ReportTarget> {
        Some(self.0.target_type)
    }
    async fn target_id(&self) -> ID {
        ID(self.0.target_id.to_string())
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn status(&self) -> Option<ReportStatus> {
        Some(self.0.status)
    }
    async fn reporter(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.0.reporter_id).await
    }
    /// The moderator's note, for the reporter.
    async fn resolution_note(&self) -> Option<&str> {
        self.0.resolution_note.as_deref()
    }
    async fn resolved_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        match self.0.resolved_by {
            Some(id) => User::load(ctx, id).await,
            None => Ok(None),
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
}

/// A blocked term or link domain.
pub struct BlocklistEntry(blocklist::Model);

fields::object!(BlocklistEntry);

#[Object(name = "BlocklistEntry")]
impl Fields<'_, BlocklistEntry> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn kind(&self) -> Option<BlocklistKind> {
        Some(self.0.kind)
    }
    async fn value(&self) -> &str {
        &self.0.value
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject, Default)]
pub struct ModerationLogFilter {
    /// Handle of the moderator or admin who acted.
    actor: Option<String>,
    action: Option<ModerationActionKind>,
    target_type: Option<TargetType>,
    target_id: Option<ID>,
}

#[derive(InputObject)]
pub struct ReportInput {
    target_type: ReportTarget,
    target_id: ID,
    reason: String,
}

#[derive(Default)]
pub struct ModerationQuery;

#[Object]
impl ModerationQuery {
    /// Moderators: every moderator and admin action, newest first.
    async fn moderation_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<ModerationLogFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<ModerationAction>> {
        policy::check(ctx.auth().require()?, Action::Moderate)?;
        let page = Page::parse(first, after)?;
        let filter = filter.unwrap_or_default();
        let db = &ctx.state().db;
        let actor = match filter.actor {
            Some(handle) => match identity_selectors::visible_user_by_handle(db, ctx.auth().viewer(), &handle).await? {
                Some(user) => Some(user.id),
                None => return Ok(Connection::empty()),
            },
            None => None,
        };
        let target = filter.target_id.map(|id| parse_uuid("filter.targetId", &id)).transpose()?;
        let filter = LogFilter { actor, action: filter.action, target_type: filter.target_type, target };
        let (rows, has_next) = selectors::log(db, filter, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, |r| Cursor::new(None, r.uuid), ModerationAction))
    }

    /// Reports, newest first: all of them for moderators, the viewer's own for everyone else.
    async fn reports(
        &self,
        ctx: &Context<'_>,
        status: Option<ReportStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Report>> {
        let viewer = ctx.auth().require()?;
        let page = Page::parse(first, after)?;
        let reporter = (!policy::sees_everything(Some(viewer))).then_some(viewer.id);
        let (rows, has_next) = selectors::reports(&ctx.state().db, status, reporter, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, |r| Cursor::new(None, r.uuid), Report))
    }

    /// Moderators: the blocked terms and link domains.
    async fn blocklist(&self, ctx: &Context<'_>) -> AppResult<Vec<BlocklistEntry>> {
        policy::check(ctx.auth().require()?, Action::Moderate)?;
        Ok(selectors::blocklist(&ctx.state().db).await?.into_iter().map(BlocklistEntry).collect())
    }
}

#[derive(Default)]
pub struct ModerationMutation;

#[Object]
impl ModerationMutation {
    /// Reports an entry, revision, review or user to the moderators (verified email required).
    async fn create_report(&self, ctx: &Context<'_>, input: ReportInput) -> AppResult<Report> {
        let target = parse_uuid("input.targetId", &input.target_id)?;
        let viewer = ctx.auth().require()?;
        Ok(Report(service::report(ctx.state(), viewer, input.target_type, target, &input.reason).await?))
    }

    /// Moderators: closes an open report as DISMISSED or ACTIONED, with a note the reporter sees.
    async fn resolve_report(
        &self,
        ctx: &Context<'_>,
        report_id: ID,
        resolution: ReportStatus,
        note: String,
    ) -> AppResult<Report> {
        let id = parse_uuid("reportId", &report_id)?;
        Ok(Report(service::resolve_report(ctx.state(), ctx.auth().require()?, id, resolution, &note).await?))
    }

    /// Admins: blocks a term or a link domain in entry text.
    async fn add_blocklist_entry(
        &self,
        ctx: &Context<'_>,
        kind: BlocklistKind,
        value: String,
    ) -> AppResult<BlocklistEntry> {
        Ok(BlocklistEntry(service::add_blocklist_entry(ctx.state(), ctx.auth().require()?, kind, &value).await?))
    }

    /// Admins.
    async fn remove_blocklist_entry(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        let id = parse_uuid("id", &id)?;
        service::remove_blocklist_entry(ctx.state(), ctx.auth().require()?, id).await?;
        Ok(true)
    }
}
