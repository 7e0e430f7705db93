//! Content writes: entry kinds (admins), and the entry rows that merges keep
//! in step with revisions. Entries are never edited here on a user's behalf:
//! every change arrives through a merged submission.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use serde_json::Value;
use uuid::Uuid;
use xpr_entity::{entry, entry_kind, entry_link, entry_media, entry_tag, revision_media};

use super::domain::{MergePolicy, Ratings, check_slug, check_snapshot};
use super::snapshot::{Snapshot, input_path};
use crate::audit::{self, ModerationActionKind, TargetType};
use crate::{
    auth::{
        Viewer,
        policy::{self, Action},
    },
    db,
    deps::Deps,
    error::{AppError, AppResult, FieldError},
    ids::{EntryId, RevisionId, UserId, new_uuid},
    modules::{identity::domain::Scope, media},
};

pub struct NewKind {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub attribute_schema: Value,
    pub allowed_parent_kinds: Vec<String>,
    pub merge_policy: MergePolicy,
}

pub async fn create_kind(state: &Deps, viewer: &Viewer, input: NewKind) -> AppResult<entry_kind::Model> {
    viewer.require_scope(Scope::Write)?;
    policy::check(viewer, Action::DefineEntryKinds)?;
    let mut errors = Vec::new();
    if let Err(err) = check_slug("slug", &input.slug) {
        errors.push(err);
    }
    if !(1..=128).contains(&input.name.trim().chars().count()) {
        errors.push(FieldError::new("name", "must be 1 to 128 characters long"));
    }
    if let Err(err) = jsonschema::validator_for(&input.attribute_schema) {
        errors.push(FieldError::new("attributeSchema", format!("is not a valid JSON Schema: {err}")));
    }
    let known = super::selectors::kinds(&state.db).await?;
    for parent in &input.allowed_parent_kinds {
        if parent != &input.slug && !known.iter().any(|k| &k.slug == parent) {
            errors.push(FieldError::new("allowedParentKinds", format!("unknown kind `{parent}`")));
        }
    }
    if known.iter().any(|k| k.slug == input.slug) {
        errors.push(FieldError::new("slug", "is already taken"));
    }
    if !errors.is_empty() {
        return Err(AppError::BadInput(errors));
    }
    crate::db::transaction!(&state.db, |txn| {
        let kind = entry_kind::ActiveModel {
            uuid: Set(new_uuid()),
            slug: Set(input.slug.clone()),
            name: Set(input.name.trim().to_owned()),
            description: Set(input.description.clone()),
            attribute_schema: Set(input.attribute_schema.clone()),
            allowed_parent_kinds: Set(Value::from(input.allowed_parent_kinds.clone())),
            merge_policy: Set(input.merge_policy),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(&txn, viewer, ModerationActionKind::CreateEntryKind, (TargetType::EntryKind, kind.uuid), None)
            .await?;
        Ok(kind)
    })
}

pub fn schema_of(kind: &entry_kind::Model) -> AppResult<jsonschema::Validator> {
    jsonschema::validator_for(&kind.attribute_schema)
        .map_err(|err| AppError::internal(anyhow::anyhow!("stored schema: {err}")))
}

/// Ids of the entries with these public ids (missing ones are left out).
pub async fn entry_ids(
    db: &impl ConnectionTrait,
    uuids: impl IntoIterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, EntryId>> {
    let uuids: BTreeSet<Uuid> = uuids.into_iter().collect();
    if uuids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(EntryId, Uuid)> = entry::Entity::find()
        .select_only()
        .column(entry::Column::Id)
        .column(entry::Column::Uuid)
        .filter(entry::Column::Uuid.is_in(uuids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, uuid)| (uuid, id)).collect())
}

/// What the checks and the entry rows need to know about the entries that
/// snapshots point at (parents and link targets), read once for a batch.
#[derive(Default)]
pub struct Targets(HashMap<Uuid, Target>);

struct Target {
    id: EntryId,
    kind: String,
    deleted: bool,
}

impl Targets {
    pub async fn load<'a>(
        db: &impl ConnectionTrait,
        snapshots: impl IntoIterator<Item = &'a Snapshot>,
    ) -> AppResult<Self> {
        let uuids: BTreeSet<Uuid> =
            snapshots.into_iter().flat_map(|s| s.links.iter().map(|l| l.target).chain(s.parent)).collect();
        if uuids.is_empty() {
            return Ok(Self::default());
        }
        let rows: Vec<(EntryId, Uuid, bool, String)> = entry::Entity::find()
            .select_only()
            .columns([entry::Column::Id, entry::Column::Uuid, entry::Column::Deleted])
            .column(entry_kind::Column::Slug)
            .join(
                JoinType::InnerJoin,
                entry::Entity::belongs_to(entry_kind::Entity)
                    .from(entry::Column::KindId)
                    .to(entry_kind::Column::Id)
                    .into(),
            )
            .filter(entry::Column::Uuid.is_in(uuids))
            .into_tuple()
            .all(db)
            .await?;
        Ok(Self(rows.into_iter().map(|(id, uuid, deleted, kind)| (uuid, Target { id, kind, deleted })).collect()))
    }

    fn id(&self, uuid: &Uuid) -> Option<EntryId> {
        self.0.get(uuid).map(|t| t.id)
    }
}

/// Checks a snapshot as an entry of `kind`: its fields, the parent (exists,
/// allowed kind, not itself) and link targets (exist). `prefix` names the
/// change in field paths, e.g. `changes.0.` (see [`input_path`]).
pub fn check(
    kind: &entry_kind::Model,
    snapshot: &Snapshot,
    itself: Option<Uuid>,
    prefix: &str,
    targets: &Targets,
) -> AppResult<()> {
    let mut errors = check_snapshot(snapshot, &schema_of(kind)?);
    if let Some(parent) = snapshot.parent {
        let allowed: Vec<String> = serde_json::from_value(kind.allowed_parent_kinds.clone()).unwrap_or_default();
        match targets.0.get(&parent).filter(|p| !p.deleted) {
            _ if Some(parent) == itself => errors.push(FieldError::new("parent", "an entry can't be its own parent")),
            None => errors.push(FieldError::new("parent", "no such entry")),
            Some(p) if !allowed.contains(&p.kind) => {
                errors.push(FieldError::new("parent", format!("a {} can't have a {} as parent", kind.slug, p.kind)))
            }
            Some(_) => {}
        }
    }
    if snapshot.links.iter().any(|l| targets.id(&l.target).is_none()) {
        errors.push(FieldError::new("links", "a link points to no entry"));
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(AppError::BadInput(
        errors.into_iter().map(|e| FieldError { field: input_path(prefix, &e.field), message: e.message }).collect(),
    ))
}

/// Locks an entry row until the transaction ends (PostgreSQL `FOR UPDATE`;
/// SQLite has one writer, which the merge already holds).
pub async fn lock_entry(txn: &DatabaseTransaction, id: EntryId) -> AppResult<entry::Model> {
    entry::Entity::find_by_id(id).lock_exclusive().one(txn).await?.ok_or_else(|| AppError::not_found("entry"))
}

/// Locks entry rows until the transaction ends, in id order so that two
/// merges never wait on each other crosswise.
pub async fn lock_entries(txn: &DatabaseTransaction, ids: Vec<EntryId>) -> AppResult<HashMap<EntryId, entry::Model>> {
    let rows =
        entry::Entity::find().filter(entry::Column::Id.is_in(ids)).order_by_asc(entry::Column::Id).lock_exclusive();
    Ok(rows.all(txn).await?.into_iter().map(|e| (e.id, e)).collect())
}

/// Stores an entry's rating aggregates; the reviews service recounts them
/// under [`lock_entry`] in the transaction that changed a review.
pub async fn write_ratings(txn: &DatabaseTransaction, id: EntryId, ratings: &Ratings) -> AppResult<()> {
    let [one, two, three, four, five] = ratings.distribution;
    entry::Entity::update_many()
        .col_expr(entry::Column::RatingCount, Expr::value(ratings.count()))
        .col_expr(entry::Column::RatingAverage, Expr::value(ratings.average()))
        .col_expr(entry::Column::Rating1, Expr::value(one))
        .col_expr(entry::Column::Rating2, Expr::value(two))
        .col_expr(entry::Column::Rating3, Expr::value(three))
        .col_expr(entry::Column::Rating4, Expr::value(four))
        .col_expr(entry::Column::Rating5, Expr::value(five))
        .filter(entry::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Inserts the row of a new entry; the merge then writes its first revision.
pub async fn insert_entry(
    txn: &DatabaseTransaction,
    kind: &entry_kind::Model,
    snapshot: &Snapshot,
    creator: UserId,
) -> AppResult<entry::Model> {
    let now = Utc::now();
    Ok(entry::ActiveModel {
        uuid: Set(new_uuid()),
        kind_id: Set(kind.id),
        slug: Set(snapshot.slug.clone()),
        title: Set(snapshot.title.clone()),
        summary: Set(String::new()),
        body: Set(String::new()),
        attributes: Set(Value::Object(Default::default())),
        version: Set(0),
        deleted: Set(false),
        created_by: Set(creator),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

/// An entry row to bring in step with its new revision.
pub struct EntryWrite<'a> {
    pub entry: entry::Model,
    pub snapshot: &'a Snapshot,
    pub version: i32,
    pub revision_id: RevisionId,
}

/// Writes the entry rows of a merge and their tags, links and images: one
/// `UPDATE` per entry, the rest in a few statements for the whole batch.
/// `targets` resolves parents and links, checked before the merge inserted anything.
pub async fn write_entries(txn: &DatabaseTransaction, writes: Vec<EntryWrite<'_>>, targets: &Targets) -> AppResult<()> {
    let ids: Vec<EntryId> = writes.iter().map(|w| w.entry.id).collect();
    let uuids: Vec<Uuid> = writes.iter().flat_map(|w| w.snapshot.media.iter().copied()).collect();
    let images = media::selectors::ids_by_uuid(txn, &uuids).await?;
    let (mut tags, mut links, mut shown, mut kept) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for EntryWrite { entry, snapshot, version, revision_id } in writes {
        let id = entry.id;
        let mut active: entry::ActiveModel = entry.into();
        active.slug = Set(snapshot.slug.clone());
        active.title = Set(snapshot.title.clone());
        active.summary = Set(snapshot.summary.clone());
        active.body = Set(snapshot.body.clone());
        active.attributes = Set(Value::Object(snapshot.attributes.clone()));
        active.parent_id = Set(snapshot.parent.and_then(|p| targets.id(&p)));
        active.deleted = Set(snapshot.deleted);
        active.version = Set(version);
        active.current_revision_id = Set(Some(revision_id));
        active.updated_at = Set(Utc::now());
        active.update(txn).await?;

        tags.extend(
            snapshot.tags.iter().map(|tag| entry_tag::ActiveModel { entry_id: Set(id), tag: Set(tag.clone()) }),
        );
        links.extend(snapshot.links.iter().filter_map(|link| {
            targets.id(&link.target).map(|target| entry_link::ActiveModel {
                from_entry_id: Set(id),
                to_entry_id: Set(target),
                link_type: Set(link.link_type.clone()),
                ..Default::default()
            })
        }));
        // An image deleted since the change was written is dropped, not an error.
        let existing = snapshot.media.iter().filter_map(|uuid| images.get(uuid).copied());
        for (media_id, position) in existing.zip(0..) {
            shown.push(entry_media::ActiveModel {
                entry_id: Set(id),
                media_id: Set(media_id),
                position: Set(position),
            });
            // Every image a revision showed stays on record: a revert may bring it back.
            kept.push(revision_media::ActiveModel { media_id: Set(media_id), entry_id: Set(id) });
        }
    }
    entry_tag::Entity::delete_many().filter(entry_tag::Column::EntryId.is_in(ids.clone())).exec(txn).await?;
    db::insert_all(txn, tags, None).await?;
    entry_link::Entity::delete_many().filter(entry_link::Column::FromEntryId.is_in(ids.clone())).exec(txn).await?;
    db::insert_all(txn, links, None).await?;
    entry_media::Entity::delete_many().filter(entry_media::Column::EntryId.is_in(ids)).exec(txn).await?;
    db::insert_all(txn, shown, None).await?;
    let on_record =
        OnConflict::columns([revision_media::Column::MediaId, revision_media::Column::EntryId]).do_nothing().to_owned();
    db::insert_all(txn, kept, Some(on_record)).await?;
    Ok(())
}
