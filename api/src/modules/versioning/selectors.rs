//! Versioning reads: revisions (history pages never load snapshots), snapshots,
//! submissions visible to a viewer, changes, and their loaders.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;
use xpr_entity::{change, entry, revision, revision_archive, submission};

use super::domain::{OPEN_STATUSES, Snapshot, SubmissionStatus};
use crate::{
    auth::{Viewer, policy},
    db,
    deps::Deps,
    error::{AppError, AppResult},
    ids::{EntryId, EntryKindId, RevisionId, SubmissionId, UserId},
    paging::{self, Cursor, Page},
};

/// A revision without its snapshot: what history lists load.
#[derive(Clone, Debug, FromQueryResult, serde::Serialize, serde::Deserialize)]
pub struct RevisionMeta {
    pub id: RevisionId,
    pub uuid: Uuid,
    pub entry_id: EntryId,
    pub number: i32,
    pub parent_id: Option<RevisionId>,
    pub author_id: UserId,
    pub merger_id: Option<UserId>,
    pub submission_id: Option<SubmissionId>,
    pub summary: String,
    pub created_at: DateTime<Utc>,
    pub archived: bool,
}

impl From<revision::Model> for RevisionMeta {
    fn from(r: revision::Model) -> Self {
        Self {
            id: r.id,
            uuid: r.uuid,
            entry_id: r.entry_id,
            number: r.number,
            parent_id: r.parent_id,
            author_id: r.author_id,
            merger_id: r.merger_id,
            submission_id: r.submission_id,
            summary: r.summary,
            created_at: r.created_at,
            archived: r.archived,
        }
    }
}

fn meta() -> Select<revision::Entity> {
    use revision::Column as C;
    revision::Entity::find().select_only().columns([
        C::Id,
        C::Uuid,
        C::EntryId,
        C::Number,
        C::ParentId,
        C::AuthorId,
        C::MergerId,
        C::SubmissionId,
        C::Summary,
        C::CreatedAt,
        C::Archived,
    ])
}

/// The snapshot of a revision, from archive storage if it was archived.
pub async fn snapshot(db: &impl ConnectionTrait, revision: &revision::Model) -> AppResult<Snapshot> {
    let json = if revision.archived {
        let archived = revision_archive::Entity::find_by_id(revision.id).one(db).await?;
        archived
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("archived snapshot {} missing", revision.id)))?
            .snapshot
    } else {
        revision.snapshot.clone()
    };
    serde_json::from_value(json).map_err(AppError::internal)
}

pub async fn snapshot_by_id(db: &impl ConnectionTrait, id: RevisionId) -> AppResult<Snapshot> {
    let revision = revision::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("revision"))?;
    snapshot(db, &revision).await
}

/// The snapshots of revisions by id, archived ones included: two statements at most.
pub async fn snapshots_by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = RevisionId>,
) -> AppResult<HashMap<RevisionId, Snapshot>> {
    let ids: BTreeSet<RevisionId> = ids.into_iter().collect();
    let revisions = revision::Entity::find().filter(revision::Column::Id.is_in(ids)).all(db).await?;
    Ok(with_snapshots(db, revisions).await?.into_iter().map(|(meta, snapshot)| (meta.id, snapshot)).collect())
}

/// An entry's revisions numbered above `after`, oldest first, with their
/// snapshots: two statements at most.
pub async fn revisions_after(
    db: &impl ConnectionTrait,
    entry: EntryId,
    after: i32,
    limit: u64,
) -> AppResult<Vec<(RevisionMeta, Snapshot)>> {
    let revisions = revision::Entity::find()
        .filter(revision::Column::EntryId.eq(entry))
        .filter(revision::Column::Number.gt(after))
        .order_by_asc(revision::Column::Number)
        .limit(limit)
        .all(db)
        .await?;
    with_snapshots(db, revisions).await
}

/// Splits revisions into meta and snapshot, archived snapshots read from
/// archive storage (one statement, only when there are any). Keeps the order.
async fn with_snapshots(
    db: &impl ConnectionTrait,
    revisions: Vec<revision::Model>,
) -> AppResult<Vec<(RevisionMeta, Snapshot)>> {
    let archived: Vec<RevisionId> = revisions.iter().filter(|r| r.archived).map(|r| r.id).collect();
    let mut from_archive: HashMap<RevisionId, serde_json::Value> = if archived.is_empty() {
        HashMap::new()
    } else {
        let rows = revision_archive::Entity::find().filter(revision_archive::Column::RevisionId.is_in(archived));
        rows.all(db).await?.into_iter().map(|a| (a.revision_id, a.snapshot)).collect()
    };
    revisions
        .into_iter()
        .map(|mut r| {
            let json = match r.archived {
                true => from_archive
                    .remove(&r.id)
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("archived snapshot {} missing", r.id)))?,
                false => std::mem::take(&mut r.snapshot),
            };
            Ok((RevisionMeta::from(r), serde_json::from_value(json).map_err(AppError::internal)?))
        })
        .collect()
}

pub async fn revision_by_number(
    db: &impl ConnectionTrait,
    entry: EntryId,
    number: i32,
) -> AppResult<Option<revision::Model>> {
    Ok(revision::Entity::find()
        .filter(revision::Column::EntryId.eq(entry))
        .filter(revision::Column::Number.eq(number))
        .one(db)
        .await?)
}

pub async fn revision_meta_by_number(
    db: &DatabaseConnection,
    entry: EntryId,
    number: i32,
) -> AppResult<Option<RevisionMeta>> {
    Ok(meta()
        .filter(revision::Column::EntryId.eq(entry))
        .filter(revision::Column::Number.eq(number))
        .into_model::<RevisionMeta>()
        .one(db)
        .await?)
}

pub async fn revision_meta_by_uuid(db: &DatabaseConnection, id: Uuid) -> AppResult<Option<RevisionMeta>> {
    Ok(meta().filter(revision::Column::Uuid.eq(id)).into_model::<RevisionMeta>().one(db).await?)
}

/// The revision in force at `instant`: the newest one created at or before it.
pub async fn revision_meta_at(
    db: &DatabaseConnection,
    entry: EntryId,
    instant: DateTime<Utc>,
) -> AppResult<Option<RevisionMeta>> {
    Ok(meta()
        .filter(revision::Column::EntryId.eq(entry))
        .filter(revision::Column::CreatedAt.lte(instant))
        .order_by_desc(revision::Column::Number)
        .into_model::<RevisionMeta>()
        .one(db)
        .await?)
}

/// A page of an entry's history, newest first, through the cache. The key
/// holds the entry's version, so once a merge moves it no stale page is read,
/// and the archive generation, so once revisions are archived (by any
/// process) pages show them flagged.
pub async fn history(state: &Deps, entry: &entry::Model, page: &Page) -> AppResult<(Vec<RevisionMeta>, bool)> {
    let after = page.after_key()?.map(|(number, _)| number.to_owned()).unwrap_or_default();
    let archived = archive_generation(&state.db).await?;
    let key = format!("history:{}:v{}:a{archived}:{}:{after}", entry.id, entry.version, page.first);
    if let Some(hit) = state.cache.get(&key).await.and_then(|bytes| serde_json::from_slice(&bytes).ok()) {
        return Ok(hit);
    }
    let result = history_page(&state.db, entry.id, page).await?;
    if let Ok(bytes) = serde_json::to_vec(&result) {
        state.cache.set(&key, bytes).await;
    }
    Ok(result)
}

/// When revisions were last archived, in microseconds (0: never): every batch
/// of `archive-history` moves it on. One look-up on an index.
async fn archive_generation(db: &DatabaseConnection) -> AppResult<i64> {
    let latest: Option<DateTime<Utc>> = revision_archive::Entity::find()
        .select_only()
        .column(revision_archive::Column::ArchivedAt)
        .order_by_desc(revision_archive::Column::ArchivedAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest.map_or(0, |at| at.timestamp_micros()))
}

/// A page of an entry's history from the database: an index range on (entry, number).
async fn history_page(db: &DatabaseConnection, entry: EntryId, page: &Page) -> AppResult<(Vec<RevisionMeta>, bool)> {
    let mut select = meta().filter(revision::Column::EntryId.eq(entry));
    if let Some((number, _)) = page.after_key()? {
        let number: i32 = number.parse().map_err(|_| AppError::bad_input("after", "not a valid cursor"))?;
        select = select.filter(revision::Column::Number.lt(number));
    }
    let rows = select
        .order_by_desc(revision::Column::Number)
        .limit(page.first + 1)
        .into_model::<RevisionMeta>()
        .all(db)
        .await?;
    Ok(page.finish(rows))
}

pub fn history_cursor(revision: &RevisionMeta) -> Cursor {
    Cursor::new(Some(revision.number.to_string()), revision.uuid)
}

pub async fn submission_by_uuid(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<submission::Model>> {
    Ok(submission::Entity::find().filter(submission::Column::Uuid.eq(id)).one(db).await?)
}

/// Submissions the viewer may see: moderators all, authors their own, everyone merged ones.
pub fn visible_submissions(viewer: Option<&Viewer>) -> Select<submission::Entity> {
    let merged = submission::Column::Status.eq(SubmissionStatus::Merged);
    let query = submission::Entity::find();
    match viewer {
        _ if policy::sees_everything(viewer) => query,
        Some(v) => query.filter(Condition::any().add(merged).add(submission::Column::AuthorId.eq(v.id))),
        None => query.filter(merged),
    }
}

pub async fn visible_submission(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    id: Uuid,
) -> AppResult<Option<submission::Model>> {
    Ok(visible_submissions(viewer).filter(submission::Column::Uuid.eq(id)).one(db).await?)
}

/// Half of a page of the activity feed: up to `page.first + 1` of `author`'s
/// merged submissions after the page's cursor, last merged first. The caller
/// merges it with the other half and finishes the page.
pub async fn merged_of(
    db: &DatabaseConnection,
    viewer: Option<&Viewer>,
    author: UserId,
    page: &Page,
) -> AppResult<Vec<submission::Model>> {
    let select = visible_submissions(viewer)
        .filter(submission::Column::AuthorId.eq(author))
        .filter(submission::Column::Status.eq(SubmissionStatus::Merged));
    paging::newest_after(db, select, submission::Column::DecidedAt, submission::Column::Uuid, page).await
}

pub async fn change_by_uuid(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<change::Model>> {
    Ok(change::Entity::find().filter(change::Column::Uuid.eq(id)).one(db).await?)
}

/// Changes of `author`'s open submissions whose patch cites `media` (an
/// upload's public id): the media cleanup spares those images.
pub fn open_changes_citing(author: UserId, media: Uuid) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    Query::select()
        .expr(Expr::val(1))
        .from(change::Entity)
        .inner_join(
            submission::Entity,
            Expr::col((submission::Entity, submission::Column::Id))
                .equals((change::Entity, change::Column::SubmissionId)),
        )
        .and_where(Expr::col((submission::Entity, submission::Column::AuthorId)).eq(author))
        .and_where(Expr::col((submission::Entity, submission::Column::Status)).is_in(OPEN_STATUSES))
        .and_where(
            Expr::col((change::Entity, change::Column::Patch)).cast_as(Alias::new("TEXT")).like(format!("%{media}%")),
        )
        .to_owned()
}

pub async fn changes_of(db: &impl ConnectionTrait, submission: SubmissionId) -> AppResult<Vec<change::Model>> {
    Ok(change::Entity::find()
        .filter(change::Column::SubmissionId.eq(submission))
        .order_by_asc(change::Column::Position)
        .all(db)
        .await?)
}

/// Batches revisions (without snapshots), snapshots, submissions and changes.
pub struct VersioningLoader {
    db: DatabaseConnection,
}

impl VersioningLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevisionKey(pub RevisionId);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SnapshotKey(pub RevisionId);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubmissionKey(pub SubmissionId);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChangesKey(pub SubmissionId);

impl Loader<RevisionKey> for VersioningLoader {
    type Value = RevisionMeta;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[RevisionKey]) -> Result<HashMap<RevisionKey, RevisionMeta>, Self::Error> {
        let rows = meta()
            .filter(db::any_of(self.db.get_database_backend(), revision::Column::Id, keys.iter().map(|k| k.0)))
            .into_model::<RevisionMeta>()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (RevisionKey(row.id), row)).collect())
    }
}

impl Loader<SnapshotKey> for VersioningLoader {
    type Value = Snapshot;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[SnapshotKey]) -> Result<HashMap<SnapshotKey, Snapshot>, Self::Error> {
        let mut rows: Vec<(RevisionId, serde_json::Value, bool)> = revision::Entity::find()
            .select_only()
            .column(revision::Column::Id)
            .column(revision::Column::Snapshot)
            .column(revision::Column::Archived)
            .filter(db::any_of(self.db.get_database_backend(), revision::Column::Id, keys.iter().map(|k| k.0)))
            .into_tuple()
            .all(&self.db)
            .await?;
        // Archived snapshots live in archive storage: one more statement, only when some are asked for.
        let archived: Vec<RevisionId> =
            rows.iter().filter(|(_, _, archived)| *archived).map(|(id, _, _)| *id).collect();
        if !archived.is_empty() {
            let stored = revision_archive::Entity::find()
                .filter(db::any_of(self.db.get_database_backend(), revision_archive::Column::RevisionId, archived))
                .all(&self.db)
                .await?;
            rows.extend(stored.into_iter().map(|a| (a.revision_id, a.snapshot, false)));
        }
        Ok(rows
            .into_iter()
            .filter(|(_, _, archived)| !archived)
            .filter_map(|(id, json, _)| serde_json::from_value(json).ok().map(|s| (SnapshotKey(id), s)))
            .collect())
    }
}

impl Loader<SubmissionKey> for VersioningLoader {
    type Value = submission::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[SubmissionKey]) -> Result<HashMap<SubmissionKey, submission::Model>, Self::Error> {
        let rows = submission::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), submission::Column::Id, keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (SubmissionKey(row.id), row)).collect())
    }
}

impl Loader<ChangesKey> for VersioningLoader {
    type Value = Vec<change::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ChangesKey]) -> Result<HashMap<ChangesKey, Vec<change::Model>>, Self::Error> {
        let rows = change::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), change::Column::SubmissionId, keys.iter().map(|k| k.0)))
            .order_by_asc(change::Column::Position)
            .all(&self.db)
            .await?;
        let mut map: HashMap<ChangesKey, Vec<change::Model>> = HashMap::new();
        for row in rows {
            map.entry(ChangesKey(row.submission_id)).or_default().push(row);
        }
        Ok(map)
    }
}

/// Which claims the moderation queue shows.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClaimFilter {
    #[default]
    Any,
    /// Not claimed, or the claim expired.
    Unclaimed,
    /// Claimed by the viewer.
    Mine,
    /// Claimed by another moderator.
    Others,
}

/// The review queue: PENDING submissions, oldest submitted first, optionally
/// only those touching entries of one kind.
pub async fn queue(
    db: &DatabaseConnection,
    viewer: &Viewer,
    kind: Option<EntryKindId>,
    claim: ClaimFilter,
    page: &Page,
) -> AppResult<(Vec<submission::Model>, bool)> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let now = Utc::now();
    let mut select = submission::Entity::find().filter(submission::Column::Status.eq(SubmissionStatus::Pending));
    if let Some(kind) = kind {
        let touches = Query::select()
            .expr(Expr::val(1))
            .from(change::Entity)
            .left_join(
                entry::Entity,
                Expr::col((entry::Entity, entry::Column::Id)).equals((change::Entity, change::Column::EntryId)),
            )
            .and_where(
                Expr::col((change::Entity, change::Column::SubmissionId))
                    .equals((submission::Entity, submission::Column::Id)),
            )
            .cond_where(
                Condition::any()
                    .add(Expr::col((change::Entity, change::Column::KindId)).eq(kind))
                    .add(Expr::col((entry::Entity, entry::Column::KindId)).eq(kind)),
            )
            .to_owned();
        select = select.filter(Expr::exists(touches));
    }
    let live = Condition::all()
        .add(submission::Column::ClaimedBy.is_not_null())
        .add(submission::Column::ClaimExpiresAt.gt(now));
    select = match claim {
        ClaimFilter::Any => select,
        ClaimFilter::Unclaimed => select.filter(live.not()),
        ClaimFilter::Mine => select.filter(live).filter(submission::Column::ClaimedBy.eq(viewer.id)),
        ClaimFilter::Others => select.filter(live).filter(submission::Column::ClaimedBy.ne(viewer.id)),
    };
    if let Some((at, id)) = page.after_key()? {
        let at: DateTime<Utc> = at.parse().map_err(|_| AppError::bad_input("after", "not a valid cursor"))?;
        select =
            select.filter(Condition::any().add(submission::Column::SubmittedAt.gt(at)).add(
                Condition::all().add(submission::Column::SubmittedAt.eq(at)).add(submission::Column::Uuid.gt(id)),
            ));
    }
    let rows = select
        .order_by_asc(submission::Column::SubmittedAt)
        .order_by_asc(submission::Column::Uuid)
        .limit(page.first + 1)
        .all(db)
        .await?;
    Ok(page.finish(rows))
}

pub fn queue_cursor(submission: &submission::Model) -> Cursor {
    Cursor::new(submission.submitted_at.map(|at| at.to_rfc3339()), submission.uuid)
}
