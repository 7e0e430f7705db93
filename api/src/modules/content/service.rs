//! Content writes: entry kinds (admins), and the entry rows that merges keep
//! in step with revisions. Entries are never edited here on a user's behalf:
//! every change arrives through a merged submission.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use serde_json::Value;
use uuid::Uuid;
use xpr_entity::{entry, entry_kind, entry_link, entry_media, entry_tag, revision_media};

use super::domain::{check_slug, check_snapshot};
use crate::{
    app::AppState,
    auth::Viewer,
    error::{AppError, AppResult, FieldError},
    ids::new_uuid,
    modules::{
        identity::domain::{Role, Scope},
        media,
        moderation::{
            self,
            domain::{ModerationActionKind, TargetType},
        },
        reviews::domain::Ratings,
        versioning::domain::{MergePolicy, Snapshot},
    },
};

pub struct NewKind {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub attribute_schema: Value,
    pub allowed_parent_kinds: Vec<String>,
    pub merge_policy: MergePolicy,
}

pub async fn create_kind(state: &AppState, viewer: &Viewer, input: NewKind) -> AppResult<entry_kind::Model> {
    viewer.require_scope(Scope::Write)?;
    if viewer.role != Role::Admin {
        return Err(AppError::forbidden("only admins define entry kinds"));
    }
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
    let txn = crate::db::write_txn(&state.db).await?;
    let kind = entry_kind::ActiveModel {
        uuid: Set(new_uuid()),
        slug: Set(input.slug),
        name: Set(input.name.trim().to_owned()),
        description: Set(input.description),
        attribute_schema: Set(input.attribute_schema),
        allowed_parent_kinds: Set(Value::from(input.allowed_parent_kinds)),
        merge_policy: Set(input.merge_policy.as_str().to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    moderation::service::record(
        &txn,
        viewer,
        ModerationActionKind::CreateEntryKind,
        (TargetType::EntryKind, kind.uuid),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(kind)
}

pub fn schema_of(kind: &entry_kind::Model) -> AppResult<jsonschema::Validator> {
    jsonschema::validator_for(&kind.attribute_schema)
        .map_err(|err| AppError::internal(anyhow::anyhow!("stored schema: {err}")))
}

/// Ids of the entries with these public ids (missing ones are left out).
pub async fn entry_ids(
    db: &impl ConnectionTrait,
    uuids: impl IntoIterator<Item = Uuid>,
) -> AppResult<HashMap<Uuid, i64>> {
    let uuids: BTreeSet<Uuid> = uuids.into_iter().collect();
    if uuids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, Uuid)> = entry::Entity::find()
        .select_only()
        .column(entry::Column::Id)
        .column(entry::Column::Uuid)
        .filter(entry::Column::Uuid.is_in(uuids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, uuid)| (uuid, id)).collect())
}

/// Checks a snapshot as an entry of `kind`: its fields, the parent (exists,
/// allowed kind, not itself) and link targets (exist). `prefix` names the
/// change in field paths, e.g. `changes.0.`.
pub async fn check(
    db: &impl ConnectionTrait,
    kind: &entry_kind::Model,
    snapshot: &Snapshot,
    itself: Option<Uuid>,
    prefix: &str,
) -> AppResult<()> {
    let mut errors = check_snapshot(snapshot, &schema_of(kind)?);
    if let Some(parent) = snapshot.parent {
        let allowed: Vec<String> = serde_json::from_value(kind.allowed_parent_kinds.clone()).unwrap_or_default();
        let parent_kind = entry::Entity::find()
            .filter(entry::Column::Uuid.eq(parent))
            .filter(entry::Column::Deleted.eq(false))
            .one(db)
            .await?
            .map(|p| p.kind_id);
        let parent_kind = match parent_kind {
            Some(id) => entry_kind::Entity::find_by_id(id).one(db).await?.map(|k| k.slug),
            None => None,
        };
        match parent_kind {
            _ if Some(parent) == itself => errors.push(FieldError::new("parent", "an entry can't be its own parent")),
            None => errors.push(FieldError::new("parent", "no such entry")),
            Some(slug) if !allowed.contains(&slug) => {
                errors.push(FieldError::new("parent", format!("a {} can't have a {slug} as parent", kind.slug)))
            }
            Some(_) => {}
        }
    }
    let targets = entry_ids(db, snapshot.links.iter().map(|l| l.target)).await?;
    if snapshot.links.iter().any(|l| !targets.contains_key(&l.target)) {
        errors.push(FieldError::new("links", "a link points to no entry"));
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(AppError::BadInput(
        errors.into_iter().map(|e| FieldError { field: format!("{prefix}{}", e.field), message: e.message }).collect(),
    ))
}

/// Locks an entry row until the transaction ends (PostgreSQL `FOR UPDATE`;
/// SQLite has one writer, which the merge already holds).
pub async fn lock_entry(txn: &DatabaseTransaction, id: i64) -> AppResult<entry::Model> {
    entry::Entity::find_by_id(id).lock_exclusive().one(txn).await?.ok_or_else(|| AppError::not_found("entry"))
}

/// Stores an entry's rating aggregates; the reviews service recounts them
/// under [`lock_entry`] in the transaction that changed a review.
pub async fn write_ratings(txn: &DatabaseTransaction, id: i64, ratings: &Ratings) -> AppResult<()> {
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
    creator: i64,
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

/// Makes the entry row (with its tags and links) match a newly merged revision.
pub async fn write_entry(
    txn: &DatabaseTransaction,
    entry: entry::Model,
    snapshot: &Snapshot,
    version: i32,
    revision_id: i64,
) -> AppResult<entry::Model> {
    let mut uuids: Vec<Uuid> = snapshot.links.iter().map(|l| l.target).collect();
    uuids.extend(snapshot.parent);
    let ids = entry_ids(txn, uuids).await?;
    let id = entry.id;
    let mut active: entry::ActiveModel = entry.into();
    active.slug = Set(snapshot.slug.clone());
    active.title = Set(snapshot.title.clone());
    active.summary = Set(snapshot.summary.clone());
    active.body = Set(snapshot.body.clone());
    active.attributes = Set(Value::Object(snapshot.attributes.clone()));
    active.parent_id = Set(snapshot.parent.and_then(|p| ids.get(&p).copied()));
    active.deleted = Set(snapshot.deleted);
    active.version = Set(version);
    active.current_revision_id = Set(Some(revision_id));
    active.updated_at = Set(Utc::now());
    let entry = active.update(txn).await?;

    entry_tag::Entity::delete_many().filter(entry_tag::Column::EntryId.eq(id)).exec(txn).await?;
    if !snapshot.tags.is_empty() {
        let tags = snapshot.tags.iter().map(|tag| entry_tag::ActiveModel { entry_id: Set(id), tag: Set(tag.clone()) });
        entry_tag::Entity::insert_many(tags).exec(txn).await?;
    }
    entry_link::Entity::delete_many().filter(entry_link::Column::FromEntryId.eq(id)).exec(txn).await?;
    let links: Vec<_> = snapshot
        .links
        .iter()
        .filter_map(|link| {
            ids.get(&link.target).map(|target| entry_link::ActiveModel {
                from_entry_id: Set(id),
                to_entry_id: Set(*target),
                link_type: Set(link.link_type.clone()),
                ..Default::default()
            })
        })
        .collect();
    if !links.is_empty() {
        entry_link::Entity::insert_many(links).exec(txn).await?;
    }
    entry_media::Entity::delete_many().filter(entry_media::Column::EntryId.eq(id)).exec(txn).await?;
    // An image deleted since the change was written is dropped, not an error.
    let existing = media::selectors::ids_by_uuid(txn, &snapshot.media).await?;
    let shown: Vec<i64> = snapshot.media.iter().filter_map(|uuid| existing.get(uuid).copied()).collect();
    if !shown.is_empty() {
        let rows = shown.iter().zip(0..).map(|(&media_id, position)| entry_media::ActiveModel {
            entry_id: Set(id),
            media_id: Set(media_id),
            position: Set(position),
        });
        entry_media::Entity::insert_many(rows).exec_without_returning(txn).await?;
        // Every image a revision showed stays on record: a revert may bring it back.
        let rows =
            shown.iter().map(|&media_id| revision_media::ActiveModel { media_id: Set(media_id), entry_id: Set(id) });
        revision_media::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([revision_media::Column::MediaId, revision_media::Column::EntryId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(entry)
}
