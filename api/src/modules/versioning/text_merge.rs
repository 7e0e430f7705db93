//! Line-wise three-way merge of a text field (summary, body). Pure: no I/O.

use similar::TextMerge;

/// Merges two edits of `base` line by line, as git's diff3 does, or `None`
/// for a conflict. Edits separated by at least one unchanged line combine;
/// edits of the same or directly neighbouring lines conflict unless they are
/// identical. A last line without a newline differs from the same line with
/// one, so adding text after it changes that line too.
///
/// `similar`'s merge, not `diffy`'s: diffy doesn't slide its diff hunks, so a
/// rewritten line followed by copies of itself (`- TBD` list items, blank
/// lines) could be read as a change at the end of the run and conflict with
/// an append below it.
pub fn merge_lines(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let merge = TextMerge::from_lines(base, ours, theirs);
    (!merge.is_conflicted()).then(|| merge.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::ops::Range;

    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    #[test]
    fn an_append_at_the_end_merges_with_a_rewrite_above_it() {
        let base = "## Stops\n\n- TBD\n- TBD\n- TBD\n";
        let rewritten = "## Stops\n\n- TBD\n- Olympus\n- TBD\n";
        let appended = "## Stops\n\n- TBD\n- TBD\n- TBD\n\nEvery stop is optional.\n";
        let merged = "## Stops\n\n- TBD\n- Olympus\n- TBD\n\nEvery stop is optional.\n";
        assert_eq!(merge_lines(base, rewritten, appended).as_deref(), Some(merged));
        assert_eq!(merge_lines(base, appended, rewritten).as_deref(), Some(merged));
    }

    #[test]
    fn markdown_edits_merge_when_a_line_lies_between_them() {
        let base = "# Aurora\n\nA ship.\n\n- fast\n- cheap\n\n```\nfly\n```\n";
        let edit = |from: &str, to: &str| base.replacen(from, to, 1);
        let (heading, lead) = (edit("# Aurora", "# Aurora II"), edit("A ship.", "A small ship."));
        let (list, code) = (edit("- cheap\n", "- very cheap\n- loud\n"), edit("fly\n", "fly\nland\n"));
        // A blank line is a line: it alone separates the heading from the lead.
        let merged = merge_lines(base, &heading, &lead).unwrap();
        let merged = merge_lines(base, &merged, &list).unwrap();
        let merged = merge_lines(base, &merged, &code).unwrap();
        assert_eq!(merged, "# Aurora II\n\nA small ship.\n\n- fast\n- very cheap\n- loud\n\n```\nfly\nland\n```\n");
        let appended = format!("{base}\nSee also: Dawn.\n");
        assert_eq!(merge_lines(base, &code, &appended), Some(format!("{code}\nSee also: Dawn.\n")));
        // Neighbouring lines conflict, as does an insertion right below a rewritten line.
        assert_eq!(merge_lines(base, &list, &edit("- fast", "- quick")), None);
        assert_eq!(merge_lines(base, &lead, &edit("A ship.\n", "A ship.\n- new\n")), None);
    }

    #[test]
    fn without_a_final_newline_the_last_line_changes_when_text_follows_it() {
        let base = "one\ntwo\nthree\nfour";
        let appended = "one\ntwo\nthree\nfour\n\nfive";
        assert_eq!(
            merge_lines(base, "one\nTWO\nthree\nfour", appended).as_deref(),
            Some("one\nTWO\nthree\nfour\n\nfive")
        );
        // `four` gains a newline, so a rewrite of `three` touches the append.
        assert_eq!(merge_lines(base, "one\ntwo\nTHREE\nfour", appended), None);
        assert_eq!(
            merge_lines(base, "one\ntwo\nthree\nFOUR", "ONE\ntwo\nthree\nfour").as_deref(),
            Some("ONE\ntwo\nthree\nFOUR")
        );
    }

    /// Markdown-like lines, repeated on purpose: blank lines, list items, code fences.
    const LINES: [&str; 6] = ["", "- item", "```", "code", "Some text.", "# Heading"];

    /// One side's replacement of base lines `lines` by `new`, lines no other text has.
    #[derive(Clone, Debug, PartialEq)]
    struct Hunk {
        lines: Range<usize>,
        new: Vec<String>,
    }

    /// A base text as lines, whether it ends in a newline, and each side's
    /// hunks: sorted, with at least one unchanged line between two of a side's.
    #[derive(Clone, Debug)]
    struct Case {
        base: Vec<String>,
        final_newline: bool,
        ours: Vec<Hunk>,
        theirs: Vec<Hunk>,
    }

    /// A change as a line diff sees it: base lines replaced, and the text put there.
    type Change = (Range<usize>, String);

    impl Case {
        fn text(&self, lines: &[String]) -> String {
            let mut text = lines.join("\n");
            if self.final_newline && !lines.is_empty() {
                text.push('\n');
            }
            text
        }

        /// The base with one side's hunks made.
        fn side(&self, hunks: &[Hunk]) -> String {
            let (mut lines, mut at) = (Vec::new(), 0);
            for hunk in hunks {
                lines.extend_from_slice(&self.base[at..hunk.lines.start]);
                lines.extend_from_slice(&hunk.new);
                at = hunk.lines.end;
            }
            lines.extend_from_slice(&self.base[at..]);
            self.text(&lines)
        }

        /// Base, ours and theirs as texts.
        fn texts(&self) -> [String; 3] {
            [self.text(&self.base), self.side(&self.ours), self.side(&self.theirs)]
        }

        /// A side's changes, where the merge has no choice in reading them: the
        /// only minimal diff, or a side's one rewrite or insertion, which stays
        /// in place even amid equal lines. Otherwise (removing one of two equal
        /// lines, say) which lines an edit touched is open, for git too.
        fn changes(&self, hunks: &[Hunk]) -> Option<Vec<Change>> {
            let (base, side) = (self.text(&self.base), self.side(hunks));
            let (base, side): (Vec<&str>, Vec<&str>) =
                (base.split_inclusive('\n').collect(), side.split_inclusive('\n').collect());
            only_reading(&base, &side).or_else(|| match hunks {
                [hunk] if !hunk.new.is_empty() => {
                    let Range { start, end } = self.reach(hunk);
                    Some(vec![(start..end, side[start..side.len() - (base.len() - end)].concat())])
                }
                _ => None,
            })
        }

        /// The base lines a hunk changes. Without a final newline, adding text
        /// after the last line, or removing the lines after one, changes that
        /// line as well: it gains or loses its newline.
        fn reach(&self, hunk: &Hunk) -> Range<usize> {
            let Range { start, end } = hunk.lines;
            let moves_end = !self.final_newline && end == self.base.len() && (hunk.new.is_empty() || start == end);
            if moves_end { start.saturating_sub(1)..end } else { start..end }
        }
    }

    /// The changes that make `side` of `base` (lines with their newlines), if
    /// all minimal diffs agree on them.
    fn only_reading(base: &[&str], side: &[&str]) -> Option<Vec<Change>> {
        let (n, m) = (base.len(), side.len());
        // Longest common subsequences of base[i..] and side[j..] (ahead), and of base[..i] and side[..j] (behind).
        let (mut ahead, mut behind) = (vec![vec![0; m + 1]; n + 1], vec![vec![0; m + 1]; n + 1]);
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                let matched = if base[i] == side[j] { ahead[i + 1][j + 1] + 1 } else { 0 };
                ahead[i][j] = matched.max(ahead[i + 1][j]).max(ahead[i][j + 1]);
            }
        }
        for i in 1..=n {
            for j in 1..=m {
                let matched = if base[i - 1] == side[j - 1] { behind[i - 1][j - 1] + 1 } else { 0 };
                behind[i][j] = matched.max(behind[i - 1][j]).max(behind[i][j - 1]);
            }
        }
        // The lines some minimal diff removes from base or adds from side: one
        // diff if as many as any diff must.
        let common = ahead[0][0];
        let (mut removed, mut added) = (BTreeSet::new(), BTreeSet::new());
        for i in 0..=n {
            for j in 0..=m {
                if i < n && behind[i][j] + ahead[i + 1][j] == common {
                    removed.insert(i);
                }
                if j < m && behind[i][j] + ahead[i][j + 1] == common {
                    added.insert(j);
                }
            }
        }
        if removed.len() + common != n || added.len() + common != m {
            return None;
        }
        let (mut changes, mut i, mut j) = (Vec::new(), 0, 0);
        while i < n || j < m {
            let (from, to) = (i, j);
            while i < n && removed.contains(&i) {
                i += 1;
            }
            while j < m && added.contains(&j) {
                j += 1;
            }
            if (from, to) == (i, j) {
                (i, j) = (i + 1, j + 1);
            } else {
                changes.push((from..i, side[to..j].concat()));
            }
        }
        Some(changes)
    }

    /// `base` with changes, apart from each other, made.
    fn with_changes<'a>(base: &str, changes: impl IntoIterator<Item = &'a Change>) -> String {
        let base: Vec<&str> = base.split_inclusive('\n').collect();
        let mut changes: Vec<&Change> = changes.into_iter().collect();
        changes.sort_by_key(|(lines, _)| lines.start);
        let (mut text, mut at) = (String::new(), 0);
        for (lines, new) in changes {
            text += &base[at..lines.start].concat();
            text += new;
            at = lines.end;
        }
        text + &base[at..].concat()
    }

    /// Whether no unchanged line lies between two changes.
    fn touch(a: &Change, b: &Change) -> bool {
        a.0.start <= b.0.end && b.0.start <= a.0.end
    }

    /// Sorted hunks with at least one unchanged line between them; new lines
    /// are `{side} {n}`, so both sides' lines can be found in the merge.
    fn hunks(n: usize, side: &'static str) -> impl Strategy<Value = Vec<Hunk>> {
        vec((0..=n, 0..=2usize, 0..=2usize), 1..=3).prop_map(move |mut picks| {
            picks.sort();
            let (mut hunks, mut free_from, mut count) = (Vec::<Hunk>::new(), 0, 0);
            for (start, removed, added) in picks {
                let end = (start + removed).min(n);
                if start < free_from || (start == end && added == 0) {
                    continue;
                }
                let new = (0..added).map(|i| format!("{side} {}", count + i)).collect();
                count += added;
                hunks.push(Hunk { lines: start..end, new });
                free_from = end + 1;
            }
            hunks
        })
    }

    fn case() -> impl Strategy<Value = Case> {
        (vec(select(LINES.to_vec()), 0..=10), any::<bool>()).prop_flat_map(|(lines, final_newline)| {
            let mut base: Vec<String> = lines.into_iter().map(String::from).collect();
            // Without a final newline, a blank last line would be no line at all.
            while !final_newline && base.last().is_some_and(String::is_empty) {
                base.pop();
            }
            let n = base.len();
            (Just(base), Just(final_newline), hunks(n, "ours"), hunks(n, "theirs"))
                .prop_map(|(base, final_newline, ours, theirs)| Case { base, final_newline, ours, theirs })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn edits_apart_merge_into_both_sides_edits(case in case()) {
            let (Some(ours), Some(theirs)) = (case.changes(&case.ours), case.changes(&case.theirs)) else {
                return Ok(());
            };
            if !ours.iter().any(|o| theirs.iter().any(|t| touch(o, t))) {
                let both = with_changes(&case.text(&case.base), ours.iter().chain(&theirs));
                let [base, ours, theirs] = case.texts();
                prop_assert_eq!(merge_lines(&base, &ours, &theirs), Some(both.clone()));
                prop_assert_eq!(merge_lines(&base, &theirs, &ours), Some(both));
            }
        }

        #[test]
        fn edits_of_the_same_or_neighbouring_lines_conflict(case in case()) {
            let (Some(ours), Some(theirs)) = (case.changes(&case.ours), case.changes(&case.theirs)) else {
                return Ok(());
            };
            // The same change on both sides is made once.
            if ours.iter().any(|o| theirs.iter().any(|t| touch(o, t) && o != t)) {
                let [base, ours, theirs] = case.texts();
                prop_assert_eq!(merge_lines(&base, &ours, &theirs), None);
                prop_assert_eq!(merge_lines(&base, &theirs, &ours), None);
            }
        }

        #[test]
        fn a_merge_never_loses_a_changed_line(case in case()) {
            let [base, ours, theirs] = case.texts();
            let Some(merged) = merge_lines(&base, &ours, &theirs) else { return Ok(()) };
            for side in [&case.ours, &case.theirs] {
                // Each side's new lines, in order: `any` moves on past the line found.
                let mut lines = merged.lines();
                for new in side.iter().flat_map(|h| &h.new) {
                    prop_assert!(lines.any(|line| line == new), "{} missing or out of order in {:?}", new, merged);
                }
            }
        }
    }
}
