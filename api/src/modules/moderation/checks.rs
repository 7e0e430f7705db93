//! The automatic checks run on submit and again on merge: the entry rules of
//! its kind (attribute schema, required fields, slug, lengths, parent, links),
//! the blocklist, and — as warnings for moderators — likely duplicate titles.

use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;
use xpr_entity::{blocklist, entry_kind};

use super::domain::{Blocklist, BlocklistKind, title_key};
use crate::{
    error::{AppError, AppResult, FieldError},
    modules::{
        content::{self, selectors as content_selectors, service::Targets},
        versioning::domain::{Snapshot, input_path},
    },
};

/// A finding that doesn't block a submission but that moderators should see.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Warning {
    pub field: String,
    pub message: String,
}

/// Checks snapshots against the blocklist loaded once.
pub struct Checker {
    blocklist: Blocklist,
}

/// How many same-prefix titles are compared when looking for duplicates.
const DUPLICATE_CANDIDATES: u64 = 50;

impl Checker {
    pub async fn load(db: &impl ConnectionTrait) -> AppResult<Self> {
        let mut blocklist = Blocklist::default();
        for row in blocklist::Entity::find().all(db).await? {
            match row.kind {
                BlocklistKind::Term => blocklist.terms.push(row.value),
                BlocklistKind::LinkDomain => blocklist.domains.push(row.value),
            }
        }
        Ok(Self { blocklist })
    }

    /// The field errors of `snapshot` as an entry of `kind` (`itself` when it
    /// exists already), with field paths starting with `prefix`.
    pub fn errors(
        &self,
        kind: &entry_kind::Model,
        snapshot: &Snapshot,
        itself: Option<Uuid>,
        prefix: &str,
        targets: &Targets,
    ) -> AppResult<Vec<FieldError>> {
        let mut errors = match content::service::check(kind, snapshot, itself, prefix, targets) {
            Ok(()) => Vec::new(),
            Err(AppError::BadInput(errors)) => errors,
            Err(other) => return Err(other),
        };
        errors.extend(
            self.blocklist
                .check(snapshot)
                .into_iter()
                .map(|e| FieldError { field: input_path(prefix, &e.field), message: e.message }),
        );
        Ok(errors)
    }

    /// Whether free text hits the blocklist (reviews then wait for a moderator).
    pub fn hits(&self, text: &str) -> bool {
        self.blocklist.hits(text)
    }

    /// Warnings for moderators: another live entry of the kind with the same title.
    pub async fn warnings(
        &self,
        db: &impl ConnectionTrait,
        kind: &entry_kind::Model,
        snapshot: &Snapshot,
        itself: Option<Uuid>,
    ) -> AppResult<Vec<Warning>> {
        let key = title_key(&snapshot.title);
        let Some(first_word) = key.split(' ').next().filter(|w| !w.is_empty()) else { return Ok(Vec::new()) };
        let candidates = content_selectors::entries_titled(db, kind.id, first_word, DUPLICATE_CANDIDATES).await?;
        Ok(candidates
            .into_iter()
            .find(|(uuid, title)| Some(*uuid) != itself && title_key(title) == key)
            .map(|(uuid, title)| Warning {
                field: "title".into(),
                message: format!("likely a duplicate of the {} `{title}` ({uuid})", kind.name),
            })
            .into_iter()
            .collect())
    }
}
