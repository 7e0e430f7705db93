//! The field-wise merge, case by case, and its properties over random edits.

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::modules::versioning::domain::Link;

const FIELD: MergePolicy = MergePolicy::Field;

#[test]
fn media_lists_merge_additions_and_removals_of_both_sides_in_order() {
    let merged = merge_lists(&[1, 2, 3], &[2, 3, 4], &[1, 3, 5, 2]);
    assert_eq!(merged, [3, 5, 2, 4], "theirs' order, minus our removal of 1, plus our 4");
}
const STRICT: MergePolicy = MergePolicy::Strict;

fn ids() -> Vec<Uuid> {
    (1..=3).map(Uuid::from_u128).collect()
}

fn text(lines: &[&'static str], max: usize) -> impl Strategy<Value = String> + use<> {
    vec(select(lines.to_vec()), 0..=max).prop_map(|lines| lines.iter().map(|l| format!("{l}\n")).collect())
}

fn snapshot() -> impl Strategy<Value = Snapshot> {
    (
        select(vec!["home", "about", "news"]),
        select(vec!["", "Home", "About"]),
        text(&["x", "y"], 2),
        text(&["a", "b", "c", "d"], 6),
        btree_map(select(vec!["a", "b", "c"]), 0..3i64, 0..=3),
        btree_set(select(vec!["t1", "t2", "t3", "t4"]), 0..=3),
        proptest::option::of(select(ids())),
        btree_set((select(vec!["in", "near"]), select(ids())), 0..=3),
        proptest::sample::subsequence(ids(), 0..=3),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(slug, title, summary, body, attributes, tags, parent, links, media, deleted)| Snapshot {
            slug: slug.into(),
            title: title.into(),
            summary,
            body,
            attributes: attributes.into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect(),
            tags: tags.into_iter().map(String::from).collect(),
            parent,
            links: links.into_iter().map(|(t, target)| Link { link_type: t.into(), target }).collect(),
            media,
            deleted,
        })
}

/// One side's edit of `base`: each field (with probability 0.3) takes another
/// snapshot's value, except the body, which gets a one-line local edit so
/// that the two sides' body edits sometimes merge and sometimes overlap.
fn edit(base: Snapshot) -> impl Strategy<Value = Snapshot> {
    (snapshot(), vec(prop::bool::weighted(0.3), Field::ALL.len()), 0..8usize, 0..3u8, select(vec!["a", "b", "e"]))
        .prop_map(move |(other, mask, at, op, line)| {
            let mut side = base.clone();
            for (field, on) in Field::ALL.into_iter().zip(mask) {
                if !on {
                    continue;
                }
                if field != Field::Body {
                    side.set(field, other.get(field)).unwrap();
                    continue;
                }
                let mut lines: Vec<String> = base.body.lines().map(|l| format!("{l}\n")).collect();
                let at = at.min(lines.len());
                match op {
                    0 => lines.insert(at, format!("{line}\n")),
                    1 if at < lines.len() => lines[at] = format!("{line}\n"),
                    _ if at < lines.len() => {
                        lines.remove(at);
                    }
                    _ => lines.push(format!("{line}\n")),
                }
                side.body = lines.concat();
            }
            side
        })
}

/// (base, theirs, ours as a snapshot): two concurrent edits of one base.
fn scenario() -> impl Strategy<Value = (Snapshot, Snapshot, Snapshot)> {
    snapshot().prop_flat_map(|base| (Just(base.clone()), edit(base.clone()), edit(base)))
}

fn policy() -> impl Strategy<Value = MergePolicy> {
    prop_oneof![Just(FIELD), Just(STRICT)]
}

fn fields(conflicts: &[Conflict]) -> Vec<Field> {
    conflicts.iter().map(|c| c.field).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_unchanged_side_gives_the_other((base, theirs, ours) in scenario(), policy in policy()) {
        let patch = Patch::between(&base, &ours);
        prop_assert_eq!(merge(&base, &base, &patch, policy), Ok(patch.apply(&base).unwrap()));
        prop_assert_eq!(merge(&base, &theirs, &Patch::default(), policy), Ok(theirs));
    }

    #[test]
    fn a_clean_merge_keeps_one_sided_changes((base, theirs, ours) in scenario(), policy in policy()) {
        let Ok(merged) = merge(&base, &theirs, &Patch::between(&base, &ours), policy) else { return Ok(()) };
        for field in Field::ALL {
            let (b, o, t) = (base.get(field), ours.get(field), theirs.get(field));
            if o != b && t == b {
                prop_assert_eq!(merged.get(field), o, "{:?}", field);
            } else if t != b && o == b {
                prop_assert_eq!(merged.get(field), t, "{:?}", field);
            }
        }
    }

    #[test]
    fn conflicts_are_sorted_unique_and_never_on_sets((base, theirs, ours) in scenario()) {
        if let Err(conflicts) = merge(&base, &theirs, &Patch::between(&base, &ours), FIELD) {
            let fields = fields(&conflicts);
            prop_assert!(fields.windows(2).all(|w| w[0] < w[1]), "{:?}", fields);
            prop_assert!(![Field::Tags, Field::Links, Field::Media].iter().any(|f| fields.contains(f)));
        }
    }

    #[test]
    fn sets_merge_symmetrically(
        base in snapshot(),
        our_tags in btree_set(select(vec!["t1", "t2", "t3", "t4"]), 0..=3),
        their_tags in btree_set(select(vec!["t1", "t2", "t3", "t4"]), 0..=3),
    ) {
        let with_tags = |tags: BTreeSet<&str>| Snapshot { tags: tags.into_iter().map(String::from).collect(), ..base.clone() };
        let (ours, theirs) = (with_tags(our_tags), with_tags(their_tags));
        let merged = merge(&base, &theirs, &Patch::between(&base, &ours), FIELD).unwrap();
        for tag in ["t1", "t2", "t3", "t4"].map(String::from) {
            let added = |side: &Snapshot| side.tags.contains(&tag) && !base.tags.contains(&tag);
            let removed = |side: &Snapshot| !side.tags.contains(&tag) && base.tags.contains(&tag);
            if added(&ours) || added(&theirs) {
                prop_assert!(merged.tags.contains(&tag), "{} added", tag);
            }
            if removed(&ours) || removed(&theirs) {
                prop_assert!(!merged.tags.contains(&tag), "{} removed", tag);
            }
        }
    }

    #[test]
    fn identical_changes_never_conflict(
        (base, theirs, ours) in scenario(),
        shared in vec(any::<bool>(), Field::ALL.len()),
    ) {
        // Both sides the same: a clean merge to that very snapshot.
        prop_assert_eq!(merge(&base, &ours, &Patch::between(&base, &ours), FIELD), Ok(ours.clone()));
        // Theirs also made some of ours' changes: those fields never conflict.
        let mut theirs = theirs;
        for (field, on) in Field::ALL.into_iter().zip(shared) {
            if on {
                theirs.set(field, ours.get(field)).unwrap();
            }
        }
        if let Err(conflicts) = merge(&base, &theirs, &Patch::between(&base, &ours), FIELD) {
            for c in conflicts {
                prop_assert!(c.ours != c.theirs || c.ours == c.base, "{:?}", c);
            }
        }
    }

    #[test]
    fn strict_conflicts_on_any_concurrent_change((base, theirs, ours) in scenario()) {
        let patch = Patch::between(&base, &ours);
        let strict = merge(&base, &theirs, &patch, STRICT);
        if theirs == base {
            prop_assert_eq!(strict, merge(&base, &theirs, &patch, FIELD));
        } else if !patch.is_empty() {
            let conflicted = fields(&strict.unwrap_err());
            for (field, _) in patch.fields() {
                prop_assert!(conflicted.contains(&field), "{:?} not in {:?}", field, conflicted);
            }
        }
    }

    #[test]
    fn resolving_every_conflict_always_succeeds(
        (base, theirs, ours) in scenario(),
        policy in policy(),
        pick_ours in vec(any::<bool>(), Field::ALL.len()),
    ) {
        let patch = Patch::between(&base, &ours);
        let choices: BTreeMap<Field, Resolution> = Field::ALL
            .into_iter()
            .zip(pick_ours)
            .map(|(f, o)| (f, if o { Resolution::Ours } else { Resolution::Theirs }))
            .collect();
        let resolved = resolve(&base, &theirs, &patch, policy, &choices).unwrap().apply(&theirs).unwrap();
        match merge(&base, &theirs, &patch, policy) {
            Ok(merged) => {
                prop_assert_eq!(&resolved, &merged);
                prop_assert_eq!(rebase(&base, &theirs, &patch, policy).unwrap().apply(&theirs), Ok(merged));
            }
            Err(conflicts) => {
                prop_assert_eq!(rebase(&base, &theirs, &patch, policy), Err(conflicts.clone()));
                for c in conflicts {
                    let chosen = if choices[&c.field] == Resolution::Ours { &c.ours } else { &c.theirs };
                    prop_assert_eq!(&resolved.get(c.field), chosen, "{:?}", c.field);
                }
            }
        }
    }
}

fn page(body: &str) -> Snapshot {
    Snapshot { slug: "page".into(), title: "Page".into(), body: body.into(), ..Snapshot::default() }
}

fn patch(value: Value) -> Patch {
    Patch(value.as_object().unwrap().clone())
}

#[test]
fn non_overlapping_body_edits_merge_line_wise() {
    let base = page("one\ntwo\nthree\nfour\nfive\nsix\n");
    let theirs = page("ONE\ntwo\nthree\nfour\nfive\nsix\n");
    let ours = patch(json!({"body": "one\ntwo\nthree\nfour\nfive\nSIX\n"}));
    let merged = merge(&base, &theirs, &ours, FIELD).unwrap();
    assert_eq!(merged.body, "ONE\ntwo\nthree\nfour\nfive\nSIX\n");
}

#[test]
fn overlapping_body_edits_conflict() {
    let base = page("one\ntwo\nthree\n");
    let theirs = page("one\nTWO\nthree\n");
    let ours = patch(json!({"body": "one\n2\nthree\n"}));
    let conflicts = merge(&base, &theirs, &ours, FIELD).unwrap_err();
    assert_eq!(
        conflicts,
        vec![Conflict {
            field: Field::Body,
            base: json!("one\ntwo\nthree\n"),
            ours: json!("one\n2\nthree\n"),
            theirs: json!("one\nTWO\nthree\n"),
        }]
    );
}

#[test]
fn attributes_merge_by_key() {
    let base = Snapshot { attributes: json!({"a": 1, "b": 2}).as_object().unwrap().clone(), ..page("") };
    let theirs = Snapshot { attributes: json!({"a": 10, "b": 2}).as_object().unwrap().clone(), ..base.clone() };
    // Different keys: ours removes b and adds c.
    let merged = merge(&base, &theirs, &patch(json!({"attributes": {"a": 1, "c": 3}})), FIELD).unwrap();
    assert_eq!(Value::Object(merged.attributes), json!({"a": 10, "c": 3}));
    // Same key, different values: a conflict on the whole object.
    let conflicts = merge(&base, &theirs, &patch(json!({"attributes": {"a": 20, "b": 2}})), FIELD).unwrap_err();
    assert_eq!(fields(&conflicts), [Field::Attributes]);
    assert_eq!(conflicts[0].base, json!({"a": 1, "b": 2}));
    assert_eq!(conflicts[0].ours, json!({"a": 20, "b": 2}));
    assert_eq!(conflicts[0].theirs, json!({"a": 10, "b": 2}));
}

#[test]
fn tags_and_links_merge_as_sets() {
    let link = |n| Link { link_type: "in".into(), target: Uuid::from_u128(n) };
    let base = Snapshot { tags: ["x", "y"].map(String::from).into(), links: [link(1), link(2)].into(), ..page("") };
    let theirs = Snapshot { tags: ["x", "y", "t"].map(String::from).into(), links: [link(2)].into(), ..base.clone() };
    let ours = patch(json!({"tags": ["y", "o"], "links": [link(1), link(2), link(3)]}));
    let merged = merge(&base, &theirs, &ours, FIELD).unwrap();
    assert_eq!(merged.tags, ["y", "t", "o"].map(String::from).into());
    assert_eq!(merged.links, [link(2), link(3)].into());
}

#[test]
fn scalar_fields_conflict_when_both_change() {
    let base = page("");
    let theirs = Snapshot { title: "Theirs".into(), slug: "theirs".into(), ..base.clone() };
    let ours = patch(json!({"title": "Ours", "slug": "theirs"}));
    let conflicts = merge(&base, &theirs, &ours, FIELD).unwrap_err();
    assert_eq!(fields(&conflicts), [Field::Title]);
}

#[test]
fn strict_policy_conflicts_on_untouched_fields() {
    let base = page("body\n");
    let theirs = Snapshot { title: "New".into(), ..base.clone() };
    let ours = patch(json!({"body": "edited\n", "slug": "page"}));
    assert!(merge(&base, &theirs, &ours, FIELD).is_ok());
    // Only `body` really changes (slug is base's value), so only body conflicts.
    assert_eq!(fields(&merge(&base, &theirs, &ours, STRICT).unwrap_err()), [Field::Body]);
    assert_eq!(merge(&base, &base, &ours, STRICT).unwrap().body, "edited\n");
}

#[test]
fn editing_a_deleted_entry_conflicts_unless_deleting_too() {
    let base = page("");
    let theirs = Snapshot { deleted: true, ..base.clone() };
    let conflicts = merge(&base, &theirs, &patch(json!({"title": "Edited"})), FIELD).unwrap_err();
    assert_eq!(
        conflicts,
        vec![Conflict { field: Field::Deleted, base: json!(false), ours: json!(false), theirs: json!(true) }]
    );
    let merged = merge(&base, &theirs, &patch(json!({"title": "Edited", "deleted": true})), FIELD).unwrap();
    assert!(merged.deleted);
    assert_eq!(merged.title, "Edited");
    // A no-op patch isn't an edit.
    assert_eq!(merge(&base, &theirs, &patch(json!({"title": "Page"})), FIELD), Ok(theirs.clone()));
    // Restoring it: the edit applies to the undeleted entry.
    let choices = BTreeMap::from([(Field::Deleted, Resolution::Ours)]);
    let rebased = resolve(&base, &theirs, &patch(json!({"title": "Edited"})), FIELD, &choices).unwrap();
    assert_eq!(rebased, patch(json!({"title": "Edited", "deleted": false})));
}

#[test]
fn invalid_patch_values_are_conflicts() {
    let base = page("");
    let conflicts = merge(&base, &base, &patch(json!({"title": 5, "tags": "x"})), FIELD).unwrap_err();
    assert_eq!(fields(&conflicts), [Field::Title, Field::Tags]);
    assert_eq!(conflicts[0].ours, json!(5));
    // Choosing ours can't fix it; a custom value can.
    let ours = patch(json!({"title": 5}));
    let choose = |r| BTreeMap::from([(Field::Title, r)]);
    assert!(resolve(&base, &base, &ours, FIELD, &choose(Resolution::Ours)).is_err());
    let fixed = resolve(&base, &base, &ours, FIELD, &choose(Resolution::Custom { value: json!("Five") })).unwrap();
    assert_eq!(fixed, patch(json!({"title": "Five"})));
}

#[test]
fn resolve_rebases_onto_theirs() {
    let base = page("one\ntwo\nthree\n");
    let theirs = Snapshot { title: "Theirs".into(), ..page("one\nTWO\nthree\n") };
    let ours = patch(json!({"title": "Ours", "body": "one\n2\nthree\n", "tags": ["new"]}));
    let conflicts = rebase(&base, &theirs, &ours, FIELD).unwrap_err();
    assert_eq!(fields(&conflicts), [Field::Title, Field::Body]);

    // Only one choice: the other conflict is still returned.
    let mut choices = BTreeMap::from([(Field::Title, Resolution::Theirs)]);
    assert_eq!(fields(&resolve(&base, &theirs, &ours, FIELD, &choices).unwrap_err()), [Field::Body]);

    choices.insert(Field::Body, Resolution::Custom { value: json!("one\nTWO 2\nthree\n") });
    let rebased = resolve(&base, &theirs, &ours, FIELD, &choices).unwrap();
    assert_eq!(rebased, patch(json!({"body": "one\nTWO 2\nthree\n", "tags": ["new"]})));

    // A custom value of the wrong shape resolves nothing.
    choices.insert(Field::Body, Resolution::Custom { value: json!(["not", "text"]) });
    assert_eq!(fields(&resolve(&base, &theirs, &ours, FIELD, &choices).unwrap_err()), [Field::Body]);
}
