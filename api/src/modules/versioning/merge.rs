//! Three-way merge of an editor's [`Patch`] (made against `base`, the revision
//! they saw) with the entry's current revision (`theirs`), and the rebase of a
//! conflicted patch onto `theirs` once each conflict has a [`Resolution`].
//! Pure functions: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
/// How the editor resolves one conflicted field; stored as chosen on the change.
pub use xpr_entity::change::Resolution;

use super::domain::{Field, MergePolicy, Patch, Snapshot};
use super::text_merge::merge_lines;

/// One field both sides changed incompatibly, with its three values (as JSON).
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    pub field: Field,
    pub base: Value,
    pub ours: Value,
    pub theirs: Value,
}

/// Merges `ours` (a patch against `base`) into `theirs` (the current revision).
/// Returns the merged snapshot, or every conflict, sorted by field.
pub fn merge(base: &Snapshot, theirs: &Snapshot, ours: &Patch, policy: MergePolicy) -> Result<Snapshot, Vec<Conflict>> {
    let (merged, conflicts) = merge_partial(base, theirs, ours, policy);
    if conflicts.is_empty() { Ok(merged) } else { Err(conflicts) }
}

/// The patch against `theirs` that, applied to theirs, gives the merge with every conflict resolved as chosen.
///
/// `Ours` takes the patch's value for the whole field (for `attributes` that
/// drops theirs' changes to other keys too). A chosen value that doesn't fit
/// the field leaves the conflict in place; conflicts without a choice are
/// returned as `Err`.
pub fn resolve(
    base: &Snapshot,
    theirs: &Snapshot,
    ours: &Patch,
    policy: MergePolicy,
    choices: &BTreeMap<Field, Resolution>,
) -> Result<Patch, Vec<Conflict>> {
    let (mut merged, conflicts) = merge_partial(base, theirs, ours, policy);
    let mut unresolved = Vec::new();
    for conflict in conflicts {
        let chosen = match choices.get(&conflict.field) {
            Some(Resolution::Ours) => conflict.ours.clone(),
            Some(Resolution::Theirs) => conflict.theirs.clone(),
            Some(Resolution::Custom { value }) => value.clone(),
            None => {
                unresolved.push(conflict);
                continue;
            }
        };
        // `set` leaves the field untouched on error, so a bad choice changes nothing.
        if merged.set(conflict.field, chosen).is_err() {
            unresolved.push(conflict);
        }
    }
    if unresolved.is_empty() { Ok(Patch::between(theirs, &merged)) } else { Err(unresolved) }
}

/// Rebases `ours` onto `theirs`: the patch against `theirs` that gives the clean merge.
pub fn rebase(base: &Snapshot, theirs: &Snapshot, ours: &Patch, policy: MergePolicy) -> Result<Patch, Vec<Conflict>> {
    resolve(base, theirs, ours, policy, &BTreeMap::new())
}

/// The merge with conflicted fields left at theirs' value, plus the conflicts (sorted).
fn merge_partial(base: &Snapshot, theirs: &Snapshot, ours: &Patch, policy: MergePolicy) -> (Snapshot, Vec<Conflict>) {
    let mut conflicts = Vec::new();

    // The editor's side as a whole snapshot, and the fields it really changes.
    let mut mine = base.clone();
    let mut changed = Vec::new();
    for (field, value) in ours.fields() {
        if mine.set(field, value.clone()).is_err() {
            // Patches are validated when submitted, so this shouldn't happen; a
            // conflict (with the raw value as `ours`) is safer than a panic or
            // silently dropping the edit.
            conflicts.push(Conflict { field, base: base.get(field), ours: value.clone(), theirs: theirs.get(field) });
        } else if mine.get(field) != base.get(field) {
            changed.push(field);
        }
    }

    let mut merged = theirs.clone();
    let concurrent = theirs != base;
    for &field in &changed {
        let clean = if policy == MergePolicy::Strict && concurrent {
            false
        } else if theirs.get(field) == base.get(field) {
            copy_field(field, &mine, &mut merged);
            true
        } else {
            // Equal changes on both sides are already in `merged` (it starts as theirs).
            theirs.get(field) == mine.get(field) || merge_both(field, base, &mine, theirs, &mut merged).is_some()
        };
        if !clean {
            conflicts.push(conflict(field, base, &mine, theirs));
        }
    }

    // Editing an entry someone has since deleted needs a decision: restore it or drop the edit.
    let ours_deletes = mine.deleted && !base.deleted;
    if theirs.deleted && !base.deleted && !changed.is_empty() && !ours_deletes {
        conflicts.push(conflict(Field::Deleted, base, &mine, theirs));
    }

    conflicts.sort_by_key(|c| c.field);
    (merged, conflicts)
}

fn conflict(field: Field, base: &Snapshot, ours: &Snapshot, theirs: &Snapshot) -> Conflict {
    Conflict { field, base: base.get(field), ours: ours.get(field), theirs: theirs.get(field) }
}

/// Copies one field; typed, so unlike `Snapshot::set` it can't fail.
fn copy_field(field: Field, from: &Snapshot, to: &mut Snapshot) {
    match field {
        Field::Slug => to.slug.clone_from(&from.slug),
        Field::Title => to.title.clone_from(&from.title),
        Field::Summary => to.summary.clone_from(&from.summary),
        Field::Body => to.body.clone_from(&from.body),
        Field::Attributes => to.attributes.clone_from(&from.attributes),
        Field::Tags => to.tags.clone_from(&from.tags),
        Field::Parent => to.parent = from.parent,
        Field::Links => to.links.clone_from(&from.links),
        Field::Media => to.media.clone_from(&from.media),
        Field::Deleted => to.deleted = from.deleted,
    }
}

/// Merges a field both sides changed, differently, into `merged`; `None` is a conflict.
fn merge_both(field: Field, base: &Snapshot, ours: &Snapshot, theirs: &Snapshot, merged: &mut Snapshot) -> Option<()> {
    match field {
        Field::Summary => merged.summary = merge_lines(&base.summary, &ours.summary, &theirs.summary)?,
        Field::Body => merged.body = merge_lines(&base.body, &ours.body, &theirs.body)?,
        Field::Attributes => merged.attributes = merge_keys(&base.attributes, &ours.attributes, &theirs.attributes)?,
        Field::Tags => merged.tags = merge_sets(&base.tags, &ours.tags, &theirs.tags),
        Field::Links => merged.links = merge_sets(&base.links, &ours.links, &theirs.links),
        Field::Media => merged.media = merge_lists(&base.media, &ours.media, &theirs.media),
        Field::Slug | Field::Title | Field::Parent | Field::Deleted => return None,
    }
    Some(())
}

/// Key-by-key one-sided merge of two objects; a missing key is a value too, so
/// removing a key is a change. `None` if both sides changed a key differently.
fn merge_keys(
    base: &Map<String, Value>,
    ours: &Map<String, Value>,
    theirs: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let keys: BTreeSet<&String> = base.keys().chain(ours.keys()).chain(theirs.keys()).collect();
    let mut merged = Map::new();
    for key in keys {
        let (b, o, t) = (base.get(key), ours.get(key), theirs.get(key));
        let value = if o == b || o == t {
            t
        } else if t == b {
            o
        } else {
            return None;
        };
        if let Some(value) = value {
            merged.insert(key.clone(), value.clone());
        }
    }
    Some(merged)
}

/// theirs ∪ (ours − base) − (base − ours): both sides' additions and removals. Never conflicts.
fn merge_sets<T: Ord + Clone>(base: &BTreeSet<T>, ours: &BTreeSet<T>, theirs: &BTreeSet<T>) -> BTreeSet<T> {
    let mut merged = theirs.clone();
    merged.extend(ours.difference(base).cloned());
    for removed in base.difference(ours) {
        merged.remove(removed);
    }
    merged
}

/// Like [`merge_sets`] for an ordered list: their order, then our additions in
/// our order, without what either side removed. Never conflicts.
fn merge_lists<T: PartialEq + Clone>(base: &[T], ours: &[T], theirs: &[T]) -> Vec<T> {
    let removed_by_us = |item: &T| base.contains(item) && !ours.contains(item);
    let mut merged: Vec<T> = theirs.iter().filter(|item| !removed_by_us(item)).cloned().collect();
    for item in ours {
        if !base.contains(item) && !merged.contains(item) {
            merged.push(item.clone());
        }
    }
    merged
}

#[cfg(test)]
mod tests;
