//! Content reads: kinds, entries (lists skip deleted ones), search, and the
//! loaders that resolve entry relations in batches.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Func},
};
use uuid::Uuid;
use xpr_entity::{entry, entry_kind, entry_link, entry_tag};

use crate::{
    db::{self, rows},
    error::{AppError, AppResult},
    ids::{EntryId, EntryKindId},
    paging::{Cursor, Page},
};

pub async fn kinds(db: &DatabaseConnection) -> AppResult<Vec<entry_kind::Model>> {
    Ok(entry_kind::Entity::find().order_by_asc(entry_kind::Column::Slug).all(db).await?)
}

pub async fn kind_by_slug(db: &impl sea_orm::ConnectionTrait, slug: &str) -> AppResult<entry_kind::Model> {
    entry_kind::Entity::find()
        .filter(entry_kind::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input("kind", format!("no entry kind `{slug}`")))
}

/// Kinds by id (missing ones are left out).
pub async fn kinds_by_id(
    db: &impl sea_orm::ConnectionTrait,
    ids: impl IntoIterator<Item = EntryKindId>,
) -> AppResult<HashMap<EntryKindId, entry_kind::Model>> {
    let ids: BTreeSet<EntryKindId> = ids.into_iter().collect();
    let kinds = entry_kind::Entity::find().filter(entry_kind::Column::Id.is_in(ids)).all(db).await?;
    Ok(kinds.into_iter().map(|k| (k.id, k)).collect())
}

/// An entry by public id; deleted entries are returned too (flagged), so they can be read and reverted.
pub async fn entry_by_uuid(db: &impl sea_orm::ConnectionTrait, id: Uuid) -> AppResult<Option<entry::Model>> {
    Ok(entry::Entity::find().filter(entry::Column::Uuid.eq(id)).one(db).await?)
}

pub async fn entry_by_slug(db: &DatabaseConnection, kind: &str, slug: &str) -> AppResult<Option<entry::Model>> {
    let Some(kind) = entry_kind::Entity::find().filter(entry_kind::Column::Slug.eq(kind)).one(db).await? else {
        return Ok(None);
    };
    entry_by_slug_in(db, kind.id, slug).await
}

pub async fn entry_by_slug_in(
    db: &impl sea_orm::ConnectionTrait,
    kind: EntryKindId,
    slug: &str,
) -> AppResult<Option<entry::Model>> {
    Ok(entry::Entity::find()
        .filter(entry::Column::KindId.eq(kind))
        .filter(entry::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// Live entries of a kind whose title starts with the word `prefix` (lower-case letters and digits), at most `limit`.
pub async fn entries_titled(
    db: &impl sea_orm::ConnectionTrait,
    kind: EntryKindId,
    prefix: &str,
    limit: u64,
) -> AppResult<Vec<(Uuid, String)>> {
    Ok(entry::Entity::find()
        .select_only()
        .column(entry::Column::Uuid)
        .column(entry::Column::Title)
        .filter(entry::Column::KindId.eq(kind))
        .filter(entry::Column::Deleted.eq(false))
        .filter(Expr::expr(Func::lower(Expr::col(entry::Column::Title))).like(format!("{prefix}%")))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// The public ids of entries, in the order of `ids` (missing ones are left out).
pub async fn entry_uuids(db: &impl sea_orm::ConnectionTrait, ids: Vec<EntryId>) -> AppResult<Vec<(EntryId, Uuid)>> {
    let found: HashMap<EntryId, Uuid> = entry::Entity::find()
        .select_only()
        .column(entry::Column::Id)
        .column(entry::Column::Uuid)
        .filter(entry::Column::Id.is_in(ids.clone()))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(ids.into_iter().filter_map(|id| found.get(&id).map(|uuid| (id, *uuid))).collect())
}

pub async fn entry_kind_id(db: &impl sea_orm::ConnectionTrait, entry: EntryId) -> AppResult<EntryKindId> {
    let entry = entry::Entity::find_by_id(entry).one(db).await?.ok_or_else(|| AppError::not_found("entry"))?;
    Ok(entry.kind_id)
}

#[derive(Default)]
pub struct EntryFilter {
    pub kind: Option<String>,
    pub tag: Option<String>,
    pub parent: Option<Uuid>,
    /// Case-insensitive substring of the title.
    pub text: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum EntryOrder {
    Title,
    UpdatedAt,
    Rating,
}

impl EntryOrder {
    pub fn cursor(self, entry: &entry::Model) -> Cursor {
        let key = match self {
            EntryOrder::Title => entry.title.clone(),
            EntryOrder::UpdatedAt => entry.updated_at.to_rfc3339(),
            // `f64`'s shortest round-trip text parses back to the stored value exactly.
            EntryOrder::Rating => format!("{}/{}", entry.rating_average, entry.rating_count),
        };
        Cursor::new(Some(key), entry.uuid)
    }
}

/// A page of live entries, filtered and ordered by title (A→Z), update time
/// (newest first) or rating (best average first, more ratings first among equals).
pub async fn entries(
    db: &DatabaseConnection,
    filter: &EntryFilter,
    order: EntryOrder,
    page: &Page,
) -> AppResult<(Vec<entry::Model>, bool)> {
    let mut select = entry::Entity::find().filter(entry::Column::Deleted.eq(false));
    if let Some(kind) = &filter.kind {
        let kind = kind_by_slug(db, kind).await?;
        select = select.filter(entry::Column::KindId.eq(kind.id));
    }
    if let Some(tag) = &filter.tag {
        let tagged = sea_orm::sea_query::Query::select()
            .column(entry_tag::Column::EntryId)
            .from(entry_tag::Entity)
            .and_where(entry_tag::Column::Tag.eq(super::domain::normalize_tag(tag)))
            .to_owned();
        select = select.filter(entry::Column::Id.in_subquery(tagged));
    }
    if let Some(parent) = filter.parent {
        let parent =
            entry::Entity::find().select_only().column(entry::Column::Id).filter(entry::Column::Uuid.eq(parent));
        select = select.filter(entry::Column::ParentId.in_subquery(sea_orm::QueryTrait::into_query(parent)));
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", text.to_lowercase().replace(['\\', '%', '_'], ""));
        select =
            select.filter(Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(entry::Column::Title))).like(pattern));
    }
    let after = page.after_key()?;
    select = match order {
        EntryOrder::Title => {
            if let Some((title, id)) = after {
                select = select.filter(
                    Condition::any()
                        .add(entry::Column::Title.gt(title))
                        .add(Condition::all().add(entry::Column::Title.eq(title)).add(entry::Column::Uuid.gt(id))),
                );
            }
            select.order_by_asc(entry::Column::Title).order_by_asc(entry::Column::Uuid)
        }
        EntryOrder::UpdatedAt => {
            if let Some((at, id)) = after {
                let at: DateTime<Utc> = at.parse().map_err(|_| AppError::bad_input("after", "not a valid cursor"))?;
                select = select.filter(
                    Condition::any()
                        .add(entry::Column::UpdatedAt.lt(at))
                        .add(Condition::all().add(entry::Column::UpdatedAt.eq(at)).add(entry::Column::Uuid.lt(id))),
                );
            }
            select.order_by_desc(entry::Column::UpdatedAt).order_by_desc(entry::Column::Uuid)
        }
        EntryOrder::Rating => {
            if let Some((key, id)) = after {
                let (average, count) = key
                    .split_once('/')
                    .and_then(|(a, c)| Some((a.parse::<f64>().ok()?, c.parse::<i32>().ok()?)))
                    .ok_or_else(|| AppError::bad_input("after", "not a valid cursor"))?;
                let same_average = Condition::all().add(entry::Column::RatingAverage.eq(average));
                select = select.filter(
                    Condition::any()
                        .add(entry::Column::RatingAverage.lt(average))
                        .add(same_average.clone().add(entry::Column::RatingCount.lt(count)))
                        .add(same_average.add(entry::Column::RatingCount.eq(count)).add(entry::Column::Uuid.gt(id))),
                );
            }
            select
                .order_by_desc(entry::Column::RatingAverage)
                .order_by_desc(entry::Column::RatingCount)
                .order_by_asc(entry::Column::Uuid)
        }
    };
    let found = db.query_all(&select.limit(page.first + 1).into_query()).await?;
    Ok(page.finish(rows::each(&found, rows::entry).collect::<Result<_, _>>()?))
}

/// Live entries matching `query`, most relevant first: PostgreSQL full-text
/// search on its GIN index, SQLite FTS5 with bm25. The cursor is the rank position.
pub async fn search(
    db: &DatabaseConnection,
    query: &str,
    page: &Page,
) -> AppResult<(Vec<(usize, entry::Model)>, bool)> {
    let offset: usize = match page.after_key()? {
        Some((position, _)) => position.parse().map_err(|_| AppError::bad_input("after", "not a valid cursor"))?,
        None => 0,
    };
    let words: Vec<String> =
        query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(16).map(str::to_lowercase).collect();
    if words.is_empty() {
        return Ok((Vec::new(), false));
    }
    let ranked = match db.get_database_backend() {
        DbBackend::Postgres => Expr::cust_with_values(
            "ts_rank(to_tsvector('simple', title || ' ' || summary || ' ' || body), plainto_tsquery('simple', $1))",
            [words.join(" ")],
        ),
        _ => Expr::cust("0"),
    };
    let mut select = entry::Entity::find().filter(entry::Column::Deleted.eq(false));
    select = match db.get_database_backend() {
        DbBackend::Postgres => select
            .filter(Expr::cust_with_values(
                "to_tsvector('simple', title || ' ' || summary || ' ' || body) @@ plainto_tsquery('simple', $1)",
                [words.join(" ")],
            ))
            .order_by_desc(ranked),
        _ => {
            // FTS5: every word must match (as a prefix); bm25 is lower for better matches.
            let fts = words.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" ");
            select
                .filter(Expr::cust_with_values(
                    "entries.id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?)",
                    [fts.clone()],
                ))
                .order_by_asc(Expr::cust_with_values(
                    "(SELECT bm25(entries_fts) FROM entries_fts WHERE entries_fts MATCH ? AND rowid = entries.id)",
                    [fts],
                ))
        }
    };
    let rows = select.order_by_asc(entry::Column::Id).offset(offset as u64).limit(page.first + 1).all(db).await?;
    let (rows, has_next) = page.finish(rows);
    Ok((rows.into_iter().enumerate().map(|(i, row)| (offset + i + 1, row)).collect(), has_next))
}

fn grouped<K: std::hash::Hash + Eq, V>(rows: impl IntoIterator<Item = (K, V)>) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for (key, value) in rows {
        map.entry(key).or_default().push(value);
    }
    map
}

/// Batches the relations of entries: the entries themselves, kinds, tags, links and backlinks.
pub struct ContentLoader {
    db: DatabaseConnection,
}

impl ContentLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// Entry by internal id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryKey(pub EntryId);
/// Kind by internal id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KindKey(pub EntryKindId);
/// Tags of an entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagsKey(pub EntryId);
/// Links from an entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinksKey(pub EntryId);
/// Links to an entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BacklinksKey(pub EntryId);
/// The first `first + 1` live children of an entry, by title (one more tells whether a page follows).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildrenKey {
    pub parent: EntryId,
    pub first: u64,
}

impl Loader<EntryKey> for ContentLoader {
    type Value = entry::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[EntryKey]) -> Result<HashMap<EntryKey, entry::Model>, Self::Error> {
        let select = entry::Entity::find().filter(db::any_of(
            self.db.get_database_backend(),
            entry::Column::Id,
            keys.iter().map(|k| k.0),
        ));
        let found = self.db.query_all(&select.into_query()).await?;
        Ok(rows::each(&found, rows::entry)
            .map(|entry| entry.map(|entry| (EntryKey(entry.id), entry)))
            .collect::<Result<_, _>>()?)
    }
}

impl Loader<KindKey> for ContentLoader {
    type Value = entry_kind::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[KindKey]) -> Result<HashMap<KindKey, entry_kind::Model>, Self::Error> {
        let rows = entry_kind::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), entry_kind::Column::Id, keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|row| (KindKey(row.id), row)).collect())
    }
}

impl Loader<TagsKey> for ContentLoader {
    type Value = Vec<String>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[TagsKey]) -> Result<HashMap<TagsKey, Vec<String>>, Self::Error> {
        let rows = entry_tag::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), entry_tag::Column::EntryId, keys.iter().map(|k| k.0)))
            .order_by_asc(entry_tag::Column::Tag)
            .all(&self.db)
            .await?;
        Ok(grouped(rows.into_iter().map(|row| (TagsKey(row.entry_id), row.tag))))
    }
}

impl Loader<LinksKey> for ContentLoader {
    type Value = Vec<entry_link::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[LinksKey]) -> Result<HashMap<LinksKey, Vec<entry_link::Model>>, Self::Error> {
        let rows = entry_link::Entity::find()
            .filter(db::any_of(
                self.db.get_database_backend(),
                entry_link::Column::FromEntryId,
                keys.iter().map(|k| k.0),
            ))
            .order_by_asc(entry_link::Column::Id)
            .all(&self.db)
            .await?;
        Ok(grouped(rows.into_iter().map(|row| (LinksKey(row.from_entry_id), row))))
    }
}

impl Loader<BacklinksKey> for ContentLoader {
    type Value = Vec<entry_link::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[BacklinksKey]) -> Result<HashMap<BacklinksKey, Vec<entry_link::Model>>, Self::Error> {
        let rows = entry_link::Entity::find()
            .filter(db::any_of(self.db.get_database_backend(), entry_link::Column::ToEntryId, keys.iter().map(|k| k.0)))
            .order_by_asc(entry_link::Column::Id)
            .all(&self.db)
            .await?;
        Ok(grouped(rows.into_iter().map(|row| (BacklinksKey(row.to_entry_id), row))))
    }
}

impl Loader<ChildrenKey> for ContentLoader {
    type Value = Vec<entry::Model>;
    type Error = Arc<DbErr>;

    /// First pages of children for many parents in one statement: rows are
    /// numbered per parent by a window function and cut at the largest page.
    async fn load(&self, keys: &[ChildrenKey]) -> Result<HashMap<ChildrenKey, Vec<entry::Model>>, Self::Error> {
        use sea_orm::sea_query::{Alias, Asterisk, Query};
        let limit = keys.iter().map(|k| k.first + 1).max().unwrap_or(1);
        let ranked = Query::select()
            .column(Asterisk)
            .expr_as(
                Expr::cust("ROW_NUMBER() OVER (PARTITION BY parent_id ORDER BY title, uuid)"),
                Alias::new("child_rank"),
            )
            .from(entry::Entity)
            .and_where(entry::Column::Deleted.eq(false))
            .and_where(db::any_of(
                self.db.get_database_backend(),
                entry::Column::ParentId,
                keys.iter().map(|k| k.parent),
            ))
            .to_owned();
        let page = Query::select()
            .column(Asterisk)
            .from_subquery(ranked, Alias::new("ranked"))
            .and_where(Expr::col(Alias::new("child_rank")).lte(limit))
            .order_by(Alias::new("child_rank"), sea_orm::Order::Asc)
            .to_owned();
        let rows = entry::Model::find_by_statement(self.db.get_database_backend().build(&page)).all(&self.db).await?;
        let by_parent = grouped(rows.into_iter().filter_map(|row| row.parent_id.map(|p| (p, row))));
        Ok(keys
            .iter()
            .map(|key| {
                let rows =
                    by_parent.get(&key.parent).map(|rows| rows.iter().take(key.first as usize + 1).cloned().collect());
                (*key, rows.unwrap_or_default())
            })
            .collect())
    }
}
