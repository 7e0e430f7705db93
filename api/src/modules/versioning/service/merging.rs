//! The merge transaction: an approved submission becomes revisions, three-way per field with the entry rows locked, or is marked conflicted; then its events and notifications.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseTransaction};
use serde_json::Value;
use uuid::Uuid;
use xpr_entity::{change, entry, entry_kind, revision, submission};

use crate::audit::{ModerationActionKind as Action, TargetType, record};
use crate::modules::content::checks::Checker;
use crate::modules::versioning::{
    domain::{ChangeOp, Field, Patch, Snapshot, SubmissionStatus, Transition},
    merge::{self, Conflict},
    selectors,
};
use crate::realtime::{self, Event, NotificationKind, QueueEventKind};
use crate::{
    auth::{Viewer, policy},
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{EntryId, EntryKindId, RevisionId, new_uuid},
    modules::{
        content::{
            self, selectors as content_selectors,
            service::{EntryWrite, Targets},
        },
        identity::{self},
    },
};

use super::{bad_field, conflicts::record_conflicts, set_status, transition};

/// The result of an approval: merged, or conflicted with every conflict listed.
pub struct MergeOutcome {
    pub submission: submission::Model,
    pub revisions: Vec<revision::Model>,
    pub conflicts: Vec<(Uuid, change::Conflict)>,
}

/// A change ready to become a revision.
struct Planned {
    /// Its place in the submission, for field paths of check failures.
    index: usize,
    change: change::Model,
    kind: entry_kind::Model,
    entry: Option<entry::Model>,
    snapshot: Snapshot,
}

/// Merges an approved submission: every change becomes a revision, or — on
/// any conflict — no entry changes and the submission is CONFLICTED with its
/// conflicts recorded.
pub async fn approve(state: &Deps, viewer: &Viewer, id: Uuid, comment: Option<String>) -> AppResult<MergeOutcome> {
    policy::check(viewer, policy::Action::Moderate)?;
    let found = selectors::submission_by_uuid(&state.db, id).await?.ok_or_else(|| AppError::not_found("submission"))?;
    merge(state, viewer, &found, comment, true).await
}

/// The merge behind an approval (`reviewed`: by a moderator, logged), in a
/// transaction of its own.
async fn merge(
    state: &Deps,
    merger: &Viewer,
    found: &submission::Model,
    comment: Option<String>,
    reviewed: bool,
) -> AppResult<MergeOutcome> {
    let checker = Checker::load(&state.db).await?;
    db::transaction!(&state.db, |txn| {
        let outcome = merge_in(&txn, &checker, merger, found, comment.clone(), reviewed).await?;
        Ok(outcome)
    })
}

/// Merges in `txn`: an approval's, or the automatic merge of a trusted
/// author's submission in the transaction that submitted it. The checks run
/// again against the entries as they are now.
pub(super) async fn merge_in(
    txn: &DatabaseTransaction,
    checker: &Checker,
    merger: &Viewer,
    found: &submission::Model,
    comment: Option<String>,
    reviewed: bool,
) -> AppResult<MergeOutcome> {
    // The state change comes first: it takes SQLite's write lock and PostgreSQL's
    // row lock, so of two racing approvals exactly one proceeds.
    let submission =
        transition(txn, found, Transition::Approve, SubmissionStatus::Merged, Some(merger), comment).await?;
    if reviewed {
        let target = (TargetType::Submission, submission.uuid);
        record(txn, merger, Action::ApproveSubmission, target, submission.decision_reason.as_deref()).await?;
    }
    let changes = selectors::changes_of(txn, submission.id).await?;

    // The touched entries, their kinds and the revisions to merge: a few statements for the whole submission.
    let locked = content::service::lock_entries(txn, changes.iter().filter_map(|c| c.entry_id).collect()).await?;
    let kind_ids = changes.iter().filter_map(|c| c.kind_id).chain(locked.values().map(|e| e.kind_id));
    let kinds = content_selectors::kinds_by_id(txn, kind_ids).await?;
    let kind_of = |id: Option<EntryKindId>| {
        kinds.get(&id.unwrap_or_default()).cloned().ok_or_else(|| AppError::not_found("kind"))
    };
    let revision_ids = changes.iter().filter_map(|c| c.base_revision_id);
    let snapshots =
        selectors::snapshots_by_id(txn, revision_ids.chain(locked.values().filter_map(|e| e.current_revision_id)))
            .await?;
    let snapshot_of =
        |id: Option<RevisionId>| snapshots.get(&id.unwrap_or_default()).ok_or_else(|| AppError::not_found("revision"));

    let mut plans = Vec::new();
    let mut conflicts = Vec::new();
    for (index, change) in changes.into_iter().enumerate() {
        let patch = patch_of(&change);
        match change.op {
            ChangeOp::Create => {
                let kind = kind_of(change.kind_id)?;
                let snapshot = patch
                    .apply(&Snapshot::default())
                    .map_err(|(f, e)| bad_field(&format!("changes.{index}."), f, e))?;
                if content_selectors::entry_by_slug_in(txn, kind.id, &snapshot.slug).await?.is_some() {
                    let taken = Value::from(snapshot.slug.clone());
                    conflicts.push((
                        change,
                        None,
                        vec![Conflict { field: Field::Slug, base: Value::Null, ours: taken.clone(), theirs: taken }],
                    ));
                    continue;
                }
                plans.push(Planned { index, change, kind, entry: None, snapshot });
            }
            ChangeOp::Update | ChangeOp::Delete => {
                let entry = locked.get(&change.entry_id.unwrap_or_default()).cloned();
                let entry = entry.ok_or_else(|| AppError::not_found("entry"))?;
                let kind = kind_of(Some(entry.kind_id))?;
                let base = snapshot_of(change.base_revision_id)?;
                let theirs = snapshot_of(entry.current_revision_id)?;
                match merge::merge(base, theirs, &patch, kind.merge_policy) {
                    Ok(snapshot) => plans.push(Planned { index, change, kind, entry: Some(entry), snapshot }),
                    Err(found) => conflicts.push((change, entry.current_revision_id, found)),
                }
            }
        }
    }

    if !conflicts.is_empty() {
        let mut listed = Vec::new();
        for (change, theirs, found) in conflicts {
            let change = record_conflicts(txn, &change, theirs, found).await?;
            listed.extend(change.conflicts.into_iter().flat_map(|c| c.0).map(|c| (change.uuid, c)));
        }
        let submission = set_status(txn, &submission, SubmissionStatus::Conflicted).await?;
        let queue = reviewed.then_some(QueueEventKind::Decided);
        realtime::submission_changed(txn, submission.uuid, submission.status, queue).await?;
        let message =
            format!("Your submission “{}” conflicts with newer edits: resolve or rebase it", submission.title);
        notify_author(txn, &submission, NotificationKind::SubmissionConflicted, message, merger).await?;
        return Ok(MergeOutcome { submission, revisions: Vec::new(), conflicts: listed });
    }

    let targets = Targets::load(txn, plans.iter().map(|p| &p.snapshot)).await?;
    let mut errors = Vec::new();
    for plan in &plans {
        let itself = plan.entry.as_ref().map(|e| e.uuid);
        let prefix = format!("changes.{}.", plan.index);
        errors.extend(checker.errors(&plan.kind, &plan.snapshot, itself, &prefix, &targets)?);
    }
    if !errors.is_empty() {
        return Err(AppError::BadInput(errors));
    }
    let mut entries = Vec::with_capacity(plans.len());
    for plan in &plans {
        entries.push(match &plan.entry {
            Some(entry) => entry.clone(),
            None => {
                let entry =
                    content::service::insert_entry(txn, &plan.kind, &plan.snapshot, submission.author_id).await?;
                // A CREATE's change now points at the entry it made.
                let mut change: change::ActiveModel = plan.change.clone().into();
                change.entry_id = Set(Some(entry.id));
                change.update(txn).await?;
                entry
            }
        });
    }
    let summary: String = submission.title.chars().take(500).collect();
    let rows = plans.iter().zip(&entries).map(|(plan, entry)| {
        Ok(revision::ActiveModel {
            uuid: Set(new_uuid()),
            entry_id: Set(entry.id),
            number: Set(entry.version + 1),
            parent_id: Set(entry.current_revision_id),
            author_id: Set(submission.author_id),
            merger_id: Set(Some(merger.id)),
            submission_id: Set(Some(submission.id)),
            summary: Set(summary.clone()),
            snapshot: Set(serde_json::to_value(&plan.snapshot).map_err(AppError::internal)?),
            created_at: Set(Utc::now()),
            archived: Set(false),
            ..Default::default()
        })
    });
    let mut revisions = db::insert_rows(txn, rows.collect::<AppResult<_>>()?, None).await?;
    // In the submission's order, whatever order RETURNING gave.
    let order: HashMap<EntryId, usize> = entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    revisions.sort_by_key(|r| order[&r.entry_id]);
    let writes = plans.iter().zip(entries).zip(&revisions).map(|((plan, entry), revision)| EntryWrite {
        entry,
        snapshot: &plan.snapshot,
        version: revision.number,
        revision_id: revision.id,
    });
    content::service::write_entries(txn, writes.collect(), &targets).await?;
    identity::service::add_reputation(txn, submission.author_id, identity::domain::MERGED_REPUTATION).await?;
    merged_events(txn, &submission, &revisions, merger, reviewed).await?;
    Ok(MergeOutcome { submission, revisions, conflicts: Vec::new() })
}

/// Tells the author about a decision, unless they made it themselves (an automatic merge).
pub(super) async fn notify_author(
    db: &impl ConnectionTrait,
    submission: &submission::Model,
    kind: NotificationKind,
    message: String,
    actor: &Viewer,
) -> AppResult<()> {
    let author = submission.author_id;
    if actor.is(author) {
        return Ok(());
    }
    let note = realtime::Note {
        user: author,
        kind,
        subject: (TargetType::Submission, submission.uuid),
        message,
        actor: Some(actor.id),
    };
    realtime::notify(db, vec![note]).await
}

/// A merge's events: the submission's, each touched entry's, and the
/// notifications of the author and of everyone watching those entries.
async fn merged_events(
    txn: &DatabaseTransaction,
    submission: &submission::Model,
    revisions: &[revision::Model],
    merger: &Viewer,
    reviewed: bool,
) -> AppResult<()> {
    let queue = reviewed.then_some(QueueEventKind::Decided);
    realtime::submission_changed(txn, submission.uuid, submission.status, queue).await?;
    let message = format!("Your submission “{}” was merged", submission.title);
    notify_author(txn, submission, NotificationKind::SubmissionMerged, message, merger).await?;
    let entries = content_selectors::entry_uuids(txn, revisions.iter().map(|r| r.entry_id).collect()).await?;
    let events = entries.iter().zip(revisions).map(|((_, entry), r)| Event::Entry { entry: *entry, version: r.number });
    realtime::emit(txn, events.collect()).await?;
    let message = format!("An entry you watch changed: “{}”", submission.title);
    realtime::notify_watchers(txn, &entries, &message, submission.author_id).await
}

pub(in crate::modules::versioning) fn patch_of(change: &change::Model) -> Patch {
    Patch(change.patch.as_object().cloned().unwrap_or_default())
}
