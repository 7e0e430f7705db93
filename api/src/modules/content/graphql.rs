//! Content's GraphQL types and fields: entry kinds and entries, read now or
//! at a past revision or instant. Relations resolve through the request's loaders.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Json, Object, OneofObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use xpr_entity::{entry, entry_kind, entry_link};

use super::domain::Ratings;
use super::{
    selectors::{
        self, BacklinksKey, ChildrenKey, EntryFilter as Filter, EntryKey, EntryOrder as Order, KindKey, LinksKey,
        TagsKey,
    },
    service,
};
use crate::{
    error::{AppError, AppResult},
    graphql::{
        context::ContextExt,
        fields::{self, Fields},
        pagination::{self, Connection},
    },
    ids::{EntryId, RevisionId, parse_uuid},
    modules::{
        identity::graphql::User,
        media::{graphql::Media, selectors::EntryMediaKey},
        reviews::{
            graphql::{self as reviews, Review, ReviewOrder, StarCount},
            selectors::ReviewsOf,
        },
        versioning::{
            domain::{MergePolicy, Snapshot},
            graphql::Revision,
            selectors::{self as versioning, RevisionKey, RevisionMeta},
        },
    },
    paging::{Cursor, Page},
};

pub struct EntryKind(pub entry_kind::Model);

fields::object!(EntryKind);

#[Object(name = "EntryKind")]
impl Fields<'_, EntryKind> {
    async fn id(&self) -> ID {
        ID(self.0.uuid.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// JSON Schema that entry attributes must satisfy.
    async fn attribute_schema(&self) -> Json<Value> {
        Json(self.0.attribute_schema.clone())
    }
    /// Slugs of the kinds an entry of this kind may have as parent.
    async fn allowed_parent_kinds(&self) -> Vec<String> {
        serde_json::from_value(self.0.allowed_parent_kinds.clone()).unwrap_or_default()
    }
    async fn merge_policy(&self) -> MergePolicy {
        self.0.merge_policy
    }
}

/// An entry, as it is now or — read with `at` — as it was at a past revision.
/// Its parts are shared: one subscription read answers every subscriber it woke.
pub struct Entry {
    model: Arc<entry::Model>,
    past: Option<Arc<(RevisionMeta, Snapshot)>>,
}

impl Entry {
    pub fn new(model: entry::Model) -> Self {
        Self { model: Arc::new(model), past: None }
    }

    /// The entry `model` as it was at a revision: the revision's versioned
    /// fields; reviews, ratings, images, backlinks and children stay as `model` has them.
    pub fn at(model: Arc<entry::Model>, revision: Arc<(RevisionMeta, Snapshot)>) -> Self {
        Self { model, past: Some(revision) }
    }

    fn snapshot(&self) -> Option<&Snapshot> {
        self.past.as_deref().map(|(_, s)| s)
    }
}

/// A typed link between entries.
pub struct EntryLink {
    link_type: String,
    entry: EntryId,
}

fields::object!(EntryLink);

#[Object(name = "EntryLink")]
impl Fields<'_, EntryLink> {
    #[graphql(name = "type")]
    async fn link_type(&self) -> &str {
        &self.link_type
    }
    async fn entry(&self, ctx: &Context<'_>) -> AppResult<Option<Entry>> {
        load_entry(ctx, self.entry).await
    }
}

async fn load_entry(ctx: &Context<'_>, id: EntryId) -> AppResult<Option<Entry>> {
    Ok(ctx.loaders().content.load_one(EntryKey(id)).await.map_err(AppError::internal)?.map(Entry::new))
}

async fn load_revision(ctx: &Context<'_>, id: Option<RevisionId>) -> AppResult<Option<Revision>> {
    let Some(id) = id else { return Ok(None) };
    let meta = ctx.loaders().versioning.load_one(RevisionKey(id)).await.map_err(AppError::internal)?;
    Ok(meta.map(Revision::new))
}

fn links(rows: Vec<entry_link::Model>, outgoing: bool) -> Vec<EntryLink> {
    rows.into_iter()
        .map(|l| EntryLink { link_type: l.link_type, entry: if outgoing { l.to_entry_id } else { l.from_entry_id } })
        .collect()
}

// Fields that query the database themselves box that query: async-graphql
// allocates (and copies) every field of an object in a future as large as
// its largest resolver's, which unboxed would be kilobytes for each title.
fields::object!(Entry, node);

#[Object(name = "Entry")]
impl Fields<'_, Entry> {
    pub async fn id(&self) -> ID {
        ID(self.model.uuid.to_string())
    }
    async fn kind(&self, ctx: &Context<'_>) -> AppResult<EntryKind> {
        let kind = ctx.loaders().content.load_one(KindKey(self.model.kind_id)).await.map_err(AppError::internal)?;
        kind.map(EntryKind).ok_or_else(|| AppError::not_found("entry kind"))
    }
    async fn slug(&self) -> &str {
        self.snapshot().map_or(&self.model.slug, |s| &s.slug)
    }
    async fn title(&self) -> &str {
        self.snapshot().map_or(&self.model.title, |s| &s.title)
    }
    async fn summary(&self) -> &str {
        self.snapshot().map_or(&self.model.summary, |s| &s.summary)
    }
    /// Markdown.
    async fn body(&self) -> &str {
        self.snapshot().map_or(&self.model.body, |s| &s.body)
    }
    /// Validated against the kind's attribute schema.
    async fn attributes(&self) -> Json<Value> {
        Json(self.snapshot().map_or(self.model.attributes.clone(), |s| Value::Object(s.attributes.clone())))
    }
    async fn tags(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        if let Some(s) = self.snapshot() {
            return Ok(s.tags.iter().cloned().collect());
        }
        let tags = ctx.loaders().content.load_one(TagsKey(self.model.id)).await.map_err(AppError::internal)?;
        Ok(tags.unwrap_or_default())
    }
    async fn deleted(&self) -> bool {
        self.snapshot().map_or(self.model.deleted, |s| s.deleted)
    }
    /// Images, in display order (current state; for a past revision, its `snapshot { mediaIds }`).
    async fn media(&self, ctx: &Context<'_>) -> AppResult<Vec<Media>> {
        let rows = ctx.loaders().media.load_one(EntryMediaKey(self.model.id)).await.map_err(AppError::internal)?;
        Ok(rows.unwrap_or_default().into_iter().map(Media).collect())
    }
    async fn parent(&self, ctx: &Context<'_>) -> AppResult<Option<Entry>> {
        match self.snapshot() {
            Some(s) => match s.parent {
                Some(parent) => Ok(Box::pin(selectors::entry_by_uuid(&ctx.state().db, parent)).await?.map(Entry::new)),
                None => Ok(None),
            },
            None => match self.model.parent_id {
                Some(id) => load_entry(ctx, id).await,
                None => Ok(None),
            },
        }
    }
    /// Links from this entry.
    async fn links(&self, ctx: &Context<'_>) -> AppResult<Vec<EntryLink>> {
        if let Some(s) = self.snapshot() {
            let ids = Box::pin(service::entry_ids(&ctx.state().db, s.links.iter().map(|l| l.target))).await?;
            return Ok(s
                .links
                .iter()
                .filter_map(|l| ids.get(&l.target).map(|id| EntryLink { link_type: l.link_type.clone(), entry: *id }))
                .collect());
        }
        let rows = ctx.loaders().content.load_one(LinksKey(self.model.id)).await.map_err(AppError::internal)?;
        Ok(links(rows.unwrap_or_default(), true))
    }
    /// Links to this entry from others (current state).
    async fn backlinks(&self, ctx: &Context<'_>) -> AppResult<Vec<EntryLink>> {
        let rows = ctx.loaders().content.load_one(BacklinksKey(self.model.id)).await.map_err(AppError::internal)?;
        Ok(links(rows.unwrap_or_default(), false))
    }
    /// Live entries whose parent this is, by title.
    async fn children(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Entry>> {
        let page = Page::parse(first, after)?;
        // First pages (the common case, also in lists) come batched; later pages query directly.
        let (rows, has_next) = if page.after.is_none() {
            let key = ChildrenKey { parent: self.model.id, first: page.first };
            let rows = ctx.loaders().content.load_one(key).await.map_err(AppError::internal)?.unwrap_or_default();
            page.finish(rows)
        } else {
            let filter = Filter { parent: Some(self.model.uuid), ..Default::default() };
            Box::pin(selectors::entries(&ctx.state().db, &filter, Order::Title, &page)).await?
        };
        Ok(pagination::connection(rows, has_next, &page, |e| Order::Title.cursor(e), Entry::new))
    }
    /// Number of the current revision (or of the revision read with `at`).
    async fn version(&self) -> i32 {
        self.past.as_deref().map_or(self.model.version, |(r, _)| r.number)
    }
    /// The revision this view shows.
    async fn revision_shown(&self, ctx: &Context<'_>) -> AppResult<Option<Revision>> {
        if let Some((meta, _)) = self.past.as_deref() {
            return Ok(Some(Revision::new(meta.clone())));
        }
        load_revision(ctx, self.model.current_revision_id).await
    }
    async fn current_revision(&self, ctx: &Context<'_>) -> AppResult<Option<Revision>> {
        load_revision(ctx, self.model.current_revision_id).await
    }
    /// One revision by number.
    async fn revision(&self, ctx: &Context<'_>, number: i32) -> AppResult<Option<Revision>> {
        Ok(Box::pin(versioning::revision_meta_by_number(&ctx.state().db, self.model.id, number))
            .await?
            .map(Revision::new))
    }
    /// Revisions, newest first; pages stay fast however long the history.
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Revision>> {
        let page = Page::parse(first, after)?;
        let (rows, has_next) = Box::pin(versioning::history(ctx.state(), &self.model, &page)).await?;
        Ok(pagination::connection(rows, has_next, &page, versioning::history_cursor, Revision::new))
    }
    /// Published reviews (plus your own, or all for moderators).
    async fn reviews(
        &self,
        ctx: &Context<'_>,
        order_by: Option<ReviewOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Review>> {
        reviews::connection(ctx, ReviewsOf::Entry(self.model.id), order_by, first, after).await
    }
    /// Number of published reviews (the rating is over these).
    async fn rating_count(&self) -> i32 {
        self.model.rating_count
    }
    /// Mean stars of the published reviews; null while there are none.
    async fn rating_average(&self) -> Option<f64> {
        (self.model.rating_count > 0).then_some(self.model.rating_average)
    }
    /// Published reviews per star, 1 to 5.
    async fn rating_distribution(&self) -> Vec<StarCount> {
        let m = &self.model;
        reviews::star_counts(&Ratings { distribution: [m.rating1, m.rating2, m.rating3, m.rating4, m.rating5] })
    }
    async fn creator(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load(ctx, self.model.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.past.as_deref().map_or(self.model.updated_at, |(r, _)| r.created_at)
    }
}

/// Read an entry as it was: at a revision number, or at an instant.
#[derive(OneofObject)]
pub enum RevisionSelector {
    Revision(i32),
    Instant(DateTime<Utc>),
}

#[derive(InputObject, Default)]
pub struct EntryFilter {
    /// Kind slug.
    kind: Option<String>,
    tag: Option<String>,
    parent: Option<ID>,
    /// Case-insensitive part of the title.
    text: Option<String>,
}

#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntryOrder {
    /// A→Z.
    #[default]
    Title,
    /// Most recently updated first.
    UpdatedAt,
    /// Best average rating first; among equal averages, more ratings first; unrated last.
    Rating,
}

#[derive(InputObject)]
pub struct EntryKindInput {
    slug: String,
    name: String,
    #[graphql(default)]
    description: String,
    /// A JSON Schema for entry attributes; `{}` accepts any object.
    attribute_schema: Json<Value>,
    #[graphql(default)]
    allowed_parent_kinds: Vec<String>,
    #[graphql(default_with = "MergePolicy::Field")]
    merge_policy: MergePolicy,
}

#[derive(Default)]
pub struct ContentQuery;

#[Object]
impl ContentQuery {
    async fn entry_kinds(&self, ctx: &Context<'_>) -> AppResult<Vec<EntryKind>> {
        Ok(selectors::kinds(&ctx.state().db).await?.into_iter().map(EntryKind).collect())
    }

    /// An entry by id, or by kind and slug; `at` reads a past revision or instant.
    async fn entry(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        kind: Option<String>,
        slug: Option<String>,
        at: Option<RevisionSelector>,
    ) -> AppResult<Option<Entry>> {
        let db = &ctx.state().db;
        let model = match (id, kind, slug) {
            (Some(id), None, None) => selectors::entry_by_uuid(db, parse_uuid("id", &id)?).await?,
            (None, Some(kind), Some(slug)) => selectors::entry_by_slug(db, &kind, &slug).await?,
            _ => return Err(AppError::bad_input("id", "give either `id`, or `kind` and `slug`")),
        };
        let Some(model) = model else { return Ok(None) };
        let meta = match at {
            None => return Ok(Some(Entry::new(model))),
            Some(RevisionSelector::Revision(n)) => versioning::revision_meta_by_number(db, model.id, n).await?,
            Some(RevisionSelector::Instant(t)) => versioning::revision_meta_at(db, model.id, t).await?,
        };
        let Some(meta) = meta else { return Ok(None) };
        let snapshot = versioning::snapshot_by_id(db, meta.id).await?;
        Ok(Some(Entry::at(Arc::new(model), Arc::new((meta, snapshot)))))
    }

    async fn entries(
        &self,
        ctx: &Context<'_>,
        filter: Option<EntryFilter>,
        order_by: Option<EntryOrder>,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Entry>> {
        let page = Page::parse(first, after)?;
        let filter = filter.unwrap_or_default();
        let filter = Filter {
            kind: filter.kind,
            tag: filter.tag,
            parent: filter.parent.map(|p| parse_uuid("filter.parent", &p)).transpose()?,
            text: filter.text,
        };
        let order = match order_by.unwrap_or_default() {
            EntryOrder::Title => Order::Title,
            EntryOrder::UpdatedAt => Order::UpdatedAt,
            EntryOrder::Rating => Order::Rating,
        };
        let (rows, has_next) = selectors::entries(&ctx.state().db, &filter, order, &page).await?;
        Ok(pagination::connection(rows, has_next, &page, |e| order.cursor(e), Entry::new))
    }

    /// Full-text search over title, summary and body, most relevant first.
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Connection<Entry>> {
        let page = Page::parse(first, after)?;
        let (rows, has_next) = selectors::search(&ctx.state().db, &query, &page).await?;
        Ok(pagination::connection(
            rows,
            has_next,
            &page,
            |(rank, e)| Cursor::new(Some(rank.to_string()), e.uuid),
            |(_, e)| Entry::new(e),
        ))
    }
}

#[derive(Default)]
pub struct ContentMutation;

#[Object]
impl ContentMutation {
    /// Admins only.
    async fn create_entry_kind(&self, ctx: &Context<'_>, input: EntryKindInput) -> AppResult<EntryKind> {
        let new = service::NewKind {
            slug: input.slug,
            name: input.name,
            description: input.description,
            attribute_schema: input.attribute_schema.0,
            allowed_parent_kinds: input.allowed_parent_kinds,
            merge_policy: input.merge_policy,
        };
        Ok(EntryKind(service::create_kind(ctx.state(), ctx.auth().require()?, new).await?))
    }
}
