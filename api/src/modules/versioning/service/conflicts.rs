//! Conflicts of a merge: recorded per change, resolved field by field by the author, and rebased onto the current revisions.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::Value;
use uuid::Uuid;
use xpr_entity::{change, entry, submission};

use crate::modules::versioning::{
    domain::{ChangeOp, Field, SubmissionStatus, Transition},
    merge::{self, Conflict, Resolution},
    selectors,
};
use crate::realtime::{self, QueueEventKind};
use crate::{
    auth::Viewer,
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::RevisionId,
    modules::content::selectors as content_selectors,
};

use super::{
    changes::check_media, changes::own_change, contributor, kind_by_id, merging::patch_of, own_submission, set_status,
};

/// Records a merge's conflicts on the change, against `theirs`; returns the change as stored.
pub(super) async fn record_conflicts(
    db: &impl ConnectionTrait,
    change: &change::Model,
    theirs: Option<RevisionId>,
    found: Vec<Conflict>,
) -> AppResult<change::Model> {
    let stored = found.into_iter().map(|c| change::Conflict {
        field: c.field.name().to_owned(),
        base: c.base,
        ours: c.ours,
        theirs: c.theirs,
    });
    let mut active: change::ActiveModel = change.clone().into();
    active.conflicts = Set(Some(change::Conflicts(stored.collect())));
    active.conflict_revision_id = Set(theirs);
    active.resolutions = Set(None);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// The conflicted fields recorded on a change.
pub fn conflicted_fields(change: &change::Model) -> Vec<Field> {
    change.conflicts.iter().flat_map(|c| &c.0).filter_map(|c| Field::parse(&c.field)).collect()
}

/// Records the author's choice for one conflicted field. Once every conflict of
/// the change has a choice, the change is rewritten as a patch against the
/// revision it conflicted with; once no change conflicts, the submission is
/// back to PENDING.
pub async fn resolve_conflict(
    state: &Deps,
    viewer: &Viewer,
    change: Uuid,
    field: Field,
    resolution: Resolution,
) -> AppResult<change::Model> {
    contributor(viewer)?;
    let (change, submission) = own_change(state, viewer, change, Transition::Resolve, "resolved").await?;
    let fields = conflicted_fields(&change);
    if !fields.contains(&field) {
        return Err(AppError::bad_input("field", "this field has no conflict"));
    }
    let mut choices: BTreeMap<Field, Resolution> = resolutions_of(&change);
    choices.insert(field, resolution);
    db::transaction!(&state.db, |txn| {
        let mut active: change::ActiveModel = change.clone().into();
        active.updated_at = Set(Utc::now());
        if fields.iter().all(|f| choices.contains_key(f)) {
            let patch = patch_of(&change);
            let (base_revision, patch) = match change.op {
                ChangeOp::Create => {
                    let mut patch = patch;
                    match choices.get(&Field::Slug) {
                        Some(Resolution::Custom { value }) => {
                            patch.0.insert(Field::Slug.name().to_owned(), value.clone())
                        }
                        _ => {
                            return Err(AppError::bad_input(
                                "value",
                                "the slug is taken: choose CUSTOM with a new slug",
                            ));
                        }
                    };
                    (None, patch)
                }
                _ => {
                    let kind = kind_by_id(
                        &txn,
                        content_selectors::entry_kind_id(&txn, change.entry_id.unwrap_or_default()).await?,
                    )
                    .await?;
                    let base = selectors::snapshot_by_id(&txn, change.base_revision_id.unwrap_or_default()).await?;
                    let theirs_id = change.conflict_revision_id.unwrap_or_default();
                    let theirs = selectors::snapshot_by_id(&txn, theirs_id).await?;
                    let patch = merge::resolve(&base, &theirs, &patch, kind.merge_policy, &choices)
                        .map_err(|_| AppError::bad_input("value", "this value doesn't fit the field"))?;
                    // A CUSTOM value may cite images too: only the author's own may be added.
                    let after = patch.apply(&theirs).map_err(|(_, e)| AppError::bad_input("value", e))?;
                    check_media(&txn, Some(viewer.id), &theirs.media, &after.media, "").await?;
                    (Some(theirs_id), patch)
                }
            };
            if base_revision.is_some() {
                active.base_revision_id = Set(base_revision);
            }
            active.patch = Set(Value::Object(patch.0));
            active.conflicts = Set(None);
            active.conflict_revision_id = Set(None);
            active.resolutions = Set(None);
        } else {
            let stored = choices.iter().map(|(field, choice)| (field.name().to_owned(), choice.clone()));
            active.resolutions = Set(Some(change::Resolutions(stored.collect())));
        }
        let change = active.update(&txn).await?;
        let remaining = selectors::changes_of(&txn, submission.id).await?.iter().any(|c| c.conflicts.is_some());
        if !remaining && submission.status == SubmissionStatus::Conflicted {
            let pending = set_status(&txn, &submission, SubmissionStatus::Pending).await?;
            let queue = Some(QueueEventKind::Submitted);
            realtime::submission_changed(&txn, pending.uuid, pending.status, queue).await?;
        }
        Ok(change)
    })
}

fn resolutions_of(change: &change::Model) -> BTreeMap<Field, Resolution> {
    let stored = change.resolutions.iter().flat_map(|r| &r.0);
    stored.filter_map(|(name, choice)| Some((Field::parse(name)?, choice.clone()))).collect()
}

/// Moves every change onto its entry's current revision. Clean changes get a
/// new base; the others record their conflicts and the submission becomes CONFLICTED.
pub async fn rebase(state: &Deps, viewer: &Viewer, id: Uuid) -> AppResult<submission::Model> {
    contributor(viewer)?;
    let submission = own_submission(&state.db, viewer, id, Transition::Rebase, "rebased").await?;
    db::transaction!(&state.db, |txn| {
        let mut conflicted = false;
        for change in selectors::changes_of(&txn, submission.id).await? {
            let (Some(entry_id), Some(base_id)) = (change.entry_id, change.base_revision_id) else {
                // A CREATE conflicts only on a taken slug: it stays conflicted while the slug is taken.
                if change.conflicts.is_some() {
                    let slug = patch_of(&change)
                        .0
                        .get(Field::Slug.name())
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    if content_selectors::entry_by_slug_in(&txn, change.kind_id.unwrap_or_default(), &slug)
                        .await?
                        .is_some()
                    {
                        conflicted = true;
                    } else {
                        let mut active: change::ActiveModel = change.into();
                        active.conflicts = Set(None);
                        active.resolutions = Set(None);
                        active.updated_at = Set(Utc::now());
                        active.update(&txn).await?;
                    }
                }
                continue;
            };
            let entry =
                entry::Entity::find_by_id(entry_id).one(&txn).await?.ok_or_else(|| AppError::not_found("entry"))?;
            let current = entry.current_revision_id.unwrap_or_default();
            if current == base_id && change.conflicts.is_none() {
                continue;
            }
            let kind = kind_by_id(&txn, entry.kind_id).await?;
            let base = selectors::snapshot_by_id(&txn, base_id).await?;
            let theirs = selectors::snapshot_by_id(&txn, current).await?;
            match merge::rebase(&base, &theirs, &patch_of(&change), kind.merge_policy) {
                Ok(patch) => {
                    let mut active: change::ActiveModel = change.into();
                    active.base_revision_id = Set(Some(current));
                    active.patch = Set(Value::Object(patch.0));
                    active.conflicts = Set(None);
                    active.conflict_revision_id = Set(None);
                    active.resolutions = Set(None);
                    active.updated_at = Set(Utc::now());
                    active.update(&txn).await?;
                }
                Err(found) => {
                    conflicted = true;
                    record_conflicts(&txn, &change, Some(current), found).await?;
                }
            }
        }
        // Only a submission under review changes state; a draft keeps its conflicts
        // on its changes and can't be submitted until they are resolved.
        let to = match (submission.status, conflicted) {
            (SubmissionStatus::Pending, true) => SubmissionStatus::Conflicted,
            (SubmissionStatus::Conflicted, false) => SubmissionStatus::Pending,
            (unchanged, _) => unchanged,
        };
        let queue = match (submission.status, to) {
            (from, to) if from == to => None,
            (_, SubmissionStatus::Pending) => Some(QueueEventKind::Submitted),
            _ => Some(QueueEventKind::Decided),
        };
        let submission = set_status(&txn, &submission, to).await?;
        realtime::submission_changed(&txn, submission.uuid, submission.status, queue).await?;
        Ok(submission)
    })
}
