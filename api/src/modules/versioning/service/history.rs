//! Reverting an entry to an earlier revision, previewing a change, and archiving old snapshots.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, JoinType, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::Value;
use uuid::Uuid;
use xpr_entity::{change, entry, revision, revision_archive, submission};

use crate::audit::{ModerationActionKind as Action, TargetType, record};
use crate::modules::versioning::{
    domain::{ChangeOp, Patch, Snapshot, SubmissionStatus},
    merge::{self, Conflict},
    selectors,
};
use crate::{
    auth::{Viewer, policy},
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{ChangeId, RevisionId, SubmissionId, new_uuid},
    modules::{
        content::selectors as content_selectors,
        identity::{self},
    },
};

use super::{
    changes::insert_submission, kind_by_id, merging::patch_of, submit::automatic_merge, submit::check_limits,
    submit::enter_queue, submit::merge_if, submit::run_checks,
};

/// Opens a submission that restores an entry to an older revision (restoring
/// a deleted entry undeletes it) and submits it as `submit` does: per-user
/// limits, automatic checks, the queue event, and a trusted author's merge.
pub async fn revert_entry(
    state: &Deps,
    viewer: &Viewer,
    entry: Uuid,
    to: i32,
    reason: &str,
) -> AppResult<submission::Model> {
    viewer.require_verified_writer("revert entries")?;
    let reason =
        crate::modules::identity::domain::text("reason", reason, 3, 200).map_err(|e| AppError::BadInput(vec![e]))?;
    let entry =
        content_selectors::entry_by_uuid(&state.db, entry).await?.ok_or_else(|| AppError::not_found("entry"))?;
    let target = selectors::revision_by_number(&state.db, entry.id, to)
        .await?
        .ok_or_else(|| AppError::bad_input("toRevision", "no such revision of this entry"))?;
    let current_id = entry.current_revision_id.unwrap_or_default();
    let current = selectors::snapshot_by_id(&state.db, current_id).await?;
    let patch = Patch::between(&current, &selectors::snapshot(&state.db, &target).await?);
    if patch.is_empty() {
        return Err(AppError::bad_input("toRevision", "the entry already looks like that revision"));
    }
    let now = Utc::now();
    // Built directly rather than through `prepare`: a revert may restore a deleted entry.
    let change = change::Model {
        id: ChangeId(0),
        uuid: new_uuid(),
        submission_id: SubmissionId(0),
        position: 0,
        op: ChangeOp::Update,
        kind_id: None,
        entry_id: Some(entry.id),
        base_revision_id: Some(current_id),
        patch: Value::Object(patch.0),
        conflicts: None,
        conflict_revision_id: None,
        resolutions: None,
        created_at: now,
        updated_at: now,
    };
    check_limits(&state.db, state, viewer, None).await?;
    let warnings = run_checks(&state.db, std::slice::from_ref(&change)).await?;
    let automatic = automatic_merge(state, viewer, &warnings).await?;
    let mut row = change.into_active_model().reset_all();
    row.id = sea_orm::ActiveValue::NotSet;
    let title: String = format!("Revert {} to revision {to}", entry.title).chars().take(200).collect();
    db::transaction!(&state.db, |txn| {
        identity::service::lock_user(&txn, viewer.id).await?;
        let submission =
            insert_submission(&txn, viewer, title.clone(), &reason, vec![row.clone()], SubmissionStatus::Pending)
                .await?;
        check_limits(&txn, state, viewer, Some(submission.id)).await?;
        let pending = enter_queue(&txn, submission, &warnings).await?;
        if policy::allows(Some(viewer), policy::Action::Moderate) {
            record(&txn, viewer, Action::RevertEntry, (TargetType::Entry, entry.uuid), Some(&reason)).await?;
        }
        let submission = merge_if(&txn, automatic.as_ref(), viewer, pending).await?;
        Ok(submission)
    })
}

/// How the change's entry would look if merged now (a preview).
pub async fn preview(db: &impl ConnectionTrait, change: &change::Model) -> AppResult<Result<Snapshot, Vec<Conflict>>> {
    let patch = patch_of(change);
    match (change.entry_id, change.base_revision_id) {
        (Some(entry_id), Some(base_id)) => {
            let entry =
                entry::Entity::find_by_id(entry_id).one(db).await?.ok_or_else(|| AppError::not_found("entry"))?;
            let kind = kind_by_id(db, entry.kind_id).await?;
            let base = selectors::snapshot_by_id(db, base_id).await?;
            let theirs = selectors::snapshot_by_id(db, entry.current_revision_id.unwrap_or_default()).await?;
            Ok(merge::merge(&base, &theirs, &patch, kind.merge_policy))
        }
        _ => Ok(patch
            .apply(&Snapshot::default())
            .map_err(|(f, _)| vec![Conflict { field: f, base: Value::Null, ours: Value::Null, theirs: Value::Null }])),
    }
}

/// Moves the snapshots of revisions older than `before`, beyond the newest
/// `keep` of each entry, to archive storage, `batch` revisions per
/// transaction. They stay readable through the same API, flagged `archived`.
/// Returns how many were archived; `progress` hears each batch's size.
pub async fn archive_history(
    db: &DatabaseConnection,
    before: DateTime<Utc>,
    keep: i32,
    batch: u64,
    progress: impl Fn(u64),
) -> AppResult<u64> {
    let mut total = 0;
    loop {
        let archived = db::transaction!(db, |txn| {
            let due: Vec<(RevisionId, Value)> = revision::Entity::find()
                .select_only()
                .column(revision::Column::Id)
                .column(revision::Column::Snapshot)
                .join(
                    JoinType::InnerJoin,
                    revision::Entity::belongs_to(entry::Entity)
                        .from(revision::Column::EntryId)
                        .to(entry::Column::Id)
                        .into(),
                )
                .filter(revision::Column::Archived.eq(false))
                .filter(revision::Column::CreatedAt.lt(before))
                .filter(
                    Expr::col((revision::Entity, revision::Column::Number))
                        .lte(Expr::col((entry::Entity, entry::Column::Version)).sub(keep)),
                )
                .limit(batch)
                .into_tuple()
                .all(&txn)
                .await?;
            if due.is_empty() {
                return Ok(0);
            }
            let ids: Vec<RevisionId> = due.iter().map(|(id, _)| *id).collect();
            let now = Utc::now();
            revision_archive::Entity::insert_many(due.into_iter().map(|(id, snapshot)| {
                revision_archive::ActiveModel { revision_id: Set(id), snapshot: Set(snapshot), archived_at: Set(now) }
            }))
            .exec(&txn)
            .await?;
            revision::Entity::update_many()
                .col_expr(revision::Column::Archived, Expr::value(true))
                .col_expr(revision::Column::Snapshot, Expr::value(Value::Object(Default::default())))
                .filter(revision::Column::Id.is_in(ids.clone()))
                .exec(&txn)
                .await?;
            Ok(ids.len() as u64)
        })?;
        if archived == 0 {
            return Ok(total);
        }
        total += archived;
        progress(archived);
    }
}
