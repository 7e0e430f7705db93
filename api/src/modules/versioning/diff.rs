//! Field-by-field diff of two snapshots, for showing what a revision or a
//! submission changes: text fields also get unified-diff line hunks and
//! word-level changes. Pure functions: no I/O.

use serde_json::Value;
use similar::{ChangeTag, DiffTag, TextDiff};

use super::domain::{Field, Snapshot};

/// Lines of unchanged context around each hunk, as in `diff -u`.
const CONTEXT: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Modified,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HunkLineKind {
    Context,
    Added,
    Removed,
}

/// One line of a hunk, without its line ending.
#[derive(Clone, Debug, PartialEq)]
pub struct HunkLine {
    pub kind: HunkLineKind,
    pub text: String,
}

/// A unified-diff hunk: 1-based starts (an empty range starts at the line
/// before it, as in `diff -u`), line counts, and the lines with context.
#[derive(Clone, Debug, PartialEq)]
pub struct Hunk {
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub lines: Vec<HunkLine>,
}

/// A run of words (with the whitespace between them) that is unchanged, added or removed.
#[derive(Clone, Debug, PartialEq)]
pub struct WordChange {
    pub kind: HunkLineKind,
    pub text: String,
}

/// How one field differs; `hunks` and `words` are only filled for text fields.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    pub field: Field,
    pub kind: ChangeKind,
    pub before: Value,
    pub after: Value,
    pub hunks: Vec<Hunk>,
    pub words: Vec<WordChange>,
}

/// One [`FieldDiff`] per field whose value differs, in [`Field::ALL`] order.
pub fn diff(from: &Snapshot, to: &Snapshot) -> Vec<FieldDiff> {
    Field::ALL
        .into_iter()
        .filter_map(|field| {
            let (before, after) = (from.get(field), to.get(field));
            if before == after {
                return None;
            }
            let kind = match (is_empty(&before), is_empty(&after)) {
                (true, false) => ChangeKind::Added,
                (false, true) => ChangeKind::Removed,
                _ => ChangeKind::Modified,
            };
            let (hunks, words) = match (field.is_text(), before.as_str(), after.as_str()) {
                (true, Some(old), Some(new)) => (line_hunks(old, new), word_changes(old, new)),
                _ => (Vec::new(), Vec::new()),
            };
            Some(FieldDiff { field, kind, before, after, hunks, words })
        })
        .collect()
}

/// "Nothing there": how an added or removed field looks on its empty side.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(_) => false,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn line_kind(tag: ChangeTag) -> HunkLineKind {
    match tag {
        ChangeTag::Equal => HunkLineKind::Context,
        ChangeTag::Insert => HunkLineKind::Added,
        ChangeTag::Delete => HunkLineKind::Removed,
    }
}

fn line_hunks(old: &str, new: &str) -> Vec<Hunk> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(CONTEXT)
        .into_iter()
        .filter(|group| group.iter().any(|op| op.tag() != DiffTag::Equal))
        .map(|group| {
            let (first, last) = (&group[0], &group[group.len() - 1]);
            let old_lines = last.old_range().end - first.old_range().start;
            let new_lines = last.new_range().end - first.new_range().start;
            let lines = group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| {
                    let line = change.value();
                    let line = line.strip_suffix('\n').map_or(line, |l| l.strip_suffix('\r').unwrap_or(l));
                    HunkLine { kind: line_kind(change.tag()), text: line.to_owned() }
                })
                .collect();
            Hunk {
                old_start: unified_start(first.old_range().start, old_lines),
                old_lines,
                new_start: unified_start(first.new_range().start, new_lines),
                new_lines,
                lines,
            }
        })
        .collect()
}

/// 1-based start of a 0-based range; an empty range names the line before it.
fn unified_start(start: usize, len: usize) -> usize {
    if len == 0 { start } else { start + 1 }
}

/// Word-level changes; runs of the same kind are joined, so the Context and
/// Removed parts concatenate to `old`, the Context and Added parts to `new`.
fn word_changes(old: &str, new: &str) -> Vec<WordChange> {
    let diff = TextDiff::from_words(old, new);
    let mut words: Vec<WordChange> = Vec::new();
    for change in diff.iter_all_changes() {
        let kind = line_kind(change.tag());
        match words.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(change.value()),
            _ => words.push(WordChange { kind, text: change.value().to_owned() }),
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;
    use serde_json::json;

    use super::*;

    fn page(body: &str) -> Snapshot {
        Snapshot { slug: "page".into(), title: "Page".into(), body: body.into(), ..Snapshot::default() }
    }

    fn joined(words: &[WordChange], skip: HunkLineKind) -> String {
        words.iter().filter(|w| w.kind != skip).map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn equal_snapshots_have_no_diff() {
        let page = page("one\ntwo\n");
        assert_eq!(diff(&page, &page.clone()), []);
    }

    #[test]
    fn a_body_edit_is_one_modified_field_with_a_hunk() {
        let before = page("1\n2\n3\n4\n5\n6\n7\n8\n9\n");
        let after = page("1\n2\n3\n4\nfive\n6\n7\n8\n9\n");
        let diffs = diff(&before, &after);
        assert_eq!(diffs.len(), 1);
        let body = &diffs[0];
        assert_eq!((body.field, body.kind), (Field::Body, ChangeKind::Modified));
        assert_eq!(body.hunks.len(), 1);
        let hunk = &body.hunks[0];
        assert_eq!((hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines), (2, 7, 2, 7));
        let line = |kind, text: &str| HunkLine { kind, text: text.into() };
        assert!(hunk.lines.contains(&line(HunkLineKind::Removed, "5")));
        assert!(hunk.lines.contains(&line(HunkLineKind::Added, "five")));
        assert_eq!(hunk.lines.first(), Some(&line(HunkLineKind::Context, "2")));
        assert_eq!(hunk.lines.last(), Some(&line(HunkLineKind::Context, "8")));
    }

    #[test]
    fn distant_edits_get_separate_hunks() {
        let lines: Vec<String> = (1..=20).map(|n| format!("{n}\n")).collect();
        let mut edited = lines.clone();
        edited[0] = "one\n".into();
        edited[19] = "twenty\n".into();
        let diffs = diff(&page(&lines.concat()), &page(&edited.concat()));
        let starts: Vec<_> = diffs[0].hunks.iter().map(|h| (h.old_start, h.old_lines)).collect();
        assert_eq!(starts, [(1, 4), (17, 4)]);
    }

    #[test]
    fn added_removed_and_non_text_fields() {
        let before = page("");
        let after = Snapshot { title: String::new(), summary: "x".into(), deleted: true, ..before.clone() };
        let diffs = diff(&before, &after);
        let kinds: Vec<_> = diffs.iter().map(|d| (d.field, d.kind)).collect();
        assert_eq!(
            kinds,
            [
                (Field::Title, ChangeKind::Removed),
                (Field::Summary, ChangeKind::Added),
                (Field::Deleted, ChangeKind::Added)
            ]
        );
        assert!(diffs[0].hunks.is_empty() && diffs[0].words.is_empty());
        assert_eq!((&diffs[0].before, &diffs[0].after), (&json!("Page"), &json!("")));
        assert_eq!(diffs[1].hunks[0].lines, [HunkLine { kind: HunkLineKind::Added, text: "x".into() }]);
    }

    #[test]
    fn a_title_from_empty_is_added() {
        let before = Snapshot::default();
        let after = Snapshot { title: "x".into(), ..Snapshot::default() };
        let diffs = diff(&before, &after);
        assert_eq!(diffs.len(), 1);
        assert_eq!((diffs[0].field, diffs[0].kind), (Field::Title, ChangeKind::Added));
    }

    #[test]
    fn word_changes_reconstruct_both_texts() {
        let (old, new) = ("the quick brown fox\njumps", "the slow brown fox\njumps high");
        let words = &diff(&page(old), &page(new))[0].words;
        assert_eq!(joined(words, HunkLineKind::Added), old);
        assert_eq!(joined(words, HunkLineKind::Removed), new);
        assert_eq!(words[0], WordChange { kind: HunkLineKind::Context, text: "the ".into() });
        assert!(words.contains(&WordChange { kind: HunkLineKind::Removed, text: "quick".into() }));
        assert!(words.contains(&WordChange { kind: HunkLineKind::Added, text: "slow".into() }));
    }

    fn text() -> impl Strategy<Value = String> {
        vec(select(vec!["a", "b", "cd", " ", "  ", "\n"]), 0..24).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn text_diffs_are_consistent(old in text(), new in text()) {
            let diffs = diff(&page(&old), &page(&new));
            prop_assert_eq!(diffs.is_empty(), old == new);
            let Some(body) = diffs.first() else { return Ok(()) };
            prop_assert_eq!(joined(&body.words, HunkLineKind::Added), old.clone());
            prop_assert_eq!(joined(&body.words, HunkLineKind::Removed), new.clone());
            prop_assert!(body.words.windows(2).all(|w| w[0].kind != w[1].kind));
            prop_assert!(!body.hunks.is_empty());
            for hunk in &body.hunks {
                let count = |kind| hunk.lines.iter().filter(|l| l.kind != kind).count();
                prop_assert_eq!(count(HunkLineKind::Added), hunk.old_lines);
                prop_assert_eq!(count(HunkLineKind::Removed), hunk.new_lines);
            }
        }
    }
}
