//! Writing a submission: its changes validated (`prepare`) and stored, added, edited and removed.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseTransaction, EntityTrait};
use serde_json::Value;
use uuid::Uuid;
use xpr_entity::{change, entry_kind, submission};

use crate::modules::versioning::{
    domain::{ChangeOp, Field, Patch, Snapshot, SubmissionStatus, Transition, input_path},
    selectors,
};
use crate::{
    auth::Viewer,
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{UserId, new_uuid},
    modules::{
        content::{self, selectors as content_selectors, service::Targets},
        media,
    },
};

use super::{bad, bad_field, contributor, own_submission};

/// A change as an editor describes it.
pub struct ChangeSpec {
    pub op: ChangeOp,
    /// Kind slug, for CREATE.
    pub kind: Option<String>,
    /// The entry, for UPDATE and DELETE.
    pub entry: Option<Uuid>,
    /// The revision number the editor saw, for UPDATE and DELETE.
    pub base_revision: Option<i32>,
    pub patch: Patch,
}

/// Most images on one entry.
const MAX_MEDIA: usize = 20;

/// Images a change adds must be uploads of its author (`None`: an operator's import, trusted).
pub(super) async fn check_media(
    db: &impl ConnectionTrait,
    author: Option<UserId>,
    before: &[Uuid],
    after: &[Uuid],
    prefix: &str,
) -> AppResult<()> {
    if after.len() > MAX_MEDIA {
        return Err(bad_field(prefix, Field::Media, format!("at most {MAX_MEDIA} images")));
    }
    let added: Vec<Uuid> = after.iter().filter(|m| !before.contains(m)).copied().collect();
    if let Some(author) = author {
        media::selectors::owned_ids(db, author, &added, &input_path(prefix, Field::Media.name())).await?;
    }
    Ok(())
}

/// Validates a change by `author` and builds its row (without submission and position).
pub(in crate::modules::versioning) async fn prepare(
    db: &impl ConnectionTrait,
    author: Option<UserId>,
    spec: ChangeSpec,
    prefix: &str,
) -> AppResult<change::ActiveModel> {
    if spec.patch.0.contains_key(Field::Deleted.name()) {
        return Err(bad_field(prefix, Field::Deleted, "use a DELETE change"));
    }
    let now = Utc::now();
    let mut row = change::ActiveModel {
        uuid: Set(new_uuid()),
        op: Set(spec.op),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match spec.op {
        ChangeOp::Create => {
            let kind = content_selectors::kind_by_slug(
                db,
                spec.kind.as_deref().ok_or_else(|| bad(prefix, "kind", "is required to create"))?,
            )
            .await
            .map_err(|_| bad(prefix, "kind", "no such entry kind"))?;
            let snapshot = spec.patch.apply(&Snapshot::default()).map_err(|(f, e)| bad_field(prefix, f, e))?;
            let targets = Targets::load(db, [&snapshot]).await?;
            content::service::check(&kind, &snapshot, None, prefix, &targets)?;
            check_media(db, author, &[], &snapshot.media, prefix).await?;
            if content_selectors::entry_by_slug_in(db, kind.id, &snapshot.slug).await?.is_some() {
                return Err(bad_field(prefix, Field::Slug, "is already taken in this kind"));
            }
            row.kind_id = Set(Some(kind.id));
            row.patch = Set(Value::Object(spec.patch.0));
        }
        ChangeOp::Update | ChangeOp::Delete => {
            let entry_id = spec.entry.ok_or_else(|| bad(prefix, "entryId", "is required"))?;
            let entry = content_selectors::entry_by_uuid(db, entry_id)
                .await?
                .ok_or_else(|| bad(prefix, "entryId", "no such entry"))?;
            if entry.deleted {
                return Err(bad(prefix, "entryId", "the entry is deleted; revert it to a live revision first"));
            }
            let number = spec
                .base_revision
                .ok_or_else(|| bad(prefix, "baseRevision", "is required: the revision you edited"))?;
            let base = selectors::revision_by_number(db, entry.id, number)
                .await?
                .ok_or_else(|| bad(prefix, "baseRevision", "no such revision of this entry"))?;
            let patch = match spec.op {
                ChangeOp::Delete => {
                    Patch([(Field::Deleted.name().to_owned(), Value::Bool(true))].into_iter().collect())
                }
                _ => {
                    let base_snapshot = selectors::snapshot(db, &base).await?;
                    let after = spec.patch.apply(&base_snapshot).map_err(|(f, e)| bad_field(prefix, f, e))?;
                    if after == base_snapshot {
                        return Err(bad(prefix, "fields", "changes nothing"));
                    }
                    let kind = entry_kind::Entity::find_by_id(entry.kind_id)
                        .one(db)
                        .await?
                        .ok_or_else(|| AppError::not_found("kind"))?;
                    let targets = Targets::load(db, [&after]).await?;
                    content::service::check(&kind, &after, Some(entry.uuid), prefix, &targets)?;
                    check_media(db, author, &base_snapshot.media, &after.media, prefix).await?;
                    spec.patch
                }
            };
            row.entry_id = Set(Some(entry.id));
            row.base_revision_id = Set(Some(base.id));
            row.patch = Set(Value::Object(patch.0));
        }
    }
    Ok(row)
}

/// Appends a change; `prefix` names it in field paths, as for [`prepare`].
async fn insert_change(
    txn: &DatabaseTransaction,
    submission: &submission::Model,
    mut row: change::ActiveModel,
    prefix: &str,
) -> AppResult<change::Model> {
    let existing = selectors::changes_of(txn, submission.id).await?;
    if let Set(Some(entry)) = &row.entry_id
        && existing.iter().any(|c| c.entry_id == Some(*entry))
    {
        return Err(bad(prefix, "entryId", "this submission already changes the entry; edit that change"));
    }
    row.submission_id = Set(submission.id);
    row.position = Set(existing.iter().map(|c| c.position + 1).max().unwrap_or(0));
    Ok(row.insert(txn).await?)
}

pub async fn create_submission(
    state: &Deps,
    viewer: &Viewer,
    title: &str,
    description: &str,
    changes: Vec<ChangeSpec>,
) -> AppResult<submission::Model> {
    contributor(viewer)?;
    let title =
        crate::modules::identity::domain::text("title", title, 1, 200).map_err(|e| AppError::BadInput(vec![e]))?;
    let mut rows = Vec::with_capacity(changes.len());
    for (i, spec) in changes.into_iter().enumerate() {
        rows.push(prepare(&state.db, Some(viewer.id), spec, &format!("changes.{i}.")).await?);
    }
    open_submission(state, viewer, title, description, rows, SubmissionStatus::Draft).await
}

/// Opens a submission with already validated changes.
pub(in crate::modules::versioning) async fn open_submission(
    state: &Deps,
    viewer: &Viewer,
    title: String,
    description: &str,
    rows: Vec<change::ActiveModel>,
    status: SubmissionStatus,
) -> AppResult<submission::Model> {
    db::transaction!(&state.db, |txn| {
        let submission = insert_submission(&txn, viewer, title.clone(), description, rows.clone(), status).await?;
        Ok(submission)
    })
}

pub(super) async fn insert_submission(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    title: String,
    description: &str,
    rows: Vec<change::ActiveModel>,
    status: SubmissionStatus,
) -> AppResult<submission::Model> {
    let now = Utc::now();
    let submission = submission::ActiveModel {
        uuid: Set(new_uuid()),
        author_id: Set(viewer.id),
        title: Set(title),
        description: Set(description.trim().to_owned()),
        status: Set(status),
        created_at: Set(now),
        updated_at: Set(now),
        submitted_at: Set((status == SubmissionStatus::Pending).then_some(now)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for (i, row) in rows.into_iter().enumerate() {
        insert_change(txn, &submission, row, &format!("changes.{i}.")).await?;
    }
    Ok(submission)
}

pub async fn add_change(state: &Deps, viewer: &Viewer, submission: Uuid, spec: ChangeSpec) -> AppResult<change::Model> {
    contributor(viewer)?;
    let submission = own_submission(&state.db, viewer, submission, Transition::Edit, "edited").await?;
    let row = prepare(&state.db, Some(viewer.id), spec, "change.").await?;
    db::transaction!(&state.db, |txn| {
        let change = insert_change(&txn, &submission, row.clone(), "change.").await?;
        Ok(change)
    })
}

/// The change and its submission, if the viewer authored it.
pub(super) async fn own_change(
    state: &Deps,
    viewer: &Viewer,
    change: Uuid,
    transition: Transition,
    what: &str,
) -> AppResult<(change::Model, submission::Model)> {
    let change = selectors::change_by_uuid(&state.db, change).await?.ok_or_else(|| AppError::not_found("change"))?;
    let submission = submission::Entity::find_by_id(change.submission_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::not_found("change"))?;
    let submission = own_submission(&state.db, viewer, submission.uuid, transition, what).await?;
    Ok((change, submission))
}

pub async fn edit_change(state: &Deps, viewer: &Viewer, change: Uuid, spec: ChangeSpec) -> AppResult<change::Model> {
    contributor(viewer)?;
    let (old, _) = own_change(state, viewer, change, Transition::Edit, "edited").await?;
    let mut row = prepare(&state.db, Some(viewer.id), spec, "change.").await?;
    row.id = Set(old.id);
    row.uuid = Set(old.uuid);
    row.submission_id = Set(old.submission_id);
    row.position = Set(old.position);
    row.created_at = Set(old.created_at);
    Ok(row.update(&state.db).await?)
}

pub async fn remove_change(state: &Deps, viewer: &Viewer, change: Uuid) -> AppResult<submission::Model> {
    contributor(viewer)?;
    let (change, submission) = own_change(state, viewer, change, Transition::Edit, "edited").await?;
    change::Entity::delete_by_id(change.id).exec(&state.db).await?;
    Ok(submission)
}
