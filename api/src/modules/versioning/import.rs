//! Bulk import of JSON Lines, one change per line:
//!
//! ```text
//! {"op":"create","kind":"ship","fields":{"slug":"aurora","title":"Aurora","parent":"location/harbor"}}
//! {"op":"update","kind":"ship","slug":"aurora","fields":{"summary":"Fast","links":[{"type":"docked-at","target":"location/harbor"}]}}
//! {"op":"delete","kind":"ship","slug":"aurora"}
//! ```
//!
//! Lines are validated one by one (bad ones are reported with their number and
//! reason and skipped) and the good ones merged in chunks, each chunk one
//! submission and one transaction, by an operator with moderator rights.
//! Lines that would change nothing are skipped, so importing a file twice
//! adds nothing. Tags are normalised as the API's are (trimmed, lower-case).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    domain::{ChangeOp, Patch, SubmissionStatus},
    selectors,
    service::{self, ChangeSpec},
};
use crate::{
    auth::Viewer,
    deps::Deps,
    error::{AppError, AppResult},
    modules::content::{domain::normalize_tag, selectors as content},
};

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum Line {
    Create { kind: String, fields: Map<String, Value> },
    Update { kind: String, slug: String, fields: Map<String, Value> },
    Delete { kind: String, slug: String },
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub applied: usize,
    pub unchanged: usize,
    /// Line number (1-based) and reason.
    pub failed: Vec<(usize, String)>,
}

/// A parsed line, with the entries (`kind/slug`) it changes or refers to.
struct Parsed {
    op: ChangeOp,
    kind: String,
    slug: String,
    fields: Map<String, Value>,
    keys: HashSet<String>,
}

/// A validated change waiting for its chunk.
struct Ready {
    line: usize,
    row: xpr_entity::change::ActiveModel,
    keys: HashSet<String>,
}

/// Reads an error as the line's reason, with every field it names.
fn reason(err: AppError) -> String {
    match err {
        AppError::BadInput(fields) => {
            fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        other => async_graphql::Error::from(other).message,
    }
}

fn parse(text: &str) -> AppResult<Parsed> {
    let line: Line =
        serde_json::from_str(text).map_err(|err| AppError::bad_input("line", format!("not a valid change: {err}")))?;
    let (op, kind, slug, fields) = match line {
        Line::Create { kind, fields } => {
            let slug = fields.get("slug").and_then(Value::as_str).unwrap_or_default().to_owned();
            (ChangeOp::Create, kind, slug, fields)
        }
        Line::Update { kind, slug, fields } => (ChangeOp::Update, kind, slug, fields),
        Line::Delete { kind, slug } => (ChangeOp::Delete, kind, slug, Map::new()),
    };
    let mut fields = fields;
    if let Some(Value::Array(tags)) = fields.get_mut("tags") {
        for tag in tags.iter_mut() {
            if let Value::String(text) = tag {
                *text = normalize_tag(text);
            }
        }
    }
    let mut keys: HashSet<String> = [format!("{kind}/{slug}")].into();
    let links = fields.get("links").and_then(Value::as_array).into_iter().flatten().map(|l| &l["target"]);
    keys.extend(
        fields
            .get("parent")
            .into_iter()
            .chain(links)
            .filter_map(Value::as_str)
            .filter(|r| r.contains('/'))
            .map(str::to_owned),
    );
    Ok(Parsed { op, kind, slug, fields, keys })
}

/// `kind/slug` references (or raw ids) in parent and links become entry ids.
async fn resolve_refs(state: &Deps, fields: &mut Map<String, Value>) -> AppResult<()> {
    let resolve = async |reference: &Value| -> AppResult<Value> {
        let text =
            reference.as_str().ok_or_else(|| AppError::bad_input("reference", "must be `kind/slug` or an id"))?;
        if let Ok(id) = Uuid::parse_str(text) {
            return Ok(Value::from(id.to_string()));
        }
        let (kind, slug) = text
            .split_once('/')
            .ok_or_else(|| AppError::bad_input("reference", format!("`{text}` is not `kind/slug`")))?;
        let entry = content::entry_by_slug(&state.db, kind, slug).await?;
        entry
            .map(|e| Value::from(e.uuid.to_string()))
            .ok_or_else(|| AppError::bad_input("reference", format!("no entry `{text}`")))
    };
    if let Some(parent) = fields.get("parent").filter(|p| !p.is_null()).cloned() {
        fields.insert("parent".into(), resolve(&parent).await?);
    }
    if let Some(Value::Array(links)) = fields.get("links").cloned() {
        let mut resolved = Vec::new();
        for mut link in links {
            let target = link.get("target").cloned().unwrap_or(Value::Null);
            link["target"] = resolve(&target).await?;
            resolved.push(link);
        }
        fields.insert("links".into(), Value::Array(resolved));
    }
    Ok(())
}

/// Validates a parsed line against the database; `None` when it would change nothing.
async fn validate(state: &Deps, parsed: Parsed) -> AppResult<Option<xpr_entity::change::ActiveModel>> {
    let Parsed { op, kind, slug, mut fields, .. } = parsed;
    resolve_refs(state, &mut fields).await?;
    let patch = Patch(fields);
    let existing = content::entry_by_slug(&state.db, &kind, &slug).await?;
    let spec = match (op, existing) {
        (ChangeOp::Create, None) => ChangeSpec { op, kind: Some(kind), entry: None, base_revision: None, patch },
        (_, Some(entry)) => {
            let current = selectors::snapshot_by_id(&state.db, entry.current_revision_id.unwrap_or_default()).await?;
            let after = patch.apply(&current).map_err(|(f, e)| AppError::bad_input(f.name(), e))?;
            let unchanged = match op {
                ChangeOp::Delete => current.deleted,
                _ => after == current,
            };
            if unchanged {
                return Ok(None);
            }
            if op == ChangeOp::Create {
                return Err(AppError::bad_input(
                    "fields.slug",
                    "an entry with this slug exists and differs; use update",
                ));
            }
            ChangeSpec { op, kind: None, entry: Some(entry.uuid), base_revision: Some(entry.version), patch }
        }
        (_, None) => return Err(AppError::bad_input("slug", format!("no entry `{kind}/{slug}`"))),
    };
    Ok(Some(service::prepare(&state.db, None, spec, "").await?))
}

/// Imports `lines` (numbered from 1) in chunks of at most `chunk`, as `viewer`.
pub async fn import(
    state: &Deps,
    viewer: &Viewer,
    lines: impl IntoIterator<Item = String>,
    chunk: usize,
    progress: impl Fn(u64),
) -> AppResult<ImportReport> {
    let mut report = ImportReport::default();
    let mut pending: Vec<Ready> = Vec::new();
    for (index, text) in lines.into_iter().enumerate() {
        let line = index + 1;
        progress(1);
        if text.trim().is_empty() {
            continue;
        }
        let parsed = match parse(&text) {
            Ok(parsed) => parsed,
            Err(err) => {
                report.failed.push((line, reason(err)));
                continue;
            }
        };
        // A line touching or citing what the chunk already touches waits for the chunk to land.
        if pending.len() >= chunk || pending.iter().any(|p| !p.keys.is_disjoint(&parsed.keys)) {
            flush(state, viewer, &mut pending, &mut report).await?;
        }
        let keys = parsed.keys.clone();
        match validate(state, parsed).await {
            Ok(None) => report.unchanged += 1,
            Ok(Some(row)) => pending.push(Ready { line, row, keys }),
            Err(err) => report.failed.push((line, reason(err))),
        }
    }
    flush(state, viewer, &mut pending, &mut report).await?;
    Ok(report)
}

async fn flush(state: &Deps, viewer: &Viewer, pending: &mut Vec<Ready>, report: &mut ImportReport) -> AppResult<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let batch: Vec<Ready> = std::mem::take(pending);
    let lines: Vec<usize> = batch.iter().map(|r| r.line).collect();
    let title = format!("Import of lines {}–{}", lines[0], lines[lines.len() - 1]);
    let rows = batch.into_iter().map(|r| r.row).collect();
    let submission =
        service::open_submission(state, viewer, title, "bulk import", rows, SubmissionStatus::Pending).await?;
    match service::approve(state, viewer, submission.uuid, Some("bulk import".into())).await {
        Ok(outcome) if outcome.conflicts.is_empty() => report.applied += lines.len(),
        Ok(_) => report
            .failed
            .extend(lines.into_iter().map(|l| (l, "conflicted with a concurrent edit; import again".into()))),
        Err(err) => {
            let why = reason(err);
            report.failed.extend(lines.into_iter().map(|l| (l, format!("chunk not merged: {why}"))));
        }
    }
    Ok(())
}
