//! The automatic checks run on submit and again on merge: the entry rules of
//! its kind (attribute schema, required fields, slug, lengths, parent, links),
//! the blocklist (which moderation's admins keep), and — as warnings for
//! moderators — likely duplicate titles.

use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;
pub use xpr_entity::enums::BlocklistKind;
use xpr_entity::{blocklist, entry_kind};

use super::{
    selectors as content_selectors,
    service::Targets,
    snapshot::{Snapshot, input_path},
};
use crate::error::{AppError, AppResult, FieldError};

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
        let mut errors = match super::service::check(kind, snapshot, itself, prefix, targets) {
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

/// The blocked terms and link domains, lower-cased.
#[derive(Debug, Default)]
pub struct Blocklist {
    pub terms: Vec<String>,
    pub domains: Vec<String>,
}

impl Blocklist {
    /// Field errors for blocked terms and denied link domains in a snapshot.
    pub fn check(&self, snapshot: &Snapshot) -> Vec<FieldError> {
        let mut texts = vec![
            ("slug".to_owned(), snapshot.slug.clone()),
            ("title".to_owned(), snapshot.title.clone()),
            ("summary".to_owned(), snapshot.summary.clone()),
            ("body".to_owned(), snapshot.body.clone()),
        ];
        texts.extend(snapshot.tags.iter().map(|tag| ("tags".to_owned(), tag.clone())));
        for (key, value) in &snapshot.attributes {
            strings_in(value, &mut |s| texts.push((format!("attributes.{key}"), s.to_owned())));
        }
        let mut errors = Vec::new();
        for (field, text) in &texts {
            if let Some(term) = self.terms.iter().find(|term| contains_term(text, term)) {
                errors.push(FieldError::new(field, format!("contains the blocked term `{term}`")));
            }
            if let Some(domain) = link_hosts(text).find(|host| self.denies(host)) {
                errors.push(FieldError::new(field, format!("links to `{domain}`, which is not allowed")));
            }
        }
        errors
    }

    /// Whether free text (e.g. a review) contains a blocked term or a denied link.
    pub fn hits(&self, text: &str) -> bool {
        self.terms.iter().any(|term| contains_term(text, term)) || link_hosts(text).any(|host| self.denies(&host))
    }

    fn denies(&self, host: &str) -> bool {
        self.domains.iter().any(|d| host == d || host.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.')))
    }
}

fn strings_in(value: &serde_json::Value, found: &mut impl FnMut(&str)) {
    match value {
        serde_json::Value::String(s) => found(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings_in(v, found)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings_in(v, found)),
        _ => {}
    }
}

/// Whether `text` contains `term` (lower-case) as whole words: "ass" is not
/// found in "class", so the blocklist doesn't refuse innocent words.
pub fn contains_term(text: &str, term: &str) -> bool {
    let text = text.to_lowercase();
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(term)
        .any(|(at, _)| !is_word(text[..at].chars().next_back()) && !is_word(text[at + term.len()..].chars().next()))
}

/// Lower-cased hosts of the http(s) URLs written in `text`.
pub fn link_hosts(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices("://").filter_map(move |(at, _)| {
        let scheme = text[..at].rsplit(|c: char| !c.is_ascii_alphabetic()).next()?.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let rest = &text[at + 3..];
        let authority = rest
            .split(|c: char| matches!(c, '/' | '?' | '#' | ')' | ']' | '>' | '"' | '\'') || c.is_whitespace())
            .next()?;
        let host = authority.rsplit('@').next()?.split(':').next()?.trim_end_matches('.');
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    })
}

/// A title reduced to what makes two titles "the same": lower-case words.
pub fn title_key(title: &str) -> String {
    title.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_match_whole_words_only() {
        assert!(contains_term("Buy CHEAP gold now", "cheap"));
        assert!(contains_term("cheap", "cheap"));
        assert!(contains_term("so cheap!", "cheap"));
        assert!(!contains_term("cheapest", "cheap"));
        assert!(!contains_term("a class act", "ass"));
        assert!(contains_term("free gold here", "free gold"));
    }

    #[test]
    fn link_hosts_are_found_in_text_and_markdown() {
        let text = "see [x](https://Spam.example.com/a?b) and http://user@evil.test:8080/ or ftp://nope.test";
        let hosts: Vec<String> = link_hosts(text).collect();
        assert_eq!(hosts, ["spam.example.com", "evil.test"]);
    }

    #[test]
    fn denied_domains_cover_subdomains_but_not_lookalikes() {
        let list = Blocklist { terms: vec![], domains: vec!["example.com".into()] };
        assert!(list.denies("example.com"));
        assert!(list.denies("spam.example.com"));
        assert!(!list.denies("notexample.com"));
        assert!(list.hits("great, see http://spam.example.com"));
        assert!(!list.hits("great ship"));
    }

    #[test]
    fn the_blocklist_names_the_field() {
        let list = Blocklist { terms: vec!["scam".into()], domains: vec!["evil.test".into()] };
        let mut snapshot = Snapshot { slug: "a".into(), title: "A scam".into(), ..Default::default() };
        snapshot.attributes.insert("site".into(), serde_json::json!({ "url": "https://www.evil.test/x" }));
        let fields: Vec<String> = list.check(&snapshot).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "attributes.site"]);
    }

    #[test]
    fn titles_compare_by_words() {
        assert_eq!(title_key("  The  Black-Pearl! "), title_key("the black pearl"));
        assert_ne!(title_key("Black Pearl"), title_key("Black Pearls"));
    }
}
